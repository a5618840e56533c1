#pragma once
// Serving one immutable, digest-addressed object -- an OCI blob, an npm
// tarball, a wheel, a module zip -- from the store or through a streaming
// fill. Front ends differ only in headers, error format and how the upstream
// is asked; they supply those through a BlobOrigin, and everything else (hit
// via sendfile, ranges, coalescing, read-while-write, verification before the
// response may complete) is this one piece of code.
//
// Hit: the committed file is sent zero-copy (sendfile), ranges included.
// Miss: one Fill per digest streams the upstream body into a temp file; this
// request and every concurrent one for the same digest read it as it grows
// (coalesced: one upstream GET however many clients).
//
// Store full (ENOSPC): the fill goes pass-through (see cache/fill.h); this
// request sends the bytes already on disk as file ranges and later ones as
// memory copies, keeping at most kPassThroughQueue bytes queued so the fill's
// memory window can move on. A slow client then slows that one fill.
//
// Must survive: the client leaving at any point (the fill carries on and the
// next request hits); the fill failing before its head (the origin's error is
// sent) or after (the response is cut off, never completed with bad bytes);
// Range on an object that is still filling (206 from the fill as bytes
// arrive); upstreams without Content-Length (chunked to the client); the
// store filling up mid-response.
#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cache/access_tracker.h"
#include "cache/async_store.h"
#include "cache/fill.h"
#include "daemon/http/exchange.h"
#include "daemon/metrics.h"
#include "upstream/http_client.h"

namespace hoard {

struct BlobServices {
  uv_loop_t* loop = nullptr;
  AsyncStore* store = nullptr;
  AccessTracker* access = nullptr;
  FillRegistry* fills = nullptr;
  Metrics* metrics = nullptr;
  ClockPtr clock;
};

// Reports an upstream call's outcome to the front end's health tracking. It
// may outlive the request (fills continue when clients leave), so it must
// capture only long-lived objects.
using OutcomeRecorder = std::function<void(long status, FetchError error, std::string_view)>;

class BlobOrigin {
 public:
  virtual ~BlobOrigin() = default;
  // Headers of a successful answer (type, digest, ETag ...), without framing.
  virtual http::Headers headers() const = 0;
  // An error the front end formats its own way (416 ...); `extra` headers
  // (Content-Range on a 416) must be included.
  virtual void respondError(http::Exchange& ex, int status, std::string_view message,
                            http::Headers extra) = 0;
  // The fill failed before any byte was sent: upstream status (0 = none) and message.
  virtual void respondFillFailure(http::Exchange& ex, int upstreamStatus,
                                  std::string_view message) = 0;
  // May the upstream be called? If not, the origin has answered the client.
  virtual bool admit(http::Exchange& ex) = 0;
  // Starts the upstream GET with these callbacks.
  virtual HttpClient::Handle fetch(HttpCallbacks callbacks) = 0;
  virtual OutcomeRecorder outcomeRecorder() const = 0;
  // Small objects whose clients report a cut-off body badly (npm says
  // "ECONNRESET ... bad network settings" for a tarball that failed
  // verification) can be held until verified: the head is sent only then, and
  // a mismatch becomes a clear error response instead of a cut connection.
  // `size` is the object's size when the upstream announced it.
  virtual bool holdUntilVerified(std::optional<std::uint64_t> /*size*/) const { return false; }
  // Media type recorded for the stored object.
  virtual std::string mediaType() const { return "application/octet-stream"; }
  // Requested under a pinned name (store.pin): a hit pins the blob, a fill
  // commits it pinned, so eviction never takes it.
  virtual bool pinned() const { return false; }
};
using BlobOriginPtr = std::unique_ptr<BlobOrigin>;

// Starts serving `digest` on `ex` (the exchange owns the request).
void serveBlob(const BlobServices& services, http::Exchange& ex, const Digest& digest,
               BlobOriginPtr origin);
// The same, for a request context that first had to find out which digest to
// serve (an npm tarball): the caller owns the returned context and keeps it
// for the exchange's life.
http::RequestContextPtr startBlob(const BlobServices& services, http::Exchange& ex,
                                  const Digest& digest, BlobOriginPtr origin);

// Content not addressed by a digest known before it is fetched (a Go module
// zip): the caller found no ref for it, so it is fetched through one fill per
// `fillKey`, judged by options.check and committed under its computed digest
// (options.afterCommit records where). The caller owns the returned context.
http::RequestContextPtr startUnaddressedBlob(const BlobServices& services, http::Exchange& ex,
                                             std::string fillKey, Fill::Options options,
                                             BlobOriginPtr origin);

}  // namespace hoard
