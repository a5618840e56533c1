#include "conf/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "conf/defaults.h"
#include "conf/units.h"
#include "conf/validate.h"

namespace hoard::conf {

namespace {

// Thrown only inside this file; the public functions turn it into the error string.
struct LoadError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string formatAt(const std::string& source, const YAML::Mark& at, const std::string& path,
                     const std::string& what) {
  std::string out = source;
  if (!at.is_null()) {
    out += ":" + std::to_string(at.line + 1) + ":" + std::to_string(at.column + 1);
  }
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += what;
  return out;
}

std::string typeName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      return "a single value";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::string joinKey(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string indexed(const std::string& path, std::size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string squote(std::string_view s) {
  return "'" + std::string(s) + "'";
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

using KeyMarks = std::map<std::string, YAML::Mark, std::less<>>;

struct Field {
  std::string_view key;
  std::function<void(const YAML::Node& key, const YAML::Node& value, const std::string& path)> bind;
};

// Where each upstream's settings sit in the file, for errors found only after the whole list
// is read (duplicates, defaults, reachability).
struct UpstreamMarks {
  YAML::Mark item;
  KeyMarks keys;
  std::vector<YAML::Mark> registries;
};

// With no explicit OCI default, requests without ns/prefix go to whoever serves docker.io:
// that is what a bare `docker pull nginx` means.
void resolveDefaults(std::vector<UpstreamConfig>& ups) {
  // npm: a single unscoped npm upstream is the default one.
  bool hasNpmDefault = std::any_of(ups.begin(), ups.end(), [](const UpstreamConfig& u) {
    return u.kind == UpstreamKind::Npm && u.isDefault;
  });
  if (!hasNpmDefault) {
    UpstreamConfig* only = nullptr;
    int unscoped = 0;
    for (auto& u : ups) {
      if (u.kind == UpstreamKind::Npm && u.scopes.empty()) {
        ++unscoped;
        only = &u;
      }
    }
    if (unscoped == 1) only->isDefault = true;
  }
  bool hasOciDefault = std::any_of(ups.begin(), ups.end(), [](const UpstreamConfig& u) {
    return u.kind == UpstreamKind::Oci && u.isDefault;
  });
  // go: a single go upstream without module prefixes is the default one.
  if (std::count_if(ups.begin(), ups.end(),
                    [](const UpstreamConfig& u) {
                      return u.kind == UpstreamKind::Go && u.modulePrefixes.empty();
                    }) == 1 &&
      std::none_of(ups.begin(), ups.end(), [](const UpstreamConfig& u) {
        return u.kind == UpstreamKind::Go && u.isDefault;
      })) {
    for (auto& u : ups) {
      if (u.kind == UpstreamKind::Go && u.modulePrefixes.empty()) u.isDefault = true;
    }
  }
  // pypi: a single pypi upstream is the default one.
  if (std::count_if(ups.begin(), ups.end(),
                    [](const UpstreamConfig& u) { return u.kind == UpstreamKind::Pypi; }) == 1 &&
      std::none_of(ups.begin(), ups.end(), [](const UpstreamConfig& u) {
        return u.kind == UpstreamKind::Pypi && u.isDefault;
      })) {
    for (auto& u : ups) {
      if (u.kind == UpstreamKind::Pypi) u.isDefault = true;
    }
  }
  if (hasOciDefault) return;
  for (auto& u : ups) {
    if (u.kind == UpstreamKind::Oci &&
        std::find(u.registries.begin(), u.registries.end(), "docker.io") != u.registries.end()) {
      u.isDefault = true;
      return;
    }
  }
}

constexpr std::string_view kServerKeys =
    "listen, max_connections, header_timeout, idle_timeout, max_header_bytes";

class Binder {
 public:
  Binder(std::string source, const EnvLookup& env) : source_(std::move(source)), env_(env) {}

  // Overlays the settings in `root` onto `config`.
  void bind(const YAML::Node& root, Config& config) const {
    if (!root.IsMap()) {
      fail(root.Mark(), "", "expected a map of settings at the top level, got " + typeName(root));
    }
    ServerConfig& s = config.server;
    bindMap(
        root, "",
        {
            {"listen",
             [&](auto& k, auto& v, auto& p) {
               s.listen = str(k, v, p);
               check(validateListen(s.listen), k, p);
             }},
            {"max_connections",
             [&](auto& k, auto& v, auto& p) { s.maxConnections = count(k, v, p, 1, 1'000'000); }},
            {"header_timeout",
             [&](auto& k, auto& v, auto& p) { s.headerTimeoutMs = duration(k, v, p, false); }},
            {"idle_timeout",
             [&](auto& k, auto& v, auto& p) { s.idleTimeoutMs = duration(k, v, p, false); }},
            {"max_header_bytes",
             [&](auto& k, auto& v, auto& p) {
               s.maxHeaderBytes = size(k, v, p, 1024, 16ull << 20);
             }},
            {"offline", [&](auto& k, auto& v, auto& p) { config.offline = boolean(k, v, p); }},
            {"store", [&](auto& k, auto& v, auto& p) { bindStore(k, v, p, config.store); }},
            {"policy", [&](auto& k, auto& v, auto& p) { bindPolicy(k, v, p, config.policy); }},
            {"log", [&](auto& k, auto& v, auto& p) { bindLog(k, v, p, config.log); }},
            {"upstreams",
             [&](auto& k, auto& v, auto& p) { config.upstreams = bindUpstreams(k, v, p); }},
        });
  }

 private:
  [[noreturn]] void fail(const YAML::Mark& at, const std::string& path,
                         const std::string& what) const {
    throw LoadError(formatAt(source_, at, path, what));
  }

  template <class T>
  void check(const std::expected<T, std::string>& r, const YAML::Node& key,
             const std::string& path) const {
    if (!r) fail(key.Mark(), path, r.error());
  }

  // Binds each entry of `map` through its Field; unknown and repeated keys are errors.
  KeyMarks bindMap(const YAML::Node& map, const std::string& path,
                   std::initializer_list<Field> fields) const {
    KeyMarks seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      // yaml-cpp's iterator yields a temporary pair: copy the (cheap, shared) nodes out.
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar()) {
        fail(key.Mark(), path, "keys must be plain names, got " + typeName(key));
      }
      const std::string& name = key.Scalar();
      std::string keyPath = joinKey(path, name);
      if (auto prev = seen.find(name); prev != seen.end()) {
        fail(key.Mark(), keyPath,
             "duplicate key (first set on line " + std::to_string(prev->second.line + 1) + ")");
      }
      const Field* field = nullptr;
      for (const auto& f : fields) {
        if (f.key == name) field = &f;
      }
      if (field == nullptr) fail(key.Mark(), path, unknownKey(name, path, fields));
      seen.emplace(name, key.Mark());
      field->bind(key, value, keyPath);
    }
    return seen;
  }

  static std::string unknownKey(const std::string& name, const std::string& path,
                                std::initializer_list<Field> fields) {
    std::string msg = "unknown key " + squote(name);
    if (path.empty() && name == "server") {
      return msg + " (server settings " + std::string(kServerKeys) + " go at the top level)";
    }
    std::string_view best;
    std::size_t bestDistance = 3;
    std::string known;
    for (const auto& f : fields) {
      std::size_t d = editDistance(name, f.key);
      if (d < bestDistance) {
        bestDistance = d;
        best = f.key;
      }
      known += (known.empty() ? "" : ", ") + std::string(f.key);
    }
    if (!best.empty()) return msg + " (did you mean " + squote(best) + "?)";
    return msg + " (expected one of: " + known + ")";
  }

  void requireKeys(const KeyMarks& seen, std::initializer_list<std::string_view> keys,
                   const YAML::Mark& at, const std::string& path) const {
    for (auto k : keys) {
      if (!seen.contains(k)) fail(at, path, "missing required key " + squote(k));
    }
  }

  void requireMap(const YAML::Node& key, const YAML::Node& v, const std::string& path) const {
    if (!v.IsMap()) fail(key.Mark(), path, "expected a map, got " + typeName(v));
  }

  std::string expand(const YAML::Mark& at, const YAML::Node& v, const std::string& path) const {
    auto r = expandEnv(v.Scalar(), env_);
    if (!r) fail(at, path, r.error());
    return *r;
  }

  std::string str(const YAML::Node& key, const YAML::Node& v, const std::string& path) const {
    if (!v.IsScalar()) fail(key.Mark(), path, "expected a single value, got " + typeName(v));
    return expand(key.Mark(), v, path);
  }

  std::uint64_t duration(const YAML::Node& key, const YAML::Node& v, const std::string& path,
                         bool allowZero) const {
    auto ms = parseDurationMs(str(key, v, path));
    check(ms, key, path);
    if (!allowZero && *ms == 0) fail(key.Mark(), path, "must be greater than zero");
    return *ms;
  }

  std::uint64_t size(const YAML::Node& key, const YAML::Node& v, const std::string& path,
                     std::uint64_t min, std::uint64_t max) const {
    auto bytes = parseSizeBytes(str(key, v, path));
    check(bytes, key, path);
    if (*bytes < min || *bytes > max) {
      fail(key.Mark(), path, "must be between " + formatSize(min) + " and " + formatSize(max));
    }
    return *bytes;
  }

  std::uint64_t count(const YAML::Node& key, const YAML::Node& v, const std::string& path,
                      std::uint64_t min, std::uint64_t max) const {
    std::string text = str(key, v, path);
    bool digits =
        !text.empty() && text.size() <= 18 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) fail(key.Mark(), path, "expected a whole number, got " + squote(text));
    std::uint64_t n = std::stoull(text);
    if (n < min || n > max) {
      fail(key.Mark(), path,
           "must be between " + std::to_string(min) + " and " + std::to_string(max));
    }
    return n;
  }

  bool boolean(const YAML::Node& key, const YAML::Node& v, const std::string& path) const {
    std::string text = str(key, v, path);
    std::string lower;
    for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "true") return true;
    if (lower == "false") return false;
    fail(key.Mark(), path, "expected true or false, got " + squote(text));
  }

