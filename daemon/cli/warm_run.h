#pragma once
// The engine of `hoard warm`: a queue of download tasks worked by N threads
// (--jobs), each with its own Fetcher; tasks discover more tasks (an index
// its manifests, a manifest its blobs) and post them. Every object is
// downloaded at most once per run (claim()). Per-target results and a
// progress display (one updating line on a terminal) are kept here.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/cli/warm_fetch.h"

namespace hoard::cli {

// What one command-line target (or requirements line) came to.
class TargetReport {
 public:
  explicit TargetReport(std::string label) : label_(std::move(label)) {}
  const std::string& label() const { return label_; }

  void resolved(std::string text);  // "-> 4.17.21", "2 platforms"
  void object(std::uint64_t bytes);
  void fail(std::string what);

  std::string summaryLine() const;
  std::vector<std::string> failures() const;
  bool failed() const;

 private:
  std::string label_;
  mutable std::mutex mu_;
  std::string resolved_;
  std::uint64_t objects_ = 0, bytes_ = 0;
  std::vector<std::string> failures_;
};
using TargetPtr = std::shared_ptr<TargetReport>;

class Progress {
 public:
  explicit Progress(bool terminal) : terminal_(terminal) {}
  void queued() { ++queued_; }
  void finished(bool ok);
  void bytes(std::uint64_t n);
  void current(const std::string& what);
  void clear();  // erase the line before the summary

 private:
  void draw(bool force);
  bool terminal_;
  std::atomic<std::uint64_t> queued_{0}, done_{0}, failed_{0}, bytes_{0};
  std::mutex mu_;
  std::string current_;
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

// What a download must be: each check that is set is enforced.
struct Expect {
  std::optional<std::uint64_t> size;
  std::string sha256Hex;     // "abc..." (OCI digests, PyPI hashes)
  std::string sha512Base64;  // npm SRI sha512
  std::string sha1Hex;       // npm shasum (old packuments)
};

class WarmRun {
 public:
  using Task = std::function<void(Fetcher&)>;
  WarmRun(std::string baseUrl, Progress& progress)
      : base_(std::move(baseUrl)), progress_(progress) {}

  // hoard's URL without a trailing '/': "http://127.0.0.1:5050".
  const std::string& base() const { return base_; }
  Progress& progress() { return progress_; }

  void post(Task task);
  // Runs until every posted task (including ones posted meanwhile) is done.
  void run(unsigned jobs);
  // True for the first caller with `key` this run.
  bool claim(const std::string& key);

  // GET `request.url`; the body is streamed and discarded, checked against
  // `expect` (and against the response's own Content-Length by curl). On
  // success counts an object for `target`; on failure records "label: why".
  // Returns the response for callers that read headers.
  std::optional<FetchResponse> download(Fetcher& f, TargetReport& target, const std::string& label,
                                        FetchRequest request, const Expect& expect);
  // GET a document kept in memory (manifest, packument, page) up to `limit`.
  std::optional<FetchResponse> document(Fetcher& f, TargetReport& target, const std::string& label,
                                        FetchRequest request, std::size_t limit);

 private:
  void worker();

  std::string base_;
  Progress& progress_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  unsigned active_ = 0;
  std::set<std::string> claimed_;
};

std::string humanBytes(std::uint64_t n);

}  // namespace hoard::cli
