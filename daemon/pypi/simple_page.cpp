#include "daemon/pypi/simple_page.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "daemon/pypi/names.h"

namespace hoard::pypi {

namespace {

using Json = nlohmann::json;

// ---------------------------------------------------------------- URLs

struct UrlParts {
  std::string_view scheme, authority, path, query;
  bool hasScheme = false, hasAuthority = false, hasQuery = false;
};

bool isSchemeChar(char c, bool first) {
  bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (first) return alpha;
  return alpha || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

// RFC 3986 appendix B, fragment dropped.
UrlParts splitUrl(std::string_view u) {
  UrlParts p;
  if (auto hash = u.find('#'); hash != std::string_view::npos) u = u.substr(0, hash);
  if (auto colon = u.find(':'); colon != std::string_view::npos && colon > 0) {
    bool scheme = true;
    for (std::size_t i = 0; i < colon; ++i) {
      if (!isSchemeChar(u[i], i == 0)) {
        scheme = false;
        break;
      }
    }
    if (scheme) {
      p.scheme = u.substr(0, colon);
      p.hasScheme = true;
      u.remove_prefix(colon + 1);
    }
  }
  if (u.starts_with("//")) {
    auto end = u.find_first_of("/?", 2);
    p.authority = u.substr(2, end == std::string_view::npos ? std::string_view::npos : end - 2);
    p.hasAuthority = true;
    u.remove_prefix(end == std::string_view::npos ? u.size() : end);
  }
  if (auto q = u.find('?'); q != std::string_view::npos) {
    p.query = u.substr(q + 1);
    p.hasQuery = true;
    u = u.substr(0, q);
  }
  p.path = u;
  return p;
}

// RFC 3986 section 5.2.4.
std::string removeDotSegments(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  auto popSegment = [&out] {
    auto slash = out.rfind('/');
    out.erase(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./") || in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {
      in.remove_prefix(3);
      popSegment();
    } else if (in == "/..") {
      in = "/";
      popSegment();
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      auto next = in.find('/', in.front() == '/' ? 1 : 0);
      auto seg = in.substr(0, next);
      out.append(seg);
      in.remove_prefix(seg.size());
    }
  }
  return out;
}

std::string composeUrl(const UrlParts& p, std::string_view path, std::string_view query,
                       bool hasQuery) {
  std::string out;
  if (p.hasScheme) {
    out.append(p.scheme);
    out.push_back(':');
  }
  if (p.hasAuthority) {
    out.append("//");
    out.append(p.authority);
  }
  out.append(path);
  if (hasQuery) {
    out.push_back('?');
    out.append(query);
  }
  return out;
}

// Only http(s) URLs with a host leave this file as something to fetch: an
// upstream page naming file:///etc/passwd or gopher:// must not turn into a
// request. Spaces and non-ASCII bytes (sloppy static indexes) are
// percent-encoded; other control characters drop the URL.
std::optional<std::string> fetchableUrl(std::string_view url) {
  auto p = splitUrl(url);
  std::string scheme(p.scheme);
  for (char& c : scheme) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!p.hasScheme || (scheme != "http" && scheme != "https") || !p.hasAuthority ||
      p.authority.empty()) {
    return std::nullopt;
  }
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(url.size());
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return std::nullopt;
    if (u == ' ' || u >= 0x80) {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// "sha256=<hex>" in a URL fragment, as PEP 503 puts it on file links.
std::pair<std::string, std::string> fragmentHash(std::string_view url) {
  auto hash = url.find('#');
  if (hash == std::string_view::npos) return {};
  auto frag = url.substr(hash + 1);
  auto eq = frag.find('=');
  if (eq == std::string_view::npos || eq == 0) return {};
  return {std::string(frag.substr(0, eq)), std::string(frag.substr(eq + 1))};
}

// ---------------------------------------------------------------- HTML out

void appendEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      case '\'':
        out.append("&#39;");
        break;
      default:
        out.push_back(c);
    }
  }
}

void appendAttr(std::string& out, std::string_view name, std::string_view value) {
  out.push_back(' ');
  out.append(name);
  out.append("=\"");
  appendEscaped(out, value);
  out.push_back('"');
}

void appendHead(std::string& out, std::string_view apiVersion, std::string_view title) {
  out.append("<!DOCTYPE html>\n<html>\n  <head>\n    <meta name=\"pypi:repository-version\"");
  out.append(" content=\"");
  appendEscaped(out, apiVersion);
  out.append("\">\n    <title>");
  appendEscaped(out, title);
  out.append("</title>\n  </head>\n  <body>\n");
}

constexpr std::string_view kTail = "  </body>\n</html>\n";

// ---------------------------------------------------------------- checks

std::optional<std::string> sha256Hex(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  std::string hex = v.get<std::string>();
  for (char& c : hex) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  if (!Digest::fromHex(DigestAlgorithm::Sha256, hex)) return std::nullopt;
  return hex;
}

// PEP 629: the major version is what a client must understand; hoard
// serves v1 content types, so only 1.x pages are passed on.
bool isSupportedApiVersion(std::string_view v) {
  bool ok = v.size() > 2 && v.starts_with("1.");
  for (std::size_t i = 2; ok && i < v.size(); ++i) ok = v[i] >= '0' && v[i] <= '9';
  return ok;
}

// The page's api-version, filling in "1.0" where the page has none; nullopt
// (and `error`) when it is not one hoard can serve.
std::optional<std::string> apiVersionOf(Json& doc, std::string& error) {
  auto meta = doc.find("meta");
  if (meta == doc.end()) {
    doc["meta"] = {{"api-version", "1.0"}};
    return "1.0";
  }
  if (!meta->is_object()) {
    error = "meta is not an object";
    return std::nullopt;
  }
  auto version = meta->find("api-version");
  if (version == meta->end()) {
    (*meta)["api-version"] = "1.0";
    return "1.0";
  }
  if (!version->is_string()) {
    error = "meta.api-version is not a string";
    return std::nullopt;
  }
  std::string v = version->get<std::string>();
  if (!isSupportedApiVersion(v)) {
    error = "unsupported api-version " + v;
    return std::nullopt;
  }
  return v;
}

constexpr const char* kMetadataKeys[] = {"core-metadata", "dist-info-metadata",
                                         "data-dist-info-metadata"};

std::string dump(const Json& doc) {
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// The one renderer both input forms go through; returns an error, or "".
// (Internal results avoid std::expected: clang-tidy 14 cannot analyse a
// file that destroys one with this libstdc++.)
std::string renderDocument(Json doc, std::string_view pageUrl, std::string_view project,
                           RenderedProjectPage& out) {
  if (!isValidProjectName(project) || normalizeProject(project) != project) {
    return "not a normalized project name: " + std::string(project);
  }
  if (!doc.is_object()) return "project page is not a JSON object";
  auto files = doc.find("files");
  if (files == doc.end() || !files->is_array()) {
    return "project page has no files array";
  }
  std::string error;
  auto apiVersion = apiVersionOf(doc, error);
  if (!apiVersion) return error;
  if (auto name = doc.find("name"); name == doc.end()) {
    doc["name"] = project;
  } else if (!name->is_string() || normalizeProject(name->get<std::string>()) != project) {
    return "project page is for " + name->dump() + ", not " + std::string(project);
  }

  const std::string hrefBase = "../../files/" + std::string(project) + "/";
  std::string links;
  links.reserve(files->size() * 320);
  Json kept = Json::array();
  for (auto& f : *files) {
    if (!f.is_object()) {
      ++out.droppedFiles;
      continue;
    }
    auto filename = f.find("filename");
    auto url = f.find("url");
    if (filename == f.end() || !filename->is_string() || url == f.end() || !url->is_string()) {
      ++out.droppedFiles;
      continue;
    }
    std::string name = filename->get<std::string>();
    std::string upstreamRef = url->get<std::string>();
    if (!isValidDistributionFileName(name) || out.files.contains(name)) {
      ++out.droppedFiles;
      continue;
    }

    auto hashes = f.find("hashes");
    if (hashes == f.end() || !hashes->is_object()) {
      f["hashes"] = Json::object();
      hashes = f.find("hashes");
    }
    std::optional<std::string> sha;
    if (auto it = hashes->find("sha256"); it != hashes->end()) sha = sha256Hex(*it);
    if (!sha) {
      // Some JSON indexes leave the hash only in the URL, PEP 503 style.
      auto [algo, value] = fragmentHash(upstreamRef);
      if (algo == "sha256") sha = sha256Hex(Json(value));
    }
    auto fetchable = fetchableUrl(resolveUrl(pageUrl, upstreamRef));
    if (!sha || !fetchable) {
      ++out.droppedFiles;
      continue;
    }
    (*hashes)["sha256"] = *sha;
    const std::string& upstreamUrl = *fetchable;
    out.files[name] = FileSource{upstreamUrl, *Digest::fromHex(DigestAlgorithm::Sha256, *sha)};

    // PEP 714: `core-metadata` wins over the legacy keys when present.
    std::optional<Json> metadata;
    for (const char* key : kMetadataKeys) {
      if (auto it = f.find(key); it != f.end() && !metadata && !it->is_null()) metadata = *it;
    }
    for (const char* key : kMetadataKeys) f.erase(key);
    std::optional<std::string> metadataSha;
    if (metadata && metadata->is_object()) {
      if (auto it = metadata->find("sha256"); it != metadata->end()) metadataSha = sha256Hex(*it);
    }
    if (metadataSha) {
      (*metadata)["sha256"] = *metadataSha;
      f["core-metadata"] = std::move(*metadata);
      // PEP 658: the metadata lives at the file's URL + ".metadata".
      out.files[name + ".metadata"] = FileSource{
          upstreamUrl + ".metadata", *Digest::fromHex(DigestAlgorithm::Sha256, *metadataSha)};
    } else if (metadata) {
      f["core-metadata"] = false;  // declared, but hoard could not verify what it serves
    }
    // A relative provenance URL (PEP 740) would otherwise resolve against hoard.
    if (auto prov = f.find("provenance"); prov != f.end() && prov->is_string()) {
      auto absolute = fetchableUrl(resolveUrl(pageUrl, prov->get<std::string>()));
      if (absolute) {
        *prov = std::move(*absolute);
      } else {
        *prov = nullptr;
      }
    }

    std::string href = hrefBase + percentEncodeSegment(name);
    *url = href;

    links.append("    <a");
    appendAttr(links, "href", href + "#sha256=" + *sha);
    if (auto rp = f.find("requires-python");
        rp != f.end() && rp->is_string() && !rp->get_ref<const std::string&>().empty()) {
      appendAttr(links, "data-requires-python", rp->get_ref<const std::string&>());
    }
    if (auto y = f.find("yanked"); y != f.end()) {
      if (y->is_boolean() && y->get<bool>()) {
        appendAttr(links, "data-yanked", "");
      } else if (y->is_string() && !y->get_ref<const std::string&>().empty()) {
        appendAttr(links, "data-yanked", y->get_ref<const std::string&>());
      }
    }
    if (metadataSha) {
      appendAttr(links, "data-dist-info-metadata", "sha256=" + *metadataSha);
      appendAttr(links, "data-core-metadata", "sha256=" + *metadataSha);
    }
    if (auto g = f.find("gpg-sig"); g != f.end() && g->is_boolean()) {
      appendAttr(links, "data-gpg-sig", g->get<bool>() ? "true" : "false");
    }
    if (auto prov = f.find("provenance"); prov != f.end() && prov->is_string()) {
      appendAttr(links, "data-provenance", prov->get_ref<const std::string&>());
    }
    links.push_back('>');
    appendEscaped(links, name);
    links.append("</a><br/>\n");
    kept.push_back(std::move(f));
  }
  *files = std::move(kept);

  out.json = dump(doc);
  std::string title = "Links for " + std::string(project);
  out.html.reserve(links.size() + 512);
  appendHead(out.html, *apiVersion, title);
  out.html.append("    <h1>");
  appendEscaped(out.html, title);
  out.html.append("</h1>\n");
  out.html.append(links);
  out.html.append(kTail);
  return {};
}

// ---------------------------------------------------------------- HTML in

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

char asciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

void appendUtf8(std::string& out, unsigned long cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The character references index pages use; anything else stays literal.
std::string decodeEntities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    // Bounded look-ahead: a page full of bare '&' stays linear.
    auto semi = s.substr(i + 1, 12).find(';');
    if (semi != std::string_view::npos) semi += i + 1;
    if (semi == std::string_view::npos) {
      out.push_back(s[i++]);
      continue;
    }
    std::string_view name = s.substr(i + 1, semi - i - 1);
    bool done = true;
    if (name == "amp") {
      out.push_back('&');
    } else if (name == "lt") {
      out.push_back('<');
    } else if (name == "gt") {
      out.push_back('>');
    } else if (name == "quot") {
      out.push_back('"');
    } else if (name == "apos") {
      out.push_back('\'');
    } else if (name.size() > 1 && name[0] == '#') {
      bool hex = name[1] == 'x' || name[1] == 'X';
      std::string_view digits = name.substr(hex ? 2 : 1);
      unsigned long cp = 0;
      done = !digits.empty();
      for (char c : digits) {
        int d = -1;
        if (c >= '0' && c <= '9') d = c - '0';
        if (hex && c >= 'a' && c <= 'f') d = c - 'a' + 10;
        if (hex && c >= 'A' && c <= 'F') d = c - 'A' + 10;
        if (d < 0) {
          done = false;
          break;
        }
        cp = cp * (hex ? 16 : 10) + static_cast<unsigned long>(d);
        if (cp > 0x10FFFF) cp = 0x110000;  // stays out of range, no overflow
      }
      if (done) appendUtf8(out, cp);
    } else {
      done = false;
    }
    if (done) {
      i = semi + 1;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

struct Tag {
  std::string name;  // lowercase
  std::vector<std::pair<std::string, std::string>> attrs;
  std::size_t end = 0;  // index just past '>' (or the input's size)

  const std::string* attr(std::string_view key) const {
    for (const auto& [k, v] : attrs) {
      if (k == key) return &v;
    }
    return nullptr;
  }
};

// Reads the tag starting at html[start] == '<'. Quoted values may hold '>'.
Tag readTag(std::string_view html, std::size_t start) {
  Tag tag;
  std::size_t i = start + 1;
  while (i < html.size() &&
         ((html[i] >= 'a' && html[i] <= 'z') || (html[i] >= 'A' && html[i] <= 'Z') ||
          (html[i] >= '0' && html[i] <= '9'))) {
    tag.name.push_back(asciiLower(html[i++]));
  }
  while (i < html.size()) {
    const std::size_t stepStart = i;
    while (i < html.size() && (isSpace(html[i]) || html[i] == '/')) ++i;
    if (i >= html.size()) break;
    if (html[i] == '>') {
      ++i;
      break;
    }
    std::string key;
    while (i < html.size() && !isSpace(html[i]) && html[i] != '=' && html[i] != '>' &&
           html[i] != '/') {
      key.push_back(asciiLower(html[i++]));
    }
    while (i < html.size() && isSpace(html[i])) ++i;
    std::string value;
    if (i < html.size() && html[i] == '=') {
      ++i;
      while (i < html.size() && isSpace(html[i])) ++i;
      if (i < html.size() && (html[i] == '"' || html[i] == '\'')) {
        char quote = html[i++];
        auto close = html.find(quote, i);
        if (close == std::string_view::npos) close = html.size();
        value = decodeEntities(html.substr(i, close - i));
        i = close + (close < html.size() ? 1 : 0);
      } else {
        auto begin = i;
        while (i < html.size() && !isSpace(html[i]) && html[i] != '>') ++i;
        value = decodeEntities(html.substr(begin, i - begin));
      }
    }
    if (key.empty()) {
      if (i == stepStart) ++i;  // never stall on a character nothing above consumed
      continue;
    }
    if (!tag.attr(key)) tag.attrs.emplace_back(std::move(key), std::move(value));
  }
  tag.end = std::min(i, html.size());
  return tag;
}

std::string trimmed(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return std::string(s);
}

// PEP 658 attribute values: "true", or "<hashname>=<hex>".
Json metadataValue(std::string_view v) {
  auto eq = v.find('=');
  if (eq == std::string_view::npos || eq == 0) return true;
  Json hashes = Json::object();
  hashes[std::string(v.substr(0, eq))] = std::string(v.substr(eq + 1));
  return hashes;
}

Json fileFromAnchor(const Tag& a, std::string_view text, std::string_view base) {
  const std::string* href = a.attr("href");
  if (!href || href->empty()) return nullptr;
  std::string url = resolveUrl(base, *href);
  // The file name is the last path segment of the URL (PEP 503 requires the
  // anchor text to match it); fall back to the text for odd URLs.
  auto parts = splitUrl(*href);
  std::string_view path = parts.path;
  std::string fromUrl;
  if (auto decoded = percentDecode(path.substr(path.rfind('/') + 1))) fromUrl = *decoded;
  std::string name;
  if (isValidDistributionFileName(fromUrl)) {
    name = fromUrl;
  } else if (auto t = trimmed(decodeEntities(text)); isValidDistributionFileName(t)) {
    name = t;
  } else {
    return nullptr;  // not a file link (navigation, anything else on the page)
  }

  Json f = {{"filename", name}, {"url", url}, {"hashes", Json::object()}};
  auto [algo, value] = fragmentHash(*href);
  if (!algo.empty()) f["hashes"][algo] = value;
  if (auto* rp = a.attr("data-requires-python")) f["requires-python"] = *rp;
  if (auto* y = a.attr("data-yanked")) {
    if (y->empty()) {
      f["yanked"] = true;
    } else {
      f["yanked"] = *y;
    }
  }
  if (auto* m = a.attr("data-core-metadata")) {
    f["core-metadata"] = metadataValue(*m);
  } else if (auto* legacy = a.attr("data-dist-info-metadata")) {
    f["core-metadata"] = metadataValue(*legacy);
  }
  if (auto* g = a.attr("data-gpg-sig")) {
    if (*g == "true") f["gpg-sig"] = true;
    if (*g == "false") f["gpg-sig"] = false;
  }
  if (auto* p = a.attr("data-provenance"); p && !p->empty()) {
    f["provenance"] = resolveUrl(base, *p);
  }
  return f;
}

void appendJsonString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      out.append("\\u00");
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xf]);
    } else {
      out.push_back(c);  // the parser has already checked the UTF-8
    }
  }
  out.push_back('"');
}

