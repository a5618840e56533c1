#include "daemon/cli/warm_pep440.h"

#include <algorithm>
#include <cctype>

namespace hoard::cli::pep440 {

namespace {

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isSep(char c) {
  return c == '.' || c == '-' || c == '_';
}

// A cursor over the lower-cased text.
struct Scanner {
  std::string s;
  std::size_t pos = 0;

  bool done() const { return pos >= s.size(); }
  char peek(std::size_t ahead = 0) const { return pos + ahead < s.size() ? s[pos + ahead] : '\0'; }
  std::optional<unsigned long long> number() {
    std::size_t start = pos;
    unsigned long long n = 0;
    while (!done() && isDigit(s[pos])) {
      if (pos - start >= 18) return std::nullopt;
      n = n * 10 + static_cast<unsigned long long>(s[pos] - '0');
      ++pos;
    }
    if (pos == start) return std::nullopt;
    return n;
  }
  // Consumes an optional separator followed by one of `words`; returns the
  // index of the word, or -1 (nothing consumed).
  int word(std::initializer_list<std::string_view> words, bool allowSep = true) {
    std::size_t at = pos;
    if (allowSep && isSep(peek())) ++at;
    int i = 0;
    for (auto w : words) {
      if (std::string_view(s).substr(at, w.size()) == w) {
        pos = at + w.size();
        return i;
      }
      ++i;
    }
    return -1;
  }
  // [sep] digits, defaulting to 0 when absent.
  unsigned long long optionalNumber() {
    std::size_t save = pos;
    if (isSep(peek()) && isDigit(peek(1))) ++pos;
    if (auto n = number()) return *n;
    pos = save;
    return 0;
  }
};

int cmp(unsigned long long a, unsigned long long b) {
  return a < b ? -1 : (a > b ? 1 : 0);
}

int compareRelease(const std::vector<unsigned long long>& a,
                   const std::vector<unsigned long long>& b) {
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    auto x = i < a.size() ? a[i] : 0;
    auto y = i < b.size() ? b[i] : 0;
    if (int c = cmp(x, y); c != 0) return c;
  }
  return 0;
}

bool allDigits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), isDigit);
}

// Local segments: numeric ones compare as numbers and sort after alphanumeric ones.
int compareLocal(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    bool na = allDigits(a[i]), nb = allDigits(b[i]);
    if (na && nb) {
      auto x = a[i].substr(std::min(a[i].find_first_not_of('0'), a[i].size()));
      auto y = b[i].substr(std::min(b[i].find_first_not_of('0'), b[i].size()));
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      if (int c = x.compare(y); c != 0) return c < 0 ? -1 : 1;
    } else if (na != nb) {
      return na ? 1 : -1;
    } else if (int c = a[i].compare(b[i]); c != 0) {
      return c < 0 ? -1 : 1;
    }
  }
  return cmp(a.size(), b.size());
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

int Version::comparePublic(const Version& o) const {
  if (int c = cmp(epoch, o.epoch); c != 0) return c;
  if (int c = compareRelease(release, o.release); c != 0) return c;
  // Pre-release key: a dev release of a final sorts before its pre-releases.
  auto preKey = [](const Version& v) -> std::pair<int, unsigned long long> {
    if (v.preKind < 0 && !v.post && v.dev) return {-2, 0};
    if (v.preKind < 0) return {3, 0};
    return {v.preKind, v.preNumber};
  };
  auto pa = preKey(*this), pb = preKey(o);
  if (pa.first != pb.first) return pa.first < pb.first ? -1 : 1;
  if (int c = cmp(pa.second, pb.second); c != 0) return c;
  if (post.has_value() != o.post.has_value()) return post ? 1 : -1;
  if (post) {
    if (int c = cmp(*post, *o.post); c != 0) return c;
  }
  if (dev.has_value() != o.dev.has_value()) return dev ? -1 : 1;
  if (dev) return cmp(*dev, *o.dev);
  return 0;
}

int Version::compare(const Version& o) const {
  if (int c = comparePublic(o); c != 0) return c;
  return compareLocal(local, o.local);
}

