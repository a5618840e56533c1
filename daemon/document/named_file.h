#pragma once
// An immutable file that a mutable document names (an npm tarball in its
// packument, a wheel or sdist on its PyPI project page): the document says
// where the file is and which digest it must have; the bytes then go through
// the shared blob path (daemon/blob_response.h): stored once by digest,
// fetched once however many clients ask, verified before any response may
// complete, never cached on a mismatch.
//
// Must survive: the file missing from a cached document (published since:
// the document is fetched once more, then 404); the upstream down with a
// stale document (the stale table is used, the blob may be cached); a
// document pointing outside the upstream's configured origins (refused with
// 502, never fetched: hoard is not an open proxy).
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "daemon/blob_response.h"
#include "daemon/document/document_cache.h"
#include "daemon/front_upstream.h"
#include "daemon/http/exchange.h"
#include "daemon/policy/gate.h"

namespace hoard {

using ErrorResponder =
    std::function<void(http::Exchange&, int status, std::string_view message, http::Headers)>;

// How a front end words and frames its file responses.
struct NamedFileStyle {
  ErrorResponder respondError;
  std::string fileNoun = "file";          // "tarball"
  std::string documentNoun = "document";  // "packument", "project page"
  std::string contentType = "application/octet-stream";
  // Files up to this size are held until verified, so a mismatch is a clear
  // error response rather than a cut connection; larger ones stream (their
  // last byte still waits for verification).
  std::uint64_t holdBelowBytes = 0;
};

struct NamedFileServices {
  BlobServices blobs;
  HttpClient* http = nullptr;
  DocumentCache* documents = nullptr;
  OutcomeRecorder recordOutcome;
  // The file's subject (no digest: that comes from the document). Denied
  // once the digest is known (sha256:/sha512: entries); not on the
  // allow-list: neither the document nor the file is fetched; pinned: the
  // file is kept by eviction.
  policy::RequestPolicy policy;
};

class NamedFileRequest final : public http::RequestContext {
 public:
  NamedFileRequest(NamedFileServices services, http::Exchange& ex, FrontUpstream& upstream,
                   NamedFileStyle style, DocumentKeys keys, std::string file,
                   std::function<DocumentSource()> source, std::string subject)
      : svc_(std::move(services)),
        ex_(ex),
        upstream_(upstream),
        style_(std::move(style)),
        keys_(std::move(keys)),
        file_(std::move(file)),
        source_(std::move(source)),
        subject_(std::move(subject)) {}

  void start();

 private:
  void onEntry(const DocumentEntryPtr& entry, bool fresh);
  void fetchDocument(const DocumentEntryPtr& known);

  NamedFileServices svc_;
  http::Exchange& ex_;
  FrontUpstream& upstream_;
  NamedFileStyle style_;
  DocumentKeys keys_;
  std::string file_;
  std::function<DocumentSource()> source_;
  std::string subject_;
  CancelHandle pending_;
  http::RequestContextPtr blob_;  // the blob response, once the digest is known
};

}  // namespace hoard
