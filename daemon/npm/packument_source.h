#pragma once
// How an npm packument is keyed, fetched and rendered for the shared
// document engine (daemon/document/): one rendering per (upstream, package,
// mount URL), since dist.tarball URLs are absolute; the package key alone
// holds the tarball table whatever URL hoard was reached by.
#include <string>

#include "daemon/document/document_cache.h"
#include "daemon/front_upstream.h"

namespace hoard::npm {

// Variant names in the stored entry.
inline constexpr const char* kFull = "full";
inline constexpr const char* kFullGzip = "full-gzip";
inline constexpr const char* kCorgi = "corgi";
inline constexpr const char* kCorgiGzip = "corgi-gzip";

DocumentKeys packumentKeys(const FrontUpstream& upstream, const std::string& name,
                           const std::string& mountUrl);
RenderFn packumentRenderer(std::string name, std::string mountUrl);
DocumentSource packumentSource(const FrontUpstream& upstream, const std::string& name,
                               const std::string& mountUrl, OutcomeRecorder recordOutcome);

}  // namespace hoard::npm