  void bindStore(const YAML::Node& key, const YAML::Node& v, const std::string& path,
                 StoreConfig& store) const {
    requireMap(key, v, path);
    bindMap(
        v, path,
        {
            {"path",
             [&](auto& k, auto& val, auto& p) {
               store.path = str(k, val, p);
               if (store.path.empty()) fail(k.Mark(), p, "must not be empty");
             }},
            {"max_size", [&](auto& k, auto& val,
                             auto& p) { store.maxSizeBytes = size(k, val, p, 0, UINT64_MAX); }},
            {"access_flush", [&](auto& k, auto& val,
                                 auto& p) { store.accessFlushMs = duration(k, val, p, false); }},
            {"high_watermark",
             [&](auto& k, auto& val, auto& p) { store.highWatermarkPercent = percent(k, val, p); }},
            {"low_watermark",
             [&](auto& k, auto& val, auto& p) { store.lowWatermarkPercent = percent(k, val, p); }},
            {"pin",
             [&](auto& k, auto& val, auto& p) {
               if (!val.IsSequence()) {
                 fail(k.Mark(), p, "expected a list of patterns like [\"npm:lodash\"]");
               }
               store.pins.clear();
               for (std::size_t i = 0; i < val.size(); ++i) {
                 const YAML::Node e = val[i];
                 std::string ePath = indexed(p, i);
                 if (!e.IsScalar()) fail(e.Mark(), ePath, "expected a pattern, got " + typeName(e));
                 std::string pattern = expand(e.Mark(), e, ePath);
                 if (pattern.empty()) fail(e.Mark(), ePath, "must not be empty");
                 store.pins.push_back(std::move(pattern));
               }
             }},
            {"metadata_retention",
             [&](auto& k, auto& val, auto& p) {
               if (val.IsScalar() && val.Scalar() == "forever") {
                 store.metadataRetentionMs = kForever;
               } else {
                 store.metadataRetentionMs = duration(k, val, p, true);
               }
             }},
        });
    if (auto r = validateWatermarks(store.lowWatermarkPercent, store.highWatermarkPercent); !r) {
      fail(key.Mark(), path, r.error());
    }
  }