// The project list is tens of MB (700k projects on PyPI): a DOM of it costs
// over a second and several hundred MB. This SAX handler re-writes the
// document as it is parsed instead, keeping every key and value as given,
// buffering one project entry at a time so that entries without a valid name
// can be left out of both forms.
class ProjectListWriter {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  explicit ProjectListWriter(std::size_t inputSize) {
    json.reserve(inputSize + 64);
    links.reserve(inputSize + inputSize / 2);
  }

  std::string json, links, error;
  std::string apiVersion = "1.0";
  bool sawProjects = false;

  // nlohmann's SAX interface fixes these names.
  // NOLINTBEGIN(readability-identifier-naming)
  bool null() { return scalar("null"); }
  bool boolean(bool v) { return scalar(v ? "true" : "false"); }
  bool number_integer(number_integer_t v) { return scalar(std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) { return scalar(std::to_string(v)); }
  bool number_float(number_float_t, const string_t& raw) { return scalar(raw); }
  bool binary(binary_t&) { return fail("project list is not JSON"); }

  bool string(string_t& v) {
    if (!stack_.empty()) {
      Frame& top = stack_.back();
      if (top.role == Role::Meta && top.key == "api-version") {
        apiVersion = v;
        top.sawApiVersion = true;
      } else if (top.role == Role::Entry && top.key == "name" && stack_.size() == 3) {
        entryName_ = v;
        entryHasName_ = true;
      }
    }
    std::string quoted;
    appendJsonString(quoted, v);
    return scalar(quoted);
  }

  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }

