#pragma once
// Process counters, exposed at GET /-/metrics in the Prometheus text format.
// Loop-thread only (no atomics needed): every increment happens on the loop.
#include <cstdint>
#include <map>
#include <string>

namespace hoard {

class Metrics {
 public:
  // `name` may carry labels: hoard_cache_requests_total{result="hit"}.
  void add(const std::string& name, std::uint64_t n = 1) { counters_[name] += n; }
  std::uint64_t get(const std::string& name) const {
    auto it = counters_.find(name);
    return it == counters_.end() ? 0 : it->second;
  }
  std::string render() const;

 private:
  std::map<std::string, std::uint64_t> counters_;
};

}  // namespace hoard