  // "90" or "90%": a whole percentage, 1-100.
  std::uint32_t percent(const YAML::Node& key, const YAML::Node& v, const std::string& path) const {
    const std::string raw = str(key, v, path);
    std::string text = raw;
    if (text.ends_with('%')) text.pop_back();
    bool digits =
        !text.empty() && text.size() <= 3 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits)
      fail(key.Mark(), path, "expected a percentage such as 90 or 90%, got " + squote(raw));
    auto n = static_cast<std::uint32_t>(std::stoul(text));
    if (n < 1 || n > 100) fail(key.Mark(), path, "must be between 1 and 100 (percent of max_size)");
    return n;
  }

  void bindPolicy(const YAML::Node& key, const YAML::Node& v, const std::string& path,
                  PolicyConfig& policy) const {
    requireMap(key, v, path);
    auto file = [&](const YAML::Node& k, const YAML::Node& val, const std::string& p) {
      std::string f = str(k, val, p);
      if (f.empty()) fail(k.Mark(), p, "must not be empty (leave the key out for no list)");
      return f;
    };
    bindMap(
        v, path,
        {
            {"deny_list", [&](auto& k, auto& val, auto& p) { policy.denyList = file(k, val, p); }},
            {"allow_list",
             [&](auto& k, auto& val, auto& p) { policy.allowList = file(k, val, p); }},
        });
  }

