#include "daemon/log.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace hoard {

namespace {
LogLevel gLevel = LogLevel::Info;
const char* levelName(LogLevel l) {
  switch (l) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}
}  // namespace

void setLogLevel(LogLevel level) {
  gLevel = level;
}

void logMessage(LogLevel level, std::string_view message) {
  if (level < gLevel) return;
  nlohmann::json j;
  j["level"] = levelName(level);
  j["msg"] = std::string(message);
  auto line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void applyLogLevel(std::string_view configLevel) {
  if (configLevel == "debug" || configLevel == "trace") {
    setLogLevel(LogLevel::Debug);
  } else if (configLevel == "warn") {
    setLogLevel(LogLevel::Warn);
  } else if (configLevel == "error") {
    setLogLevel(LogLevel::Error);
  } else {
    setLogLevel(LogLevel::Info);
  }
}

}  // namespace hoard
