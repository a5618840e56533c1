#pragma once
// Parsing of OCI distribution request paths and the grammar of names, tags and
// digests. Everything a client sends is validated here, before it can reach a
// file path or an upstream URL: a request that passes parseOciPath() contains
// only characters the spec allows, so no "..", no "%", no "/" in a tag.
#include <optional>
#include <string>
#include <string_view>

#include "cache/digest.h"

namespace hoard::oci {

enum class Endpoint { Base, Manifest, Blob, TagsList, Referrers };

struct OciPath {
  Endpoint endpoint = Endpoint::Base;
  std::string name;       // repository name as the client sent it (may include a routing prefix)
  std::string reference;  // tag or digest text (Manifest), digest (Blob, Referrers)
  std::optional<Digest> digest;  // set when reference is a digest
};

enum class PathError {
  NotFound,       // not an OCI endpoint at all -> 404
  NameInvalid,    // 400 NAME_INVALID
  TagInvalid,     // 400 MANIFEST_INVALID (reference is neither a tag nor a digest)
  DigestInvalid,  // 400 DIGEST_INVALID
};

// `path` is the raw request path (not percent-decoded; a '%' anywhere is
// rejected because no valid name, tag or digest contains one).
std::optional<OciPath> parseOciPath(std::string_view path, PathError& error);

bool isValidName(std::string_view name);
bool isValidTag(std::string_view tag);

}  // namespace hoard::oci
