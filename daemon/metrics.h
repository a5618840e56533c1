#pragma once
// Process metrics, exposed at GET /metrics in the Prometheus text format
// (version 0.0.4): counters, gauges and histograms.
//
// Loop-thread only (no atomics needed): every update happens on the loop.
// A sample is named by its full series string, labels included:
//   add("hoard_upstream_errors_total{upstream=\"dockerhub\"}")
// Label values must come from bounded sets (config names, status classes,
// cache results), never from request data such as repository names.
//
// Every family has a HELP and TYPE line (promtool check metrics insists);
// help texts live in metrics_catalog.cpp next to the family names, so a new
// metric is one line there. A family missing from the catalog still renders,
// with a generic help text.
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hoard {

class Metrics {
 public:
  // Counter: monotonically increasing.
  void add(const std::string& series, std::uint64_t n = 1) { counters_[series] += n; }
  // Gauge: a value that goes up and down.
  void set(const std::string& series, double value) { gauges_[series] = value; }
  // Histogram in seconds (latencies), fixed buckets from 1 ms to 60 s.
  void observe(const std::string& series, double seconds);

  // Value of a counter series; 0 if never added.
  std::uint64_t get(const std::string& series) const {
    auto it = counters_.find(series);
    return it == counters_.end() ? 0 : it->second;
  }
  double gauge(const std::string& series) const {
    auto it = gauges_.find(series);
    return it == gauges_.end() ? 0 : it->second;
  }
  std::uint64_t observations(const std::string& series) const;

  // Gauges whose value is read when /metrics is scraped (store size, fills
  // in progress) rather than kept up to date on every change.
  using GaugeReader = std::function<double()>;
  void setGaugeReader(const std::string& series, GaugeReader reader) {
    readers_[series] = std::move(reader);
  }
  // The same for a counter kept elsewhere (it must never decrease).
  void setCounterReader(const std::string& series, GaugeReader reader) {
    counterReaders_[series] = std::move(reader);
  }

  std::string render() const;

  static constexpr std::array<double, 14> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25,  0.5,    1,     2.5,  5,     10,   60};

 private:
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> counts{};  // per bucket, not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };

  std::map<std::string, std::uint64_t> counters_;
  std::map<std::string, double> gauges_;
  std::map<std::string, GaugeReader> readers_;
  std::map<std::string, GaugeReader> counterReaders_;
  std::map<std::string, Histogram> histograms_;
};

// Help text of a metric family ("" if it is not in the catalog).
std::string_view metricHelp(std::string_view family);

}  // namespace hoard
