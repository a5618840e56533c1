#include "daemon/metrics.h"

namespace hoard {

std::string Metrics::render() const {
  std::string out;
  std::string lastFamily;
  for (const auto& [name, value] : counters_) {
    auto family = name.substr(0, name.find('{'));
    if (family != lastFamily) {
      out += "# TYPE " + family + " counter\n";
      lastFamily = family;
    }
    out += name + " " + std::to_string(value) + "\n";
  }
  return out;
}

}  // namespace hoard
