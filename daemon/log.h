#pragma once
// Operational messages (startup, degraded modes, shutdown): JSON lines on
// stderr. These are rare; request lines go through AccessLog instead.
#include <string_view>

namespace hoard {

enum class LogLevel { Debug, Info, Warn, Error };
void setLogLevel(LogLevel level);
// The config's log.level (trace and debug are one level; unknown: info).
void applyLogLevel(std::string_view configLevel);
void logMessage(LogLevel level, std::string_view message);
inline void logInfo(std::string_view m) {
  logMessage(LogLevel::Info, m);
}
inline void logWarn(std::string_view m) {
  logMessage(LogLevel::Warn, m);
}
inline void logError(std::string_view m) {
  logMessage(LogLevel::Error, m);
}

}  // namespace hoard