  void bindLog(const YAML::Node& key, const YAML::Node& v, const std::string& path,
               LogConfig& log) const {
    requireMap(key, v, path);
    bindMap(v, path,
            {
                {"access", [&](auto& k, auto& val, auto& p) { log.accessLog = str(k, val, p); }},
                {"level",
                 [&](auto& k, auto& val, auto& p) {
                   log.level = str(k, val, p);
                   check(validateLogLevel(log.level), k, p);
                 }},
            });
  }

  std::vector<UpstreamConfig> bindUpstreams(const YAML::Node& key, const YAML::Node& v,
                                            const std::string& path) const {
    if (!v.IsSequence()) fail(key.Mark(), path, "expected a list, got " + typeName(v));
    if (v.size() == 0) fail(key.Mark(), path, "must list at least one upstream");
    std::vector<UpstreamConfig> ups;
    std::vector<UpstreamMarks> marks;
    for (std::size_t i = 0; i < v.size(); ++i) {
      const YAML::Node item = v[i];
      std::string itemPath = indexed(path, i);
      if (!item.IsMap()) {
        fail(item.Mark(), itemPath, "expected a map (name:, url:, ...), got " + typeName(item));
      }
      marks.emplace_back();
      ups.push_back(bindUpstream(item, itemPath, marks.back()));
    }
    crossCheck(ups, marks, path);
    resolveDefaults(ups);
    for (std::size_t i = 0; i < ups.size(); ++i) {
      const auto& u = ups[i];
      if (u.kind == UpstreamKind::Oci && u.registries.empty() && u.prefix.empty() && !u.isDefault) {
        fail(marks[i].item, indexed(path, i),
             "upstream " + squote(u.name) +
                 " is unreachable: give it registries:, a prefix:, or default: true");
      }
    }
    return ups;
  }