std::optional<Version> parseVersion(std::string_view text) {
  Scanner sc;
  sc.s = trim(text);
  std::transform(sc.s.begin(), sc.s.end(), sc.s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (sc.peek() == 'v') ++sc.pos;
  Version v;
  auto first = sc.number();
  if (!first) return std::nullopt;
  if (sc.peek() == '!') {
    ++sc.pos;
    v.epoch = *first;
    first = sc.number();
    if (!first) return std::nullopt;
  }
  v.release.push_back(*first);
  while (sc.peek() == '.' && isDigit(sc.peek(1))) {
    ++sc.pos;
    auto n = sc.number();
    if (!n) return std::nullopt;
    v.release.push_back(*n);
  }
  static constexpr int kPreKinds[] = {0, 0, 1, 1, 2, 2, 2, 2};
  if (int w = sc.word({"alpha", "a", "beta", "b", "preview", "pre", "rc", "c"}); w >= 0) {
    v.preKind = kPreKinds[w];
    v.preNumber = sc.optionalNumber();
  }
  if (sc.peek() == '-' && isDigit(sc.peek(1))) {  // "1.0-1" is an implicit post-release
    ++sc.pos;
    v.post = sc.number();
  } else if (sc.word({"post", "rev", "r"}) >= 0) {
    v.post = sc.optionalNumber();
  }
  if (sc.word({"dev"}) >= 0) v.dev = sc.optionalNumber();
  if (sc.peek() == '+') {
    ++sc.pos;
    std::string seg;
    while (!sc.done()) {
      char c = sc.s[sc.pos++];
      if (isSep(c)) {
        if (seg.empty()) return std::nullopt;
        v.local.push_back(std::move(seg));
        seg.clear();
      } else if (std::isalnum(static_cast<unsigned char>(c))) {
        seg += c;
      } else {
        return std::nullopt;
      }
    }
    if (seg.empty()) return std::nullopt;
    v.local.push_back(std::move(seg));
  }
  if (!sc.done()) return std::nullopt;
  return v;
}

std::optional<Specifier> parseSpecifier(std::string_view raw) {
  auto text = trim(raw);
  static const std::pair<std::string_view, Specifier::Op> kOps[] = {
      {"===", Specifier::Op::Arbitrary}, {"~=", Specifier::Op::Compatible},
      {"==", Specifier::Op::Equal},      {"!=", Specifier::Op::NotEqual},
      {"<=", Specifier::Op::LessEqual},  {">=", Specifier::Op::GreaterEqual},
      {"<", Specifier::Op::Less},        {">", Specifier::Op::Greater}};
  Specifier spec;
  bool found = false;
  for (const auto& [token, op] : kOps) {
    if (text.starts_with(token)) {
      spec.op = op;
      spec.text = trim(std::string_view(text).substr(token.size()));
      found = true;
      break;
    }
  }
  if (!found || spec.text.empty()) return std::nullopt;
  if (spec.op == Specifier::Op::Arbitrary) return spec;
  std::string_view versionText = spec.text;
  if (versionText.ends_with(".*")) {
    if (spec.op != Specifier::Op::Equal && spec.op != Specifier::Op::NotEqual) return std::nullopt;
    spec.wildcard = true;
    versionText.remove_suffix(2);
  }
  auto v = parseVersion(versionText);
  if (!v) return std::nullopt;
  if (spec.wildcard && (v->isPrerelease() || v->post || !v->local.empty())) return std::nullopt;
  if (spec.op == Specifier::Op::Compatible && (v->release.size() < 2 || !v->local.empty())) {
    return std::nullopt;
  }
  spec.version = std::move(*v);
  return spec;
}

bool Specifier::matches(const Version& v, std::string_view vText) const {
  auto prefixMatch = [&](const std::vector<unsigned long long>& prefix) {
    if (v.epoch != version.epoch) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      if ((i < v.release.size() ? v.release[i] : 0) != prefix[i]) return false;
    }
    return true;
  };
  auto equal = [&] {
    if (wildcard) return prefixMatch(version.release);
    // A specifier without a local label ignores the candidate's.
    if (version.local.empty()) return v.comparePublic(version) == 0;
    return v.compare(version) == 0;
  };
  auto sameBase = [&] {
    return v.epoch == version.epoch && compareRelease(v.release, version.release) == 0;
  };
  switch (op) {
    case Op::Equal:
      return equal();
    case Op::NotEqual:
      return !equal();
    case Op::LessEqual:
      return v.comparePublic(version) <= 0;
    case Op::GreaterEqual:
      return v.comparePublic(version) >= 0;
    case Op::Less:
      if (v.comparePublic(version) >= 0) return false;
      return version.isPrerelease() || !v.isPrerelease() || !sameBase();
    case Op::Greater:
      if (v.comparePublic(version) <= 0) return false;
      if (v.post && !version.post && sameBase()) return false;
      return true;
    case Op::Compatible: {
      if (v.comparePublic(version) < 0) return false;
      std::vector<unsigned long long> prefix(version.release.begin(), version.release.end() - 1);
      return prefixMatch(prefix);
    }
    case Op::Arbitrary: {
      auto a = trim(vText), b = text;
      return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
             });
    }
  }
  return false;
}

std::optional<std::string> pickVersion(const std::vector<Candidate>& candidates,
                                       const std::vector<Specifier>& specs, bool allowPre) {
  bool pinned =
      std::any_of(specs.begin(), specs.end(), [](const Specifier& s) { return s.pinsExactly(); });
  bool specAllowsPre = std::any_of(specs.begin(), specs.end(), [](const Specifier& s) {
    return s.op != Specifier::Op::NotEqual && s.op != Specifier::Op::Arbitrary &&
           s.version.isPrerelease();
  });
  struct Match {
    Version v;
    const Candidate* c;
  };
  std::vector<Match> finals, pres;
  for (const auto& c : candidates) {
    if (c.yanked && !pinned) continue;
    auto v = parseVersion(c.text);
    if (!v) continue;
    bool ok = std::all_of(specs.begin(), specs.end(),
                          [&](const Specifier& s) { return s.matches(*v, c.text); });
    if (!ok) continue;
    (v->isPrerelease() ? pres : finals).push_back({std::move(*v), &c});
  }
  std::vector<Match>* pool = &finals;
  if (allowPre || specAllowsPre || finals.empty()) {
    finals.insert(finals.end(), std::make_move_iterator(pres.begin()),
                  std::make_move_iterator(pres.end()));
  }
  if (pool->empty()) return std::nullopt;
  auto best = std::max_element(pool->begin(), pool->end(),
                               [](const Match& a, const Match& b) { return a.v.compare(b.v) < 0; });
  return best->c->text;
}

}  // namespace hoard::cli::pep440
