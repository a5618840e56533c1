#include "daemon/go/service.h"

namespace hoard::go {

void respondGoError(http::Exchange& ex, int status, std::string_view message, http::Headers extra) {
  extra.push_back({"Content-Type", "text/plain; charset=utf-8"});
  ex.respond(status, std::move(extra), std::string(message) + "\n");
}

GoService::GoService(Deps deps, const std::vector<conf::UpstreamConfig>& upstreams,
                     bool globalOffline)
    : deps_(std::move(deps)),
      documents_({deps_.loop, deps_.store, deps_.http, deps_.clock, deps_.metrics}) {
  for (const auto& u : upstreams) {
    if (u.kind != conf::UpstreamKind::Go) continue;
    auto up = makeFrontUpstream(u, deps_.clock, globalOffline);
    if (u.isDefault) default_ = up.get();
    upstreams_.push_back(std::move(up));
  }
}

policy::RequestPolicy GoService::requestPolicy(const GoPath& path) const {
  policy::RequestPolicy p;
  p.policy = deps_.policy;
  p.subject.ecosystem = policy::Ecosystem::Go;
  p.subject.name = path.modulePath;
  if (path.kind == GoPath::Kind::Info || path.kind == GoPath::Kind::Mod ||
      path.kind == GoPath::Kind::Zip) {
    auto v = unescapeCase(path.version);
    p.subject.version = v ? *v : path.version;
  }
  p.refuse = [](http::Exchange& e, int status, std::string_view message) {
    respondGoError(e, status, message);
  };
  return p;
}

FrontUpstream* GoService::route(std::string_view modulePath, bool* isPrivate) {
  for (auto& u : upstreams_) {
    for (const auto& raw : u->config.modulePrefixes) {
      std::string_view prefix = raw;
      if (prefix.ends_with('/')) prefix.remove_suffix(1);
      // Path-element boundaries, like GOPRIVATE: corp.example matches
      // corp.example/x but not corp.examples/x.
      if (modulePath == prefix ||
          (modulePath.starts_with(prefix) && modulePath[prefix.size()] == '/')) {
        *isPrivate = true;
        return u.get();
      }
    }
  }
  *isPrivate = false;
  return default_;
}

FrontUpstream* GoService::sumdbUpstream(std::string_view host) {
  for (auto& u : upstreams_) {
    if (!u->config.sumdbName.empty() && u->config.sumdbName == host &&
        u->config.modulePrefixes.empty()) {
      return u.get();
    }
  }
  return nullptr;
}

const GoService::Negative* GoService::negative(const std::string& key) const {
  auto it = negatives_.find(key);
  if (it == negatives_.end() || it->second.until <= deps_.clock->nowMs()) return nullptr;
  return &it->second;
}

void GoService::rememberNegative(const std::string& key, int status, std::string body) {
  // Brief: a module published a moment later shows up within seconds.
  constexpr Millis kNegativeTtlMs = 10 * 1000;
  if (negatives_.size() > 10000) negatives_.clear();
  negatives_[key] = Negative{status, std::move(body), deps_.clock->nowMs() + kNegativeTtlMs};
}

std::optional<ChecksumRecord> parseLookup(std::string_view body, std::string_view modulePath,
                                          std::string_view version) {
  ChecksumRecord out;
  const std::string zipPrefix = std::string(modulePath) + " " + std::string(version) + " h1:";
  const std::string modPrefix =
      std::string(modulePath) + " " + std::string(version) + "/go.mod h1:";
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto end = body.find('\n', pos);
    auto line =
        body.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (line.empty()) break;  // the signed note follows the blank line
    if (line.starts_with(zipPrefix)) out.zipH1 = std::string(line.substr(zipPrefix.size() - 3));
    if (line.starts_with(modPrefix)) out.gomodH1 = std::string(line.substr(modPrefix.size() - 3));
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  if (out.zipH1.empty() || out.gomodH1.empty()) return std::nullopt;
  return out;
}

namespace {

// Memory -> store -> checksum database, each step cancellable by the owner.
class RecordLookup : public std::enable_shared_from_this<RecordLookup> {
 public:
  RecordLookup(GoService& svc, FrontUpstream& upstream, GoPath path,
               std::function<void(GoService::RecordResult)> done)
      : svc_(svc), upstream_(upstream), path_(std::move(path)), done_(std::move(done)) {
    const std::string key =
        "gosumdb/" + upstream_.config.sumdbName + "/lookup/" + path_.module + "@" + path_.version;
    keys_ = {key, key};
  }

  void start() {
    if (auto entry = svc_.documents().remembered(keys_.ref)) {
      finishWith(entry);
      return;
    }
    std::weak_ptr<RecordLookup> weak = shared_from_this();
    step_ = svc_.documents().load(keys_, {}, [weak](const DocumentEntryPtr& loaded) {
      auto self = weak.lock();
      if (!self) return;
      if (loaded) {
        self->finishWith(loaded);
      } else {
        self->fetch();
      }
    });
  }
  void cancel() {
    step_.cancel();
    done_ = nullptr;
  }

