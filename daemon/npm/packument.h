#pragma once
// Turning an upstream packument into what hoard stores and serves, once per
// fill (never per request): the full document with every dist.tarball
// pointing at hoard, the abbreviated ("corgi") document derived from that
// same full document (so the two never disagree), gzip copies of both, and
// the table that maps each tarball file name to its upstream URL and the
// digest it must match.
//
// Runs on the thread pool: popular packuments are tens of MB of JSON.
#include <expected>
#include <map>
#include <string>
#include <string_view>

#include "cache/digest.h"
#include "daemon/document/file_source.h"

namespace hoard::npm {

struct RewrittenPackument {
  std::string full, fullGzip, corgi, corgiGzip;
  // file name -> upstream URL and digest (dist.integrity sha512, else dist.shasum sha1)
  std::map<std::string, FileSource> tarballs;
};

// `packageName` as the client names it ("left-pad", "@acme/widget");
// `tarballBase` is hoard's URL for the npm mount ("http://hoard:5050/npm").
std::expected<RewrittenPackument, std::string> rewritePackument(std::string_view upstreamJson,
                                                                std::string_view packageName,
                                                                std::string_view tarballBase);

// npm's Subresource Integrity string ("sha512-<base64> sha1-...") -> the
// strongest digest hoard can verify, or nullopt.
std::optional<Digest> digestFromIntegrity(std::string_view integrity);

std::string gzipCompress(std::string_view data);

}  // namespace hoard::npm
