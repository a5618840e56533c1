#include "daemon/pypi/accept.h"

#include <array>
#include <string>

namespace hoard::pypi {

namespace {

constexpr std::string_view kJson = "application/vnd.pypi.simple.v1+json";
constexpr std::string_view kHtml = "application/vnd.pypi.simple.v1+html";
constexpr std::string_view kLegacy = "text/html";
constexpr std::string_view kLatestJson = "application/vnd.pypi.simple.latest+json";
constexpr std::string_view kLatestHtml = "application/vnd.pypi.simple.latest+html";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// RFC 9110 qvalue, leniently ("1", "0.5", ".5", "1.000"), in thousandths;
// -1 when it is not a number in [0, 1].
int parseQ(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty()) return -1;
  int whole = 0;
  std::size_t i = 0;
  bool digits = false;
  while (i < v.size() && v[i] >= '0' && v[i] <= '9') {
    if (whole > 1) return -1;
    whole = whole * 10 + (v[i] - '0');
    ++i;
    digits = true;
  }
  int frac = 0;
  int scale = 100;
  if (i < v.size() && v[i] == '.') {
    ++i;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') {
      frac += (v[i] - '0') * scale;
      scale /= 10;
      ++i;
      digits = true;
    }
  }
  if (!digits || i != v.size()) return -1;
  int q = whole * 1000 + frac;
  return q > 1000 ? -1 : q;
}

struct Match {
  int q = -1;            // -1: no range matched this format
  int specificity = -1;  // 2 exact, 1 type/*, 0 */*
};

void consider(Match& m, int q, int specificity) {
  // The most specific range decides; equally specific duplicates: the
  // higher q (the header's order means nothing).
  if (specificity > m.specificity || (specificity == m.specificity && q > m.q)) {
    m.q = q;
    m.specificity = specificity;
  }
}

}  // namespace

std::optional<SimpleFormat> negotiateSimpleFormat(std::string_view accept) {
  constexpr std::array<SimpleFormat, 3> kFormats = {SimpleFormat::Json, SimpleFormat::Html,
                                                    SimpleFormat::LegacyHtml};
  std::array<Match, 3> matches;
  bool sawRange = false;
  bool sawAnything = false;

  std::size_t pos = 0;
  while (pos <= accept.size()) {
    auto comma = accept.find(',', pos);
    auto item = trim(
        accept.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    pos = comma == std::string_view::npos ? accept.size() + 1 : comma + 1;
    if (item.empty()) continue;
    sawAnything = true;

    auto semi = item.find(';');
    std::string range = lowered(trim(item.substr(0, semi)));
    int q = 1000;
    bool badParam = false;
    while (semi != std::string_view::npos) {
      auto next = item.find(';', semi + 1);
      auto param = trim(item.substr(
          semi + 1, next == std::string_view::npos ? std::string_view::npos : next - semi - 1));
      semi = next;
      auto eq = param.find('=');
      if (eq == std::string_view::npos) continue;
      if (lowered(trim(param.substr(0, eq))) != "q") continue;
      q = parseQ(param.substr(eq + 1));
      if (q < 0) badParam = true;
      break;  // what follows q are accept extensions
    }
    if (badParam) continue;

    auto slash = range.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == range.size()) continue;
    std::string_view type = std::string_view(range).substr(0, slash);
    std::string_view subtype = std::string_view(range).substr(slash + 1);
    if (type == "*" && subtype != "*") continue;
    sawRange = true;

    if (range == "*/*") {
      for (auto& m : matches) consider(m, q, 0);
    } else if (subtype == "*") {
      if (type == "application") {
        consider(matches[0], q, 1);
        consider(matches[1], q, 1);
      } else if (type == "text") {
        consider(matches[2], q, 1);
      }
    } else if (range == kJson || range == kLatestJson) {
      consider(matches[0], q, 2);
    } else if (range == kHtml || range == kLatestHtml) {
      consider(matches[1], q, 2);
    } else if (range == kLegacy) {
      consider(matches[2], q, 2);
    }
  }
  // No Accept header (or nothing in it) means */*: PEP 503 clients predate
  // content negotiation.
  if (!sawAnything) return SimpleFormat::LegacyHtml;
  if (!sawRange) return std::nullopt;

  auto preference = [](SimpleFormat f, int specificity) {
    if (specificity == 2) {
      return f == SimpleFormat::Json ? 3 : f == SimpleFormat::Html ? 2 : 1;
    }
    return f == SimpleFormat::LegacyHtml ? 3 : f == SimpleFormat::Json ? 2 : 1;
  };
  std::optional<SimpleFormat> best;
  Match bestMatch;
  int bestPref = 0;
  for (std::size_t i = 0; i < kFormats.size(); ++i) {
    const Match& m = matches[i];
    if (m.q <= 0) continue;
    int pref = preference(kFormats[i], m.specificity);
    if (!best || m.q > bestMatch.q ||
        (m.q == bestMatch.q && (m.specificity > bestMatch.specificity ||
                                (m.specificity == bestMatch.specificity && pref > bestPref)))) {
      best = kFormats[i];
      bestMatch = m;
      bestPref = pref;
    }
  }
  return best;
}

std::string_view contentTypeOf(SimpleFormat format) {
  switch (format) {
    case SimpleFormat::Json:
      return kJson;
    case SimpleFormat::Html:
      return kHtml;
    case SimpleFormat::LegacyHtml:
      return kLegacy;
  }
  return kLegacy;
}

}  // namespace hoard::pypi
