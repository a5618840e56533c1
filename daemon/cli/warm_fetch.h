#pragma once
// The HTTP side of `hoard warm`: one blocking libcurl easy handle per worker
// thread (connections are reused between requests), bodies streamed through
// the requested hashes and discarded, or kept up to a limit for documents.
// Never runs on the daemon's loop: warm is a separate process.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hoard::cli {

struct FetchRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::size_t keepLimit = 0;         // body bytes kept (0 = discard, only hash and count)
  bool sha1 = false, sha256 = false, sha512 = false;
};

struct FetchResponse {
  long status = 0;
  std::string error;                           // transport failure ("" if the exchange completed)
  std::map<std::string, std::string> headers;  // lower-case names, last response only
  std::string body;                            // up to keepLimit (or an error body's start)
  bool truncated = false;                      // the body exceeded keepLimit
  std::uint64_t bytes = 0;                     // body bytes received
  std::string sha1, sha256, sha512;            // raw digests of the whole body, when asked

  bool ok() const { return error.empty() && status >= 200 && status < 300; }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  // "HTTP 404: <first line of the error body>" or the transport error.
  std::string describeFailure() const;
};

class Fetcher {
 public:
  // `onBytes` is told about body bytes as they arrive (progress display).
  explicit Fetcher(std::function<void(std::uint64_t)> onBytes);
  ~Fetcher();
  Fetcher(const Fetcher&) = delete;
  Fetcher& operator=(const Fetcher&) = delete;

  FetchResponse get(const FetchRequest& request);

 private:
  void* curl_;
  std::function<void(std::uint64_t)> onBytes_;
};

std::string hexEncode(std::string_view raw);
std::string base64Encode(std::string_view raw);

}  // namespace hoard::cli
