#pragma once
// PyPI project names, distribution file names and request paths under the
// /pypi/ mount, validated before anything reaches a file path, a cache key or
// an upstream URL.
//   simple/                     project list (root)
//   simple/<project>/           project page (any spelling; caller redirects
//                               to the normalized one)
//   files/<project>/<filename>  a distribution file, or its PEP 658
//                               "<filename>.metadata"
#include <optional>
#include <string>
#include <string_view>

#include "daemon/http/percent.h"

namespace hoard::pypi {

// PEP 503: lowercase, every run of '-', '_' and '.' becomes one '-'.
std::string normalizeProject(std::string_view name);

// PEP 508 names: ASCII letters and digits, '-', '_' and '.' only inside;
// at most 200 characters.
bool isValidProjectName(std::string_view name);

// A name a distribution file can plausibly have (wheel, sdist, egg): only
// [A-Za-z0-9._+!-], no leading '.', at most 255 characters, a known archive
// suffix. `<file>.metadata` is NOT accepted here (see isValidFileRequest).
bool isValidDistributionFileName(std::string_view file);

// A distribution file name or the name of its core metadata (PEP 658):
// "<distribution file name>.metadata".
bool isValidFileRequest(std::string_view file);

// Path segments are decoded exactly once, by the engine's one decoder.
using http::percentDecode;
using http::percentEncodeSegment;

struct PypiPath {
  enum class Kind { Root, Project, File } kind = Kind::Root;
  std::string project;  // as the client spelled it, decoded (not normalized)
  std::string file;     // Kind::File: decoded file name
  // Root/Project: whether the path ended in '/'. PEP 503 pages must be
  // served at the slash URL (their links are relative), so the caller
  // redirects when this is false.
  bool trailingSlash = true;
};

// `rest` is the path after "/pypi/" with the query string removed, not yet
// percent-decoded. Each segment is decoded exactly once; a decoded segment
// may not contain '/', '\\', NUL or control characters, and may not be '.'
// or '..'.
std::optional<PypiPath> parsePypiPath(std::string_view rest);

}  // namespace hoard::pypi
