#pragma once
// OCI distribution error bodies: {"errors":[{"code":"...","message":"..."}]}.
// Every error hoard's OCI front end returns is JSON in this shape: Docker hands
// non-JSON bodies to its manifest parser, and containerd logs the code.
#include <string>
#include <string_view>

namespace hoard::oci {

enum class ErrorCode {
  BlobUnknown,
  DigestInvalid,
  ManifestBlobUnknown,
  ManifestInvalid,
  ManifestUnknown,
  NameInvalid,
  NameUnknown,
  SizeInvalid,
  Unauthorized,
  Denied,
  Unsupported,
  TooManyRequests,
  Unavailable,  // distribution's code for 503
};

std::string_view errorCodeName(ErrorCode code);
std::string errorBody(ErrorCode code, std::string_view message);
// The OCI code that best describes a server-generated HTTP error (400, 404, 431, ...).
std::string errorBodyForStatus(int status, std::string_view message);

}  // namespace hoard::oci