  bool key(string_t& k) {
    Frame& top = stack_.back();
    top.key = k;
    std::string& o = out();
    if (!top.first) o.push_back(',');
    top.first = false;
    appendJsonString(o, k);
    o.push_back(':');
    return true;
  }

  bool end_object() { return close('}'); }
  bool end_array() { return close(']'); }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }
  // NOLINTEND(readability-identifier-naming)

 private:
  enum class Role { Other, Root, Meta, Projects, Entry };
  struct Frame {
    Role role = Role::Other;
    bool isObject = false;
    bool first = true;
    bool sawApiVersion = false;
    std::string key;  // objects: the key of the value being read
  };

  bool fail(std::string message) {
    if (error.empty()) error = std::move(message);
    return false;
  }

  std::nullopt_t failed(std::string message) {
    fail(std::move(message));
    return std::nullopt;
  }

  std::string& out() { return inEntry_ ? entry_ : json; }

  // What the next value is, given where it sits; errors for the few places
  // the shape is fixed.
  std::optional<Role> roleOfNext(bool isObject, bool isContainer) {
    if (stack_.empty()) {
      if (!isObject) return failed("project list is not a JSON object");
      return Role::Root;
    }
    const Frame& top = stack_.back();
    if (top.role == Role::Root && top.key == "projects") {
      if (!isContainer || isObject) return failed("projects is not an array");
      return Role::Projects;
    }
    if (top.role == Role::Root && top.key == "meta") {
      if (!isObject) return failed("meta is not an object");
      return Role::Meta;
    }
    if (top.role == Role::Meta && top.key == "api-version" && isContainer) {
      return failed("meta.api-version is not a string");
    }
    if (top.role == Role::Projects) return Role::Entry;
    return Role::Other;
  }

  // Separator before a value inside an array (objects wrote theirs with the key).
  void separate() {
    Frame& top = stack_.back();
    if (top.isObject || top.role == Role::Projects) return;  // entries are joined when kept
    if (!top.first) out().push_back(',');
    top.first = false;
  }

  bool scalar(std::string_view text) {
    auto role = roleOfNext(false, false);
    if (!role) return false;
    if (stack_.back().role == Role::Meta && stack_.back().key == "api-version" &&
        !text.starts_with('"')) {
      return fail("meta.api-version is not a string");
    }
    if (*role == Role::Entry) return true;  // a bare value in projects: not a project
    separate();
    out().append(text);
    return true;
  }

  bool open(bool isObject) {
    auto role = roleOfNext(isObject, true);
    if (!role) return false;
    if (!stack_.empty()) separate();
    if (*role == Role::Entry) {
      inEntry_ = true;
      entry_.clear();
      entryHasName_ = false;
    }
    if (*role == Role::Projects) sawProjects = true;
    if (*role == Role::Meta) sawMeta_ = true;
    out().push_back(isObject ? '{' : '[');
    Frame frame;
    frame.role = *role;
    frame.isObject = isObject;
    stack_.push_back(std::move(frame));
    return true;
  }

  bool close(char bracket) {
    Frame top = std::move(stack_.back());
    stack_.pop_back();
    std::string& o = out();
    if (top.role == Role::Meta && !top.sawApiVersion) {
      if (!top.first) o.push_back(',');
      o.append("\"api-version\":\"1.0\"");
    }
    if (top.role == Role::Root && !sawMeta_) {
      if (!top.first) o.push_back(',');
      o.append("\"meta\":{\"api-version\":\"1.0\"}");
    }
    o.push_back(bracket);
    if (top.role == Role::Entry) {
      inEntry_ = false;
      if (bracket == '}' && entryHasName_ && isValidProjectName(entryName_)) {
        Frame& projects = stack_.back();
        if (!projects.first) json.push_back(',');
        projects.first = false;
        json.append(entry_);
        links.append("    <a href=\"");
        links.append(normalizeProject(entryName_));  // [a-z0-9-] only: nothing to escape
        links.append("/\">");
        appendEscaped(links, entryName_);
        links.append("</a>\n");
      }
    }
    return true;
  }

  std::vector<Frame> stack_;
  bool inEntry_ = false;
  bool sawMeta_ = false;
  std::string entry_, entryName_;
  bool entryHasName_ = false;
};

}  // namespace

