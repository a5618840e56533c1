#pragma once
// What hoard does to an `npm audit` request body before it goes to the public
// upstream: gunzip it (bounded), parse it (bounded nesting), and drop every
// package name that hoard routes to a private upstream, so private scopes
// never leak. Pure functions: they run on the thread pool and in unit tests.
//
// Two bodies exist:
//   bulk  (npm 7+, POST -/npm/v1/security/advisories/bulk):
//         {"<name>": ["<version>", ...], ...}
//   quick (npm 6, and npm 7+ when bulk fails; POST -/npm/v1/security/audits/quick):
//         a lockfile-like tree {name, version, requires: {<name>: <range>},
//         dependencies: {<name>: {version, requires, dependencies, ...}},
//         install: ["<name>@<spec>"], remove: [...], metadata: {...}}
#include <cstddef>
#include <cstdint>
#include <expected>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hoard::npm {

enum class AuditKind : std::uint8_t { Bulk, Quick };

// The audit endpoint `endpoint` (the path after "/npm/-/", no query) names.
std::optional<AuditKind> auditKindOf(std::string_view endpoint);
// The upstream path of an audit endpoint ("/-/npm/v1/security/advisories/bulk").
std::string_view auditUpstreamPath(AuditKind kind);
std::string_view auditKindName(AuditKind kind);  // "bulk", "quick"

using NamePredicate = std::function<bool(std::string_view packageName)>;
// True for "@scope/..." names whose scope is one of `scopes` ("@acme"), case
// ignored (stricter than routing: a name that might be private is dropped).
NamePredicate scopeMatcher(std::vector<std::string> scopes);

// Bulk: removes private top-level keys. Quick: at every level of the tree,
// removes private entries of "requires", "dependencies" (with their subtree),
// "devDependencies", "optionalDependencies", "peerDependencies", "packages"
// ("node_modules/<name>" keys), entries that alias a private package
// ("npm:@acme/x@1"), private "<name>@<spec>" items of "install" and "remove",
// and a private root "name". Anything else passes unchanged. Edits `body` in
// place; returns how many names were removed.
std::size_t stripPrivateNames(nlohmann::json& body, AuditKind kind, const NamePredicate& isPrivate);

struct AuditBodyLimits {
  std::size_t maxInflatedBytes = 32UL * 1024 * 1024;
  std::size_t maxDepth = 256;  // JSON nesting; the filter and dump recurse
};

struct AuditBodyError {
  int status = 400;  // 400 bad body, 413 too large, 415 unknown encoding
  std::string message;
};

struct PreparedAudit {
  std::string json;  // the filtered body, compact JSON
  std::size_t dropped = 0;
};

// The request body as npm sent it (`contentEncoding`: "", "identity", "gzip",
// "x-gzip" or "deflate") -> the filtered JSON to forward.
std::expected<PreparedAudit, AuditBodyError> prepareAuditBody(std::string_view body,
                                                              std::string_view contentEncoding,
                                                              AuditKind kind,
                                                              const NamePredicate& isPrivate,
                                                              const AuditBodyLimits& limits = {});

}  // namespace hoard::npm
