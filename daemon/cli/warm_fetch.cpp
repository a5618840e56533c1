#include "daemon/cli/warm_fetch.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <cctype>
#include <memory>

namespace hoard::cli {

namespace {

constexpr std::size_t kErrorBodyLimit = 2048;

struct MdDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdPtr = std::unique_ptr<EVP_MD_CTX, MdDeleter>;

MdPtr newMd(const EVP_MD* md) {
  MdPtr ctx(EVP_MD_CTX_new());
  if (ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) ctx.reset();
  return ctx;
}

std::string finalMd(const MdPtr& ctx) {
  if (!ctx) return {};
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), out, &len) != 1) return {};
  return std::string(reinterpret_cast<const char*>(out), len);
}

struct Transfer {
  const FetchRequest* request = nullptr;
  FetchResponse* response = nullptr;
  const std::function<void(std::uint64_t)>* onBytes = nullptr;
  MdPtr sha1, sha256, sha512;
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t onHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {
    t->response->headers.clear();  // a new response (redirect, 100-continue)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  auto value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  t->response->headers[lower(line.substr(0, colon))] = std::string(value);
  return size * n;
}

std::size_t onBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = size * n;
  auto& r = *t->response;
  r.bytes += len;
  if (t->sha1) EVP_DigestUpdate(t->sha1.get(), data, len);
  if (t->sha256) EVP_DigestUpdate(t->sha256.get(), data, len);
  if (t->sha512) EVP_DigestUpdate(t->sha512.get(), data, len);
  std::size_t limit = t->request->keepLimit;
  if (limit == 0) limit = kErrorBodyLimit;  // kept only if it turns out to be an error
  if (r.body.size() < limit) {
    auto room = limit - r.body.size();
    r.body.append(data, len < room ? len : room);
    if (len > room) r.truncated = true;
  } else if (len > 0) {
    r.truncated = true;
  }
  if (*t->onBytes) (*t->onBytes)(len);
  return len;
}

}  // namespace

std::string FetchResponse::describeFailure() const {
  if (!error.empty()) return error;
  std::string out = "HTTP " + std::to_string(status);
  std::string_view b(body);
  if (auto nl = b.find('\n'); nl != std::string_view::npos) b = b.substr(0, nl);
  if (b.size() > 300) b = b.substr(0, 300);
  if (!b.empty()) out += ": " + std::string(b);
  return out;
}

Fetcher::Fetcher(std::function<void(std::uint64_t)> onBytes)
    : curl_(curl_easy_init()), onBytes_(std::move(onBytes)) {}

Fetcher::~Fetcher() {
  if (curl_) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

FetchResponse Fetcher::get(const FetchRequest& request) {
  FetchResponse response;
  auto* curl = static_cast<CURL*>(curl_);
  if (!curl) {
    response.error = "libcurl initialization failed";
    return response;
  }
  Transfer t;
  t.request = &request;
  t.response = &response;
  t.onBytes = &onBytes_;
  if (request.sha1) t.sha1 = newMd(EVP_sha1());
  if (request.sha256) t.sha256 = newMd(EVP_sha256());
  if (request.sha512) t.sha512 = newMd(EVP_sha512());

  curl_easy_reset(curl);
  curl_slist* headers = nullptr;
  for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  headers = curl_slist_append(headers, "User-Agent: hoard-warm/" HOARD_VERSION);
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
  // A stalled transfer fails; a slow one does not (a big layer may take long).
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 120L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  // hoard may be configured behind no proxy at all: never use the environment's.
  curl_easy_setopt(curl, CURLOPT_PROXY, "");
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  if (rc != CURLE_OK) {
    response.error = std::string(errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return response;
  }
  response.sha1 = finalMd(t.sha1);
  response.sha256 = finalMd(t.sha256);
  response.sha512 = finalMd(t.sha512);
  // A body cut short of its Content-Length is a transport error for curl
  // (CURLE_PARTIAL_FILE), so reaching here means the body is complete.
  return response;
}

std::string hexEncode(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string base64Encode(std::string_view raw) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(raw[k]); };
  for (; i + 2 < raw.size(); i += 3) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == raw.size()) {
    unsigned v = byte(i) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == raw.size()) {
    unsigned v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace hoard::cli
