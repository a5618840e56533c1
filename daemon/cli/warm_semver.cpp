#include "daemon/cli/warm_semver.h"

#include <algorithm>
#include <cctype>

namespace hoard::cli::semver {

namespace {

bool allDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Numeric identifiers compare as numbers (without overflowing on long ones),
// numeric sorts before alphanumeric, the rest ASCII.
int compareIdentifier(const std::string& a, const std::string& b) {
  bool na = allDigits(a), nb = allDigits(b);
  if (na && nb) {
    auto ta = a.substr(std::min(a.find_first_not_of('0'), a.size()));
    auto tb = b.substr(std::min(b.find_first_not_of('0'), b.size()));
    if (ta.size() != tb.size()) return ta.size() < tb.size() ? -1 : 1;
    return ta.compare(tb) < 0 ? -1 : (ta == tb ? 0 : 1);
  }
  if (na != nb) return na ? -1 : 1;
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

std::optional<unsigned long long> parseNumber(std::string_view s) {
  if (!allDigits(s) || s.size() > 15) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;  // semver forbids leading zeros
  unsigned long long n = 0;
  for (char c : s) n = n * 10 + static_cast<unsigned long long>(c - '0');
  return n;
}

std::optional<std::vector<std::string>> parseIdentifiers(std::string_view s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    auto dot = s.find('.', pos);
    auto id = s.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (id.empty()) return std::nullopt;
    for (char c : id) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return std::nullopt;
    }
    out.emplace_back(id);
    if (dot == std::string_view::npos) return out;
    pos = dot + 1;
  }
}

// A possibly partial version as ranges write it: "1", "1.2", "1.x", "1.2.3-rc.1".
struct Partial {
  std::optional<unsigned long long> major, minor, patch;  // nullopt = x / missing
  std::vector<std::string> prerelease;
};

bool isWildcard(std::string_view s) {
  return s == "x" || s == "X" || s == "*";
}

std::optional<Partial> parsePartial(std::string_view s) {
  if (!s.empty() && (s[0] == 'v' || s[0] == '=')) s.remove_prefix(1);
  if (s.empty()) return Partial{};
  if (auto plus = s.find('+'); plus != std::string_view::npos) s = s.substr(0, plus);
  std::string_view pre;
  // The pre-release starts at the first '-' (numeric parts contain none).
  const auto dash = s.find('-');
  const bool hasPre = dash != std::string_view::npos;
  if (hasPre) {
    pre = s.substr(dash + 1);
    s = s.substr(0, dash);
  }
  Partial p;
  std::optional<unsigned long long>* slots[] = {&p.major, &p.minor, &p.patch};
  std::size_t pos = 0;
  int i = 0;
  bool wild = false;
  while (pos <= s.size()) {
    if (i == 3) return std::nullopt;
    auto dot = s.find('.', pos);
    auto part = s.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (isWildcard(part)) {
      wild = true;
    } else {
      auto n = parseNumber(part);
      if (!n || wild) return std::nullopt;  // "1.x.3" is not a range
      *slots[i] = *n;
    }
    ++i;
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  if (hasPre) {
    if (!p.patch) return std::nullopt;  // a pre-release needs a full version
    auto ids = parseIdentifiers(pre);
    if (!ids) return std::nullopt;
    p.prerelease = std::move(*ids);
  }
  return p;
}

Version make(unsigned long long ma, unsigned long long mi, unsigned long long pa,
             std::vector<std::string> pre = {}) {
  Version v;
  v.major = ma;
  v.minor = mi;
  v.patch = pa;
  v.prerelease = std::move(pre);
  return v;
}

// "<X-0": below every pre-release of X, which is how npm bounds ^ ~ and x-ranges.
Comparator below(unsigned long long ma, unsigned long long mi, unsigned long long pa) {
  return {Comparator::Op::Lt, make(ma, mi, pa, {"0"})};
}
Comparator atLeast(Version v) {
  return {Comparator::Op::Ge, std::move(v)};
}
Comparator any() {
  return {Comparator::Op::Any, {}};
}
Comparator never() {
  return below(0, 0, 0);
}

Version full(const Partial& p) {
  return make(p.major.value_or(0), p.minor.value_or(0), p.patch.value_or(0), p.prerelease);
}

// Desugars one operator + partial version into primitive comparators.
std::optional<std::vector<Comparator>> desugar(std::string_view op, const Partial& p) {
  using Op = Comparator::Op;
  const bool xM = !p.major, xm = !p.minor, xp = !p.patch;
  const auto M = p.major.value_or(0), m = p.minor.value_or(0);
  if (op.empty() || op == "=") {
    if (xM) return std::vector{any()};
    if (xm) return std::vector{atLeast(make(M, 0, 0)), below(M + 1, 0, 0)};
    if (xp) return std::vector{atLeast(make(M, m, 0)), below(M, m + 1, 0)};
    return std::vector{Comparator{Op::Eq, full(p)}};
  }
  if (op == ">") {
    if (xM) return std::vector{never()};
    if (xm) return std::vector{atLeast(make(M + 1, 0, 0))};
    if (xp) return std::vector{atLeast(make(M, m + 1, 0))};
    return std::vector{Comparator{Op::Gt, full(p)}};
  }
  if (op == ">=") {
    if (xM) return std::vector{any()};
    return std::vector{atLeast(full(p))};
  }
  if (op == "<") {
    if (xM) return std::vector{never()};
    if (xm) return std::vector{below(M, 0, 0)};
    if (xp) return std::vector{below(M, m, 0)};
    return std::vector{Comparator{Op::Lt, full(p)}};
  }
  if (op == "<=") {
    if (xM) return std::vector{any()};
    if (xm) return std::vector{below(M + 1, 0, 0)};
    if (xp) return std::vector{below(M, m + 1, 0)};
    return std::vector{Comparator{Op::Le, full(p)}};
  }
  if (op == "~" || op == "~>") {
    if (xM) return std::vector{any()};
    if (xm) return std::vector{atLeast(make(M, 0, 0)), below(M + 1, 0, 0)};
    return std::vector{atLeast(full(p)), below(M, m + 1, 0)};
  }
  if (op == "^") {
    if (xM) return std::vector{any()};
    if (xm) return std::vector{atLeast(make(M, 0, 0)), below(M + 1, 0, 0)};
    if (xp) {
      if (M == 0) return std::vector{atLeast(make(0, m, 0)), below(0, m + 1, 0)};
      return std::vector{atLeast(make(M, m, 0)), below(M + 1, 0, 0)};
    }
    if (M != 0) return std::vector{atLeast(full(p)), below(M + 1, 0, 0)};
    if (m != 0) return std::vector{atLeast(full(p)), below(0, m + 1, 0)};
    return std::vector{atLeast(full(p)), below(0, 0, *p.patch + 1)};
  }
  return std::nullopt;
}

std::optional<std::vector<Comparator>> parseHyphen(std::string_view lo, std::string_view hi) {
  auto a = parsePartial(lo);
  auto b = parsePartial(hi);
  if (!a || !b) return std::nullopt;
  std::vector<Comparator> out;
  if (a->major) out.push_back(atLeast(full(*a)));
  if (!b->major) {
    // no upper bound
  } else if (!b->minor) {
    out.push_back(below(*b->major + 1, 0, 0));
  } else if (!b->patch) {
    out.push_back(below(*b->major, *b->minor + 1, 0));
  } else {
    out.push_back({Comparator::Op::Le, full(*b)});
  }
  if (out.empty()) out.push_back(any());
  return out;
}

std::vector<std::string_view> splitWhitespace(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  while (pos < s.size()) {
    while (pos < s.size() && std::isspace(static_cast<unsigned char>(s[pos]))) ++pos;
    std::size_t end = pos;
    while (end < s.size() && !std::isspace(static_cast<unsigned char>(s[end]))) ++end;
    if (end > pos) out.push_back(s.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

std::string_view leadingOperator(std::string_view token) {
  for (std::string_view op : {"<=", ">=", "~>", "<", ">", "=", "~", "^"}) {
    if (token.starts_with(op)) return op;
  }
  return {};
}

std::optional<std::vector<Comparator>> parseSet(std::string_view text) {
  auto words = splitWhitespace(text);
  if (words.size() == 3 && words[1] == "-") return parseHyphen(words[0], words[2]);
  std::vector<Comparator> out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    std::string token(words[i]);
    auto op = leadingOperator(token);
    // ">= 1.2.3": the operator stands alone, the version is the next word.
    if (!op.empty() && token.size() == op.size()) {
      if (i + 1 == words.size()) return std::nullopt;
      token += words[++i];
    }
    auto partial = parsePartial(std::string_view(token).substr(op.size()));
    if (!partial) return std::nullopt;
    auto comps = desugar(op, *partial);
    if (!comps) return std::nullopt;
    out.insert(out.end(), comps->begin(), comps->end());
  }
  if (out.empty()) out.push_back(any());
  return out;
}

bool matches(const Comparator& c, const Version& v) {
  int cmp = v.compare(c.version);
  switch (c.op) {
    case Comparator::Op::Lt:
      return cmp < 0;
    case Comparator::Op::Le:
      return cmp <= 0;
    case Comparator::Op::Gt:
      return cmp > 0;
    case Comparator::Op::Ge:
      return cmp >= 0;
    case Comparator::Op::Eq:
      return cmp == 0;
    case Comparator::Op::Any:
      return true;
  }
  return false;
}

bool setSatisfies(const std::vector<Comparator>& set, const Version& v) {
  for (const auto& c : set) {
    if (!matches(c, v)) return false;
  }
  if (v.prerelease.empty()) return true;
  // A pre-release only matches when the range opted into that release line.
  for (const auto& c : set) {
    if (c.op == Comparator::Op::Any || c.version.prerelease.empty()) continue;
    if (c.version.major == v.major && c.version.minor == v.minor && c.version.patch == v.patch) {
      return true;
    }
  }
  return false;
}

}  // namespace

int Version::compare(const Version& o) const {
  if (major != o.major) return major < o.major ? -1 : 1;
  if (minor != o.minor) return minor < o.minor ? -1 : 1;
  if (patch != o.patch) return patch < o.patch ? -1 : 1;
  if (prerelease.empty() || o.prerelease.empty()) {
    if (prerelease.empty() == o.prerelease.empty()) return 0;
    return prerelease.empty() ? 1 : -1;  // 1.0.0-rc < 1.0.0
  }
  for (std::size_t i = 0; i < prerelease.size() && i < o.prerelease.size(); ++i) {
    if (int c = compareIdentifier(prerelease[i], o.prerelease[i]); c != 0) return c;
  }
  if (prerelease.size() == o.prerelease.size()) return 0;
  return prerelease.size() < o.prerelease.size() ? -1 : 1;
}

std::optional<Version> parseVersion(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  auto p = parsePartial(text);
  if (!p || !p->major || !p->minor || !p->patch) return std::nullopt;
  return full(*p);
}

std::optional<Range> Range::parse(std::string_view text) {
  Range r;
  std::size_t pos = 0;
  while (true) {
    auto bar = text.find("||", pos);
    auto part =
        text.substr(pos, bar == std::string_view::npos ? std::string_view::npos : bar - pos);
    auto set = parseSet(part);
    if (!set) return std::nullopt;
    r.sets_.push_back(std::move(*set));
    if (bar == std::string_view::npos) break;
    pos = bar + 2;
  }
  return r;
}

bool Range::satisfies(const Version& v) const {
  return std::any_of(sets_.begin(), sets_.end(),
                     [&](const std::vector<Comparator>& s) { return setSatisfies(s, v); });
}

std::optional<std::string> pickVersion(const std::vector<std::string>& versions,
                                       const std::map<std::string, std::string>& distTags,
                                       std::string_view spec) {
  auto range = Range::parse(spec);
  if (!range) {
    auto tag = distTags.find(std::string(spec));
    if (tag == distTags.end()) return std::nullopt;
    if (std::find(versions.begin(), versions.end(), tag->second) == versions.end()) {
      return std::nullopt;
    }
    return tag->second;
  }
  if (auto latest = distTags.find("latest"); latest != distTags.end()) {
    auto v = parseVersion(latest->second);
    if (v && range->satisfies(*v) &&
        std::find(versions.begin(), versions.end(), latest->second) != versions.end()) {
      return latest->second;
    }
  }
  std::optional<Version> best;
  std::string bestText;
  for (const auto& text : versions) {
    auto v = parseVersion(text);
    if (!v || !range->satisfies(*v)) continue;
    if (!best || *best < *v) {
      best = std::move(*v);
      bestText = text;
    }
  }
  if (!best) return std::nullopt;
  return bestText;
}

}  // namespace hoard::cli::semver
