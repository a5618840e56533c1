#include "daemon/oci/errors.h"

#include <nlohmann/json.hpp>

namespace hoard::oci {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::BlobUnknown:
      return "BLOB_UNKNOWN";
    case ErrorCode::DigestInvalid:
      return "DIGEST_INVALID";
    case ErrorCode::ManifestBlobUnknown:
      return "MANIFEST_BLOB_UNKNOWN";
    case ErrorCode::ManifestInvalid:
      return "MANIFEST_INVALID";
    case ErrorCode::ManifestUnknown:
      return "MANIFEST_UNKNOWN";
    case ErrorCode::NameInvalid:
      return "NAME_INVALID";
    case ErrorCode::NameUnknown:
      return "NAME_UNKNOWN";
    case ErrorCode::SizeInvalid:
      return "SIZE_INVALID";
    case ErrorCode::Unauthorized:
      return "UNAUTHORIZED";
    case ErrorCode::Denied:
      return "DENIED";
    case ErrorCode::Unsupported:
      return "UNSUPPORTED";
    case ErrorCode::TooManyRequests:
      return "TOOMANYREQUESTS";
    case ErrorCode::Unavailable:
      return "UNAVAILABLE";
  }
  return "UNKNOWN";
}

std::string errorBody(ErrorCode code, std::string_view message) {
  nlohmann::json j;
  j["errors"] =
      nlohmann::json::array({{{"code", errorCodeName(code)}, {"message", std::string(message)}}});
  return j.dump() + "\n";
}

std::string errorBodyForStatus(int status, std::string_view message) {
  switch (status) {
    case 401:
      return errorBody(ErrorCode::Unauthorized, message);
    case 403:
      return errorBody(ErrorCode::Denied, message);
    case 404:
      return errorBody(ErrorCode::NameUnknown, message);
    case 405:
      return errorBody(ErrorCode::Unsupported, message);
    case 429:
      return errorBody(ErrorCode::TooManyRequests, message);
    case 502:
    case 503:
    case 504:
      return errorBody(ErrorCode::Unavailable, message);
    default:
      break;
  }
  // 400, 408, 413, 414, 431 ...: malformed requests. The spec has no generic
  // code; UNSUPPORTED is the closest that every client knows.
  return errorBody(ErrorCode::Unsupported, message);
}

}  // namespace hoard::oci
