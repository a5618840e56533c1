#pragma once
// Where an immutable file named by a mutable document (an npm tarball in a
// packument, a wheel on a PyPI project page) lives upstream and the digest it
// must match before hoard caches or completes it.
#include <string>

#include "cache/digest.h"

namespace hoard {

struct FileSource {
  std::string url;  // absolute upstream URL
  Digest digest;
};

}  // namespace hoard
