#include "daemon/admin/admin_client.h"

#include <curl/curl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>

namespace hoard::admin {

namespace {

std::size_t appendBody(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

bool isDir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace

std::expected<AdminHttpResult, std::string> postAdmin(const std::string& baseUrl,
                                                      const std::string& pathAndQuery) {
  std::string url = baseUrl;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.find("://") == std::string::npos) url = "http://" + url;
  url += pathAndQuery;

  CURL* curl = curl_easy_init();
  if (!curl) return std::unexpected("cannot initialise libcurl");
  AdminHttpResult result;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");  // the admin endpoint is local by design
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &appendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) {
    return std::unexpected("POST " + url + ": " +
                           (errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc)));
  }
  return result;
}

std::expected<BlobStorePtr, std::string> openStoreOffline(const std::string& dir,
                                                          const std::string& command) {
  if (!isDir(dir)) return std::unexpected("store " + dir + " does not exist");
  if (!isDir(dir + "/index") || !isDir(dir + "/blobs")) {
    return std::unexpected(dir + " is not a hoard store (no index/ and blobs/)");
  }
  auto store = openDiskBlobStore(dir);
  if (store) return store;
  std::string lower = store.error();
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower.find("lock") != std::string::npos) {
    return std::unexpected("store " + dir +
                           " is in use by a running hoard (its index is locked).\n"
                           "Run it against that hoard instead: hoard " +
                           command + " --url http://127.0.0.1:PORT (the hoard's listen address)");
  }
  return std::unexpected("cannot open store " + dir + ": " + store.error());
}

}  // namespace hoard::admin
