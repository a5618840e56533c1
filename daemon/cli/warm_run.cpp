#include "daemon/cli/warm_run.h"

#include <cstdio>
#include <thread>

namespace hoard::cli {

std::string humanBytes(std::uint64_t n) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int unit = 0;
  while (v >= 1024 && unit < 4) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, unit == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[unit]);
  return buf;
}

void TargetReport::resolved(std::string text) {
  std::lock_guard lock(mu_);
  resolved_ = std::move(text);
}

void TargetReport::object(std::uint64_t bytes) {
  std::lock_guard lock(mu_);
  ++objects_;
  bytes_ += bytes;
}

void TargetReport::fail(std::string what) {
  std::lock_guard lock(mu_);
  failures_.push_back(std::move(what));
}

bool TargetReport::failed() const {
  std::lock_guard lock(mu_);
  return !failures_.empty();
}

std::vector<std::string> TargetReport::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

std::string TargetReport::summaryLine() const {
  std::lock_guard lock(mu_);
  std::string out = failures_.empty() ? "ok      " : "FAILED  ";
  out += label_;
  if (!resolved_.empty()) out += " -> " + resolved_;
  out += ": " + std::to_string(objects_) + (objects_ == 1 ? " object, " : " objects, ") +
         humanBytes(bytes_);
  if (!failures_.empty()) out += ", " + std::to_string(failures_.size()) + " failed";
  return out;
}

void Progress::finished(bool ok) {
  ++done_;
  if (!ok) ++failed_;
  draw(false);
}

void Progress::bytes(std::uint64_t n) {
  bytes_ += n;
  draw(false);
}

void Progress::current(const std::string& what) {
  if (!terminal_) return;
  {
    std::lock_guard lock(mu_);
    current_ = what;
  }
  draw(false);
}

void Progress::draw(bool force) {
  if (!terminal_) return;
  std::unique_lock lock(mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // someone else is drawing right now
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  std::string line = "warm: " + std::to_string(done_.load()) + "/" +
                     std::to_string(queued_.load()) + " objects, " + humanBytes(bytes_.load());
  if (auto f = failed_.load()) line += ", " + std::to_string(f) + " failed";
  if (!current_.empty()) line += "  " + current_;
  if (line.size() > 110) line = line.substr(0, 107) + "...";
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void Progress::clear() {
  if (!terminal_) return;
  std::lock_guard lock(mu_);
  if (drawn_) std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
}

void WarmRun::post(Task task) {
  progress_.queued();
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

bool WarmRun::claim(const std::string& key) {
  std::lock_guard lock(mu_);
  return claimed_.insert(key).second;
}

void WarmRun::worker() {
  Fetcher fetcher([this](std::uint64_t n) { progress_.bytes(n); });
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return !queue_.empty() || active_ == 0; });
    if (queue_.empty()) {
      cv_.notify_all();  // nothing queued and nobody working: everyone is done
      return;
    }
    auto task = std::move(queue_.front());
    queue_.pop_front();
    ++active_;
    lock.unlock();
    task(fetcher);
    lock.lock();
    --active_;
    cv_.notify_all();
  }
}

void WarmRun::run(unsigned jobs) {
  if (jobs == 0) jobs = 1;
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < jobs; ++i) threads.emplace_back([this] { worker(); });
  for (auto& t : threads) t.join();
}

std::optional<FetchResponse> WarmRun::download(Fetcher& f, TargetReport& target,
                                               const std::string& label, FetchRequest request,
                                               const Expect& expect) {
  progress_.current(label);
  request.keepLimit = 0;
  request.sha256 = !expect.sha256Hex.empty();
  request.sha512 = !expect.sha512Base64.empty();
  request.sha1 = !expect.sha1Hex.empty();
  auto r = f.get(request);
  std::string problem;
  if (!r.ok()) {
    problem = r.describeFailure();
  } else if (expect.size && r.bytes != *expect.size) {
    problem = "got " + std::to_string(r.bytes) + " bytes, expected " + std::to_string(*expect.size);
  } else if (request.sha256 && hexEncode(r.sha256) != expect.sha256Hex) {
    problem = "sha256 mismatch: got " + hexEncode(r.sha256);
  } else if (request.sha512 && base64Encode(r.sha512) != expect.sha512Base64) {
    problem = "sha512 integrity mismatch";
  } else if (request.sha1 && hexEncode(r.sha1) != expect.sha1Hex) {
    problem = "sha1 shasum mismatch";
  }
  progress_.finished(problem.empty());
  if (!problem.empty()) {
    target.fail(label + ": " + problem);
    return std::nullopt;
  }
  target.object(r.bytes);
  return r;
}

std::optional<FetchResponse> WarmRun::document(Fetcher& f, TargetReport& target,
                                               const std::string& label, FetchRequest request,
                                               std::size_t limit) {
  progress_.current(label);
  request.keepLimit = limit;
  auto r = f.get(request);
  std::string problem;
  if (!r.ok()) {
    problem = r.describeFailure();
  } else if (r.truncated) {
    problem = "larger than " + humanBytes(limit);
  }
  progress_.finished(problem.empty());
  if (!problem.empty()) {
    target.fail(label + ": " + problem);
    return std::nullopt;
  }
  target.object(r.bytes);
  return r;
}

}  // namespace hoard::cli
