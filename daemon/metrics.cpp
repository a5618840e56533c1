#include "daemon/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hoard {

namespace {

std::string_view familyOf(std::string_view series) {
  return series.substr(0, series.find('{'));
}

// The labels inside the braces ("" when there are none).
std::string_view labelsOf(std::string_view series) {
  auto open = series.find('{');
  if (open == std::string_view::npos) return {};
  auto inner = series.substr(open + 1);
  if (!inner.empty() && inner.back() == '}') inner.remove_suffix(1);
  return inner;
}

std::string formatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void header(std::string& out, std::string_view family, const char* type) {
  auto help = metricHelp(family);
  out += "# HELP ";
  out += family;
  out += ' ';
  out += help.empty() ? std::string_view("hoard metric") : help;
  out += "\n# TYPE ";
  out += family;
  out += ' ';
  out += type;
  out += '\n';
}

// Renders samples grouped by family; `samples` is sorted by series, so each
// family's samples are contiguous (the family name ends at '{').
template <typename Map, typename ValueOf>
void renderFamilies(std::string& out, const Map& samples, const char* type, ValueOf valueOf) {
  std::string_view last;
  for (const auto& [series, value] : samples) {
    auto family = familyOf(series);
    if (family != last) {
      header(out, family, type);
      last = family;
    }
    out += series;
    out += ' ';
    out += valueOf(value);
    out += '\n';
  }
}

}  // namespace

void Metrics::observe(const std::string& series, double seconds) {
  auto& h = histograms_[series];
  auto it = std::lower_bound(kBuckets.begin(), kBuckets.end(), seconds);
  if (it != kBuckets.end()) ++h.counts[static_cast<std::size_t>(it - kBuckets.begin())];
  ++h.count;
  h.sum += seconds;
}

std::uint64_t Metrics::observations(const std::string& series) const {
  auto it = histograms_.find(series);
  return it == histograms_.end() ? 0 : it->second.count;
}

std::string Metrics::render() const {
  std::string out;
  std::map<std::string, double> counters(counters_.begin(), counters_.end());
  for (const auto& [series, reader] : counterReaders_) counters[series] = reader();
  renderFamilies(out, counters, "counter", [](double v) { return formatValue(v); });

  std::map<std::string, double> gauges = gauges_;
  for (const auto& [series, reader] : readers_) gauges[series] = reader();
  renderFamilies(out, gauges, "gauge", [](double v) { return formatValue(v); });

  std::string_view last;
  for (const auto& [series, h] : histograms_) {
    auto family = familyOf(series);
    if (family != last) {
      header(out, family, "histogram");
      last = family;
    }
    auto labels = labelsOf(series);
    const std::string prefix = labels.empty() ? "" : std::string(labels) + ",";
    const std::string suffix = labels.empty() ? "" : "{" + std::string(labels) + "}";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      cumulative += h.counts[i];
      out += std::string(family) + "_bucket{" + prefix + "le=\"" + formatValue(kBuckets[i]) +
             "\"} " + std::to_string(cumulative) + "\n";
    }
    out += std::string(family) + "_bucket{" + prefix + "le=\"+Inf\"} " + std::to_string(h.count) +
           "\n";
    out += std::string(family) + "_sum" + suffix + " " + formatValue(h.sum) + "\n";
    out += std::string(family) + "_count" + suffix + " " + std::to_string(h.count) + "\n";
  }
  return out;
}

}  // namespace hoard