std::string resolveUrl(std::string_view base, std::string_view ref) {
  UrlParts r = splitUrl(ref);
  if (r.hasScheme) return composeUrl(r, removeDotSegments(r.path), r.query, r.hasQuery);
  UrlParts b = splitUrl(base);
  UrlParts t = b;
  if (r.hasAuthority) {
    t.authority = r.authority;
    t.hasAuthority = true;
    return composeUrl(t, removeDotSegments(r.path), r.query, r.hasQuery);
  }
  if (r.path.empty()) {
    return composeUrl(t, b.path, r.hasQuery ? r.query : b.query, r.hasQuery || b.hasQuery);
  }
  if (r.path.front() == '/') return composeUrl(t, removeDotSegments(r.path), r.query, r.hasQuery);
  // RFC 3986 section 5.2.3 merge.
  std::string merged;
  if (b.hasAuthority && b.path.empty()) {
    merged = "/";
  } else if (auto slash = b.path.rfind('/'); slash != std::string_view::npos) {
    merged = std::string(b.path.substr(0, slash + 1));
  }
  merged.append(r.path);
  return composeUrl(t, removeDotSegments(merged), r.query, r.hasQuery);
}

std::expected<RenderedProjectPage, std::string> renderProjectPage(std::string_view upstreamJson,
                                                                  std::string_view pageUrl,
                                                                  std::string_view project) {
  auto doc = Json::parse(upstreamJson, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return std::unexpected("project page is not JSON");
  RenderedProjectPage out;
  if (auto error = renderDocument(std::move(doc), pageUrl, project, out); !error.empty()) {
    return std::unexpected(std::move(error));
  }
  return out;
}

std::expected<RenderedProjectPage, std::string> parseSimpleHtml(std::string_view upstreamHtml,
                                                                std::string_view pageUrl,
                                                                std::string_view project) {
  std::string base(pageUrl);
  std::string apiVersion = "1.0";
  Json files = Json::array();
  std::size_t i = 0;
  while ((i = upstreamHtml.find('<', i)) != std::string_view::npos) {
    std::string_view at = upstreamHtml.substr(i);
    if (at.starts_with("<!--")) {
      auto close = upstreamHtml.find("-->", i + 4);
      if (close == std::string_view::npos) break;
      i = close + 3;
      continue;
    }
    Tag tag = readTag(upstreamHtml, i);
    i = std::max(tag.end, i + 1);
    if (tag.name == "base") {
      if (const auto* href = tag.attr("href"); href && !href->empty()) {
        base = resolveUrl(pageUrl, *href);
      }
    } else if (tag.name == "meta") {
      const auto* name = tag.attr("name");
      const auto* content = tag.attr("content");
      if (name && content && *name == "pypi:repository-version") apiVersion = *content;
    } else if (tag.name == "a") {
      // The text runs to the next tag (normally "</a>"); looking further for
      // the closing tag would make a page of unclosed anchors quadratic.
      std::size_t textEnd = std::min(upstreamHtml.find('<', i), upstreamHtml.size());
      Json f = fileFromAnchor(tag, upstreamHtml.substr(i, textEnd - i), base);
      if (!f.is_null()) files.push_back(std::move(f));
    }
  }
  Json doc = Json::object();
  doc["meta"] = {{"api-version", apiVersion}};
  doc["name"] = project;
  doc["files"] = std::move(files);
  RenderedProjectPage out;
  if (auto error = renderDocument(std::move(doc), pageUrl, project, out); !error.empty()) {
    return std::unexpected(std::move(error));
  }
  return out;
}

std::expected<RenderedProjectList, std::string> renderProjectList(std::string_view upstreamJson) {
  ProjectListWriter writer(upstreamJson.size());
  bool parsed = Json::sax_parse(upstreamJson, &writer);
  if (!writer.error.empty()) return std::unexpected(writer.error);
  if (!parsed) return std::unexpected("project list is not JSON");
  if (!writer.sawProjects) return std::unexpected("project list has no projects array");
  if (!isSupportedApiVersion(writer.apiVersion)) {
    return std::unexpected("unsupported api-version " + writer.apiVersion);
  }
  RenderedProjectList out;
  out.json = std::move(writer.json);
  // The head needs the api-version, which may come after the projects: put
  // it in front of the links in place rather than copying tens of MB.
  std::string head;
  appendHead(head, writer.apiVersion, "Simple index");
  out.html = std::move(writer.links);
  out.html.insert(0, head);
  out.html.append(kTail);
  return out;
}

}  // namespace hoard::pypi