  UpstreamConfig bindUpstream(const YAML::Node& item, const std::string& path,
                              UpstreamMarks& marks) const {
    UpstreamConfig u;
    marks.item = item.Mark();
    marks.keys = bindMap(
        item, path,
        {
            {"name",
             [&](auto& k, auto& v, auto& p) {
               u.name = str(k, v, p);
               check(validateUpstreamName(u.name), k, p);
             }},
            {"kind",
             [&](auto& k, auto& v, auto& p) {
               std::string text = str(k, v, p);
               auto kind = parseUpstreamKind(text);
               if (!kind)
                 fail(k.Mark(), p, "must be one of oci, npm, pypi, go (got " + squote(text) + ")");
               u.kind = *kind;
             }},
            {"url",
             [&](auto& k, auto& v, auto& p) {
               auto url = normalizeUpstreamUrl(str(k, v, p));
               check(url, k, p);
               u.url = *url;
             }},
            {"registries",
             [&](auto& k, auto& v, auto& p) {
               if (!v.IsSequence()) fail(k.Mark(), p, "expected a list, got " + typeName(v));
               for (std::size_t i = 0; i < v.size(); ++i) {
                 const YAML::Node e = v[i];
                 std::string ePath = indexed(p, i);
                 if (!e.IsScalar())
                   fail(e.Mark(), ePath, "expected a registry host, got " + typeName(e));
                 std::string reg = expand(e.Mark(), e, ePath);
                 if (auto r = validateRegistry(reg); !r) fail(e.Mark(), ePath, r.error());
                 u.registries.push_back(std::move(reg));
                 marks.registries.push_back(e.Mark());
               }
             }},
            {"prefix",
             [&](auto& k, auto& v, auto& p) {
               u.prefix = str(k, v, p);
               check(validatePrefix(u.prefix), k, p);
             }},
            {"auth",
             [&](auto& k, auto& v, auto& p) {
               requireMap(k, v, p);
               UpstreamAuth auth;
               auto seen = bindMap(
                   v, p,
                   {
                       {"username",
                        [&](auto& k2, auto& v2, auto& p2) { auth.username = str(k2, v2, p2); }},
                       {"password",
                        [&](auto& k2, auto& v2, auto& p2) { auth.password = str(k2, v2, p2); }},
                   });
               requireKeys(seen, {"username", "password"}, k.Mark(), p);
               // Both empty (e.g. ${USER:-} and ${TOKEN:-} unset): anonymous, so one file
               // serves machines with and without credentials.
               if (auth.username.empty() && auth.password.empty()) return;
               if (auth.username.empty()) {
                 fail(seen.at("username"), joinKey(p, "username"),
                      "must not be empty when a password is set");
               }
               u.auth = std::move(auth);
             }},
            {"manifest_ttl",
             [&](auto& k, auto& v, auto& p) { u.manifestTtlMs = duration(k, v, p, true); }},
            {"connect_timeout",
             [&](auto& k, auto& v, auto& p) { u.connectTimeoutMs = duration(k, v, p, false); }},
            {"idle_timeout",
             [&](auto& k, auto& v, auto& p) { u.idleTimeoutMs = duration(k, v, p, false); }},
            {"default", [&](auto& k, auto& v, auto& p) { u.isDefault = boolean(k, v, p); }},
            {"offline", [&](auto& k, auto& v, auto& p) { u.offline = boolean(k, v, p); }},
            {"scopes",
             [&](auto& k, auto& v, auto& p) {
               if (!v.IsSequence()) fail(k.Mark(), p, "expected a list of scopes like [\"@acme\"]");
               for (std::size_t i = 0; i < v.size(); ++i) {
                 const YAML::Node e = v[i];
                 std::string ePath = indexed(p, i);
                 if (!e.IsScalar()) fail(e.Mark(), ePath, "expected a scope like @acme");
                 std::string scope = expand(e.Mark(), e, ePath);
                 bool ok = scope.size() > 1 && scope[0] == '@';
                 for (char c : scope.substr(1)) {
                   ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                               c == '.' || c == '_');
                 }
                 if (!ok) fail(e.Mark(), ePath, "invalid npm scope " + squote(scope));
                 u.scopes.push_back(std::move(scope));
               }
             }},
            {"file_hosts",
             [&](auto& k, auto& v, auto& p) {
               if (!v.IsSequence()) {
                 fail(k.Mark(), p, "expected a list of URLs like [\"https://files.example\"]");
               }
               for (std::size_t i = 0; i < v.size(); ++i) {
                 const YAML::Node e = v[i];
                 std::string ePath = indexed(p, i);
                 if (!e.IsScalar())
                   fail(e.Mark(), ePath, "expected a URL like https://files.example");
                 std::string text = expand(e.Mark(), e, ePath);
                 auto url = normalizeUpstreamUrl(text);
                 if (!url) fail(e.Mark(), ePath, "invalid URL " + squote(text));
                 u.fileHosts.push_back(std::move(*url));
               }
             }},
            {"modules",
             [&](auto& k, auto& v, auto& p) {
               if (!v.IsSequence()) {
                 fail(k.Mark(), p,
                      "expected a list of module path prefixes like [\"corp.example/\"]");
               }
               for (std::size_t i = 0; i < v.size(); ++i) {
                 const YAML::Node e = v[i];
                 std::string ePath = indexed(p, i);
                 if (!e.IsScalar()) fail(e.Mark(), ePath, "expected a module path prefix");
                 std::string prefix = expand(e.Mark(), e, ePath);
                 bool ok = !prefix.empty() && prefix.find('.') != std::string::npos &&
                           std::isalnum(static_cast<unsigned char>(prefix.front())) &&
                           prefix.find("//") == std::string::npos &&
                           prefix.find("..") == std::string::npos;
                 for (char c : prefix) {
                   ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                               (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
                               c == '~' || c == '/');
                 }
                 if (!ok) fail(e.Mark(), ePath, "invalid module path prefix " + squote(prefix));
                 u.modulePrefixes.push_back(std::move(prefix));
               }
             }},
            {"sumdb",
             [&](auto& k, auto& v, auto& p) {
               requireMap(k, v, p);
               auto seen = bindMap(v, p,
                                   {
                                       {"name", [&](auto& k2, auto& v2,
                                                    auto& p2) { u.sumdbName = str(k2, v2, p2); }},
                                       {"url",
                                        [&](auto& k2, auto& v2, auto& p2) {
                                          auto url = normalizeUpstreamUrl(str(k2, v2, p2));
                                          if (!url) fail(k2.Mark(), p2, url.error());
                                          u.sumdbUrl = std::move(*url);
                                        }},
                                   });
               requireKeys(seen, {"name", "url"}, k.Mark(), p);
             }},
            {"max_stale",
             [&](auto& k, auto& v, auto& p) {
               if (v.IsScalar() && v.Scalar() == "forever") {
                 u.maxStaleMs = kForever;
               } else {
                 u.maxStaleMs = duration(k, v, p, true);
               }
             }},
            {"breaker",
             [&](auto& k, auto& v, auto& p) {
               requireMap(k, v, p);
               bindMap(v, p,
                       {
                           {"failures",
                            [&](auto& k2, auto& v2, auto& p2) {
                              u.breakerFailures =
                                  static_cast<std::uint32_t>(count(k2, v2, p2, 1, 1000));
                            }},
                           {"cooldown",
                            [&](auto& k2, auto& v2, auto& p2) {
                              u.breakerCooldownMs = duration(k2, v2, p2, false);
                            }},
                       });
             }},
        });
    requireKeys(marks.keys, {"name", "url"}, marks.item, path);
    if (u.kind != UpstreamKind::Npm) {
      if (auto m = marks.keys.find("scopes"); m != marks.keys.end()) {
        fail(m->second, joinKey(path, "scopes"), "only valid for kind npm");
      }
    }
    if (u.kind != UpstreamKind::Pypi) {
      if (auto m = marks.keys.find("file_hosts"); m != marks.keys.end()) {
        fail(m->second, joinKey(path, "file_hosts"), "only valid for kind pypi");
      }
    } else if (!marks.keys.contains("manifest_ttl")) {
      u.manifestTtlMs = kPypiPageTtlMs;
    }
    if (u.kind != UpstreamKind::Go) {
      for (std::string_view goOnly : {"modules", "sumdb"}) {
        if (auto m = marks.keys.find(goOnly); m != marks.keys.end()) {
          fail(m->second, joinKey(path, goOnly), "only valid for kind go");
        }
      }
    } else if (!marks.keys.contains("manifest_ttl")) {
      u.manifestTtlMs = kGoListTtlMs;
    }
    if (u.kind != UpstreamKind::Oci) {
      for (std::string_view ociOnly : {"registries", "prefix"}) {
        if (auto m = marks.keys.find(ociOnly); m != marks.keys.end()) {
          fail(m->second, joinKey(path, ociOnly),
               "only valid for kind oci (this upstream is " +
                   std::string(upstreamKindName(u.kind)) + ")");
        }
      }
    }
    return u;
  }

  // Names, prefixes and registries each pick exactly one upstream, so they must be unique; at
  // most one explicit default per kind.
  void crossCheck(const std::vector<UpstreamConfig>& ups, const std::vector<UpstreamMarks>& marks,
                  const std::string& path) const {
    auto where = [&](std::size_t j, std::string_view key) {
      const auto& km = marks[j].keys;
      auto it = km.find(key);
      int line = (it != km.end() ? it->second : marks[j].item).line + 1;
      return indexed(path, j) + ", line " + std::to_string(line);
    };
    std::map<std::string, std::size_t, std::less<>> names, prefixes;
    std::map<std::string, std::pair<std::size_t, std::size_t>, std::less<>> registries;
    std::map<UpstreamKind, std::size_t> defaults;
    for (std::size_t i = 0; i < ups.size(); ++i) {
      const auto& u = ups[i];
      const auto& km = marks[i].keys;
      std::string p = indexed(path, i);
      if (auto [it, fresh] = names.emplace(u.name, i); !fresh) {
        fail(km.at("name"), joinKey(p, "name"),
             "duplicate upstream name " + squote(u.name) + " (also " + where(it->second, "name") +
                 ")");
      }
      if (!u.prefix.empty()) {
        if (auto [it, fresh] = prefixes.emplace(u.prefix, i); !fresh) {
          fail(km.at("prefix"), joinKey(p, "prefix"),
               "duplicate prefix " + squote(u.prefix) + " (already used by upstream " +
                   squote(ups[it->second].name) + ", " + where(it->second, "prefix") + ")");
        }
      }
      for (std::size_t r = 0; r < u.registries.size(); ++r) {
        auto [it, fresh] = registries.emplace(u.registries[r], std::pair{i, r});
        if (fresh) continue;
        std::string rp = indexed(joinKey(p, "registries"), r);
        if (it->second.first == i) {
          fail(marks[i].registries[r], rp, "registry " + squote(u.registries[r]) + " listed twice");
        }
        fail(marks[i].registries[r], rp,
             "registry " + squote(u.registries[r]) + " is already served by upstream " +
                 squote(ups[it->second.first].name) + " (" + where(it->second.first, "registries") +
                 ")");
      }
      if (u.isDefault) {
        if (auto [it, fresh] = defaults.emplace(u.kind, i); !fresh) {
          fail(km.at("default"), joinKey(p, "default"),
               "upstream " + squote(ups[it->second].name) + " is already the default " +
                   std::string(upstreamKindName(u.kind)) + " upstream (" +
                   where(it->second, "default") + ")");
        }
      }
    }
  }

 private:
  std::string source_;
  const EnvLookup& env_;
};

