// GET|HEAD of the small GOPROXY documents (list, @latest, .info, .mod) and
// of the checksum-database routes (lookup, tiles, latest).
//
// The shared document flow (daemon/document/document_request.h), with Go's
// choices: the upstream's bytes served as they are, text/plain errors, 404
// and 410 passed through exactly (after a "," in GOPROXY the go command falls
// back only on those) and remembered briefly; what a checksum database or a
// canonical version names never changes, so those are kept for good. A .mod
// of a public module is checked against the checksum database's go.mod h1:
// before it is stored.
#include "cache/go_dirhash.h"
#include "daemon/document/document_request.h"
#include "daemon/go/service.h"

namespace hoard::go {

namespace {

bool immutable(const GoPath& p) {
  switch (p.kind) {
    case GoPath::Kind::Info:
      return p.canonicalVersion;
    case GoPath::Kind::Mod:
    case GoPath::Kind::SumdbLookup:
      return true;
    case GoPath::Kind::SumdbTile:
      return !p.partialTile;
    default:
      return false;
  }
}

std::string contentType(const GoPath& p) {
  switch (p.kind) {
    case GoPath::Kind::Info:
    case GoPath::Kind::Latest:
      return "application/json";
    case GoPath::Kind::SumdbTile:
      return "application/octet-stream";
    default:
      return "text/plain; charset=utf-8";
  }
}

std::string fileOf(const GoPath& p) {
  switch (p.kind) {
    case GoPath::Kind::List:
      return "/@v/list";
    case GoPath::Kind::Latest:
      return "/@latest";
    case GoPath::Kind::Info:
      return "/@v/" + p.version + ".info";
    case GoPath::Kind::Mod:
      return "/@v/" + p.version + ".mod";
    default:
      return "";
  }
}

bool isSumdb(const GoPath& p) {
  return p.kind == GoPath::Kind::SumdbLookup || p.kind == GoPath::Kind::SumdbLatest ||
         p.kind == GoPath::Kind::SumdbTile;
}

class GoDocumentRequest final : public DocumentRequest {
 public:
  GoDocumentRequest(GoService& svc, http::Exchange& ex, GoPath path, FrontUpstream& upstream,
                    bool isPrivate)
      : DocumentRequest(svc.documents(), ex, upstream),
        svc_(svc),
        path_(std::move(path)),
        isPrivate_(isPrivate) {}

  void start() {
    const std::string key =
        isSumdb(path_) ? "gosumdb/" + path_.sumdbHost + "/" + path_.sumdbRest
                       : "go/" + upstream_.config.name + "/" + path_.module + fileOf(path_);
    if (const auto* neg = svc_.negative(key)) {
      ex_.setLogField("cache", "negative");
      respondGoError(ex_, neg->status, neg->body);
      return;
    }
    if (!isSumdb(path_)) setPolicy(svc_.requestPolicy(path_), svc_.access());
    begin({key, key});
  }

 private:
  DocumentSource source() override {
    const bool sumdb = isSumdb(path_);
    DocumentSource src = upstreamDocument(
        upstream_,
        sumdb ? upstream_.config.sumdbUrl + "/" + path_.sumdbRest
              : upstream_.config.url + "/" + path_.module + fileOf(path_),
        sumdb ? "sumdb" : "go-" + fileOf(path_).substr(fileOf(path_).rfind('.') + 1),
        svc_.outcomeRecorder(upstream_), /*withCredentials=*/!sumdb);
    if (immutable(path_)) src.ttlMs = kImmutableTtlMs;
    src.maxBytes = 16 * 1024 * 1024;
    src.render = [type = contentType(path_), expected = expectedModH1_, unknown = notInSumdb_,
                  module = path_.modulePath](
                     std::string_view raw) -> std::expected<RenderedDocument, std::string> {
      if (!unknown.empty()) return std::unexpected(unknown);
      if (!expected.empty()) {
        auto got = goModH1(raw);
        if (got != expected) {
          return std::unexpected("go.mod of " + module + " is " + got +
                                 " but the checksum database says " + expected +
                                 "; it was not cached");
        }
      }
      RenderedDocument out;
      out.variants.push_back({"body", type, std::string(raw)});
      return out;
    };
    return src;
  }

  void prepareFetch(const std::function<void()>& proceed) override {
    // A public module's go.mod is checked against the checksum database.
    if (path_.kind != GoPath::Kind::Mod || isPrivate_ || upstream_.config.sumdbName.empty()) {
      proceed();
      return;
    }
    record_ =
        svc_.checksumRecord(upstream_, path_, [this, proceed](const GoService::RecordResult& r) {
          if (!r && (r.error().first == 404 || r.error().first == 410)) {
            // Ask the proxy anyway: if it has no such module either, its
            // 404/410 goes to the client as it is (the go command falls back
            // only on those); if it has one, it cannot be verified and is
            // refused, never cached.
            notInSumdb_ = path_.modulePath + "@" + path_.version + " is " + r.error().second +
                          "; hoard does not cache a module it cannot verify";
            proceed();
            return;
          }
          if (!r) {
            respondGoError(ex_, r.error().first, r.error().second);
            return;
          }
          expectedModH1_ = r->gomodH1;
          proceed();
        });
  }

  std::string subject() const override {
    return isSumdb(path_) ? path_.sumdbHost + "/" + path_.sumdbRest
                          : path_.modulePath + fileOf(path_);
  }
  void respondError(int status, std::string_view message, http::Headers extra) override {
    respondGoError(ex_, status, message, std::move(extra));
  }
  void respondNotFound(long upstreamStatus) override {
    const int status = upstreamStatus == 410 ? 410 : 404;
    std::string body = (status == 410 ? "gone: " : "not found: ") + subject();
    svc_.rememberNegative(keys_.ref, status, body);
    respondGoError(ex_, status, body);
  }
  void respondRejected(const std::string& why) override {
    svc_.metrics().add("hoard_digest_mismatch_total");
    respondGoError(ex_, 502, "checksum mismatch: " + why);
  }
  void serve(const DocumentEntryPtr& entry, const char* result) override {
    sendVariant(entry, "body", {{"Content-Type", contentType(path_)}}, result);
  }

  GoService& svc_;
  GoPath path_;
  bool isPrivate_;
  std::string expectedModH1_;
  std::string notInSumdb_;  // why a fetched go.mod could not be verified
  CancelHandle record_;
};

}  // namespace

void handleDocument(GoService& svc, http::Exchange& ex, const GoPath& path, FrontUpstream& upstream,
                    bool isPrivate) {
  http::startContext<GoDocumentRequest>(ex, svc, ex, path, upstream, isPrivate);
}

}  // namespace hoard::go