 private:
  void fetch() {
    auto gate = upstream_.health->admit();
    if (!svc_.documents().fetching(keys_.ref) && gate != UpstreamGate::Allow &&
        gate != UpstreamGate::Probe) {
      fail(503, "the checksum database " + upstream_.config.sumdbName + " is unavailable");
      return;
    }
    DocumentSource src = upstreamDocument(
        upstream_, upstream_.config.sumdbUrl + "/lookup/" + path_.module + "@" + path_.version,
        "sumdb-lookup", svc_.outcomeRecorder(upstream_), /*withCredentials=*/false);
    src.ttlMs = kImmutableTtlMs;
    src.maxBytes = 1 << 20;
    src.render = [modulePath = path_.modulePath](
                     std::string_view raw) -> std::expected<RenderedDocument, std::string> {
      RenderedDocument out;
      out.variants.push_back({"body", "text/plain", std::string(raw)});
      return out;
    };
    std::weak_ptr<RecordLookup> weak = shared_from_this();
    step_ = svc_.documents().fetch(keys_, nullptr, std::move(src), [weak](const DocumentResult& r) {
      auto self = weak.lock();
      if (!self) return;
      if (r.entry) {
        self->finishWith(r.entry);
      } else if (r.error == FetchError::None &&
                 (r.upstreamStatus == 404 || r.upstreamStatus == 410)) {
        self->fail(static_cast<int>(r.upstreamStatus),
                   "not found in the checksum database " + self->upstream_.config.sumdbName);
      } else {
        self->fail(502, "the checksum database " + self->upstream_.config.sumdbName + " failed: " +
                            (r.message.empty() ? std::to_string(r.upstreamStatus) : r.message));
      }
    });
  }

  void finishWith(const DocumentEntryPtr& entry) {
    const StoredVariant* body = entry->variant("body");
    std::optional<ChecksumRecord> record;
    if (body && body->bytes)
      record = parseLookup(*body->bytes, path_.modulePath, unescapedVersion());
    if (!record) {
      fail(502, "the checksum database's record for " + path_.modulePath + " is unreadable");
      return;
    }
    if (auto done = std::exchange(done_, nullptr)) done(*record);
  }
  void fail(int status, std::string message) {
    if (auto done = std::exchange(done_, nullptr)) {
      done(std::unexpected(std::make_pair(status, std::move(message))));
    }
  }
  std::string unescapedVersion() const {
    auto v = unescapeCase(path_.version);
    return v ? *v : path_.version;
  }

  GoService& svc_;
  FrontUpstream& upstream_;
  GoPath path_;
  std::function<void(GoService::RecordResult)> done_;
  DocumentKeys keys_;
  CancelHandle step_;
};

}  // namespace

CancelHandle GoService::checksumRecord(FrontUpstream& upstream, const GoPath& path,
                                       std::function<void(RecordResult)> done) {
  auto op = std::make_shared<RecordLookup>(*this, upstream, path, std::move(done));
  op->start();
  return CancelHandle([op] { op->cancel(); });
}

void GoService::handle(http::Exchange& ex, std::string_view rest) {
  auto path = parseGoPath(rest);
  if (!path) {
    respondGoError(ex, 400, "invalid module path, version or checksum-database path");
    return;
  }
  switch (path->kind) {
    case GoPath::Kind::SumdbSupported:
    case GoPath::Kind::SumdbLookup:
    case GoPath::Kind::SumdbLatest:
    case GoPath::Kind::SumdbTile: {
      auto* up = sumdbUpstream(path->sumdbHost);
      if (!up) {
        respondGoError(ex, 404, "hoard does not proxy the checksum database " + path->sumdbHost);
        return;
      }
      ex.setLogField("upstream", up->config.name);
      if (path->kind == GoPath::Kind::SumdbSupported) {
        ex.respond(200, {{"Content-Type", "text/plain; charset=utf-8"}}, "");
        return;
      }
      if (path->kind == GoPath::Kind::SumdbLookup) {
        bool isPrivate = false;
        route(path->modulePath, &isPrivate);
        if (isPrivate) {
          // Its name must not leave: the checksum database logs lookups.
          respondGoError(ex, 403,
                         path->modulePath +
                             " is a private module; hoard does not look it "
                             "up in a public checksum database");
          return;
        }
      }
      handleDocument(*this, ex, *path, *up, false);
      return;
    }
    default:
      break;
  }
  bool isPrivate = false;
  auto* up = route(path->modulePath, &isPrivate);
  if (!up) {
    respondGoError(ex, 404, "no go upstream configured for " + path->modulePath);
    return;
  }
  ex.setLogField("upstream", up->config.name);
  // Before any cache lookup (and before the negative cache): cached
  // modules are refused too.
  const auto pol = requestPolicy(*path);
  if (policy::refuseIfDenied(pol.policy, *deps_.metrics, ex, pol.subject, pol.refuse)) return;
  if (path->kind == GoPath::Kind::Zip) {
    handleZip(*this, ex, *path, *up, isPrivate);
  } else {
    handleDocument(*this, ex, *path, *up, isPrivate);
  }
}

}  // namespace hoard::go