std::expected<Config, std::string> load(std::string_view yaml, const std::string& source,
                                        const EnvLookup& env) {
  Config config = defaultConfig(env);
  config.sourceFile = source;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(std::string(yaml));
    if (docs.size() > 1) {
      return std::unexpected(
          formatAt(source, docs[1].Mark(), "", "only one YAML document is allowed"));
    }
    if (docs.empty() || docs[0].IsNull()) return config;  // empty file: all defaults
    Binder(source, env).bind(docs[0], config);
  } catch (const LoadError& e) {
    return std::unexpected(e.what());
  } catch (const YAML::Exception& e) {
    std::string msg = e.msg;
    // yaml-cpp's wording for `access: -`, where '-' starts a list entry.
    if (msg == "illegal block entry") msg += " (a value of '-' must be quoted: \"-\")";
    return std::unexpected(formatAt(source, e.mark, "", "invalid YAML: " + msg));
  }
  return config;
}

}  // namespace

std::expected<Config, std::string> loadConfigString(std::string_view yaml,
                                                    std::string_view sourceName,
                                                    const EnvLookup& env) {
  return load(yaml, std::string(sourceName), env);
}

std::expected<Config, std::string> loadConfigString(std::string_view yaml,
                                                    std::string_view sourceName) {
  return loadConfigString(yaml, sourceName, processEnv());
}

std::expected<Config, std::string> loadConfigFile(const std::string& path, const EnvLookup& env) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return std::unexpected(path + ": cannot read: is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(path + ": cannot read: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::unexpected(path + ": cannot read: " + std::strerror(errno));
  return load(text.str(), path, env);
}

std::expected<Config, std::string> loadConfigFile(const std::string& path) {
  return loadConfigFile(path, processEnv());
}

}  // namespace hoard::conf
