#include "conf/env_expand.h"

#include <cstdlib>

namespace hoard::conf {

namespace {

bool isNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool isNameChar(char c) {
  return isNameStart(c) || (c >= '0' && c <= '9');
}

}  // namespace

EnvLookup processEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

std::expected<std::string, std::string> expandEnv(std::string_view text, const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$' || i + 1 == text.size()) {
      out += c;
      ++i;
      continue;
    }
    char next = text[i + 1];
    if (next == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next != '{') {
      out += c;
      ++i;
      continue;
    }
    // ${NAME} or ${NAME:-default}
    std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      return std::unexpected("unterminated '${' in '" + std::string(text) + "'");
    }
    std::string_view body = text.substr(i + 2, close - (i + 2));
    std::string_view name = body;
    std::optional<std::string_view> fallback;
    if (auto sep = body.find(":-"); sep != std::string_view::npos) {
      name = body.substr(0, sep);
      fallback = body.substr(sep + 2);
    }
    bool validName = !name.empty() && isNameStart(name.front());
    for (char n : name) validName = validName && isNameChar(n);
    if (!validName) {
      return std::unexpected("invalid variable reference '${" + std::string(body) +
                             "}' (expected ${NAME} or ${NAME:-default})");
    }
    std::optional<std::string> value = env(std::string(name));
    if (fallback && (!value || value->empty())) {
      out += *fallback;
    } else if (value) {
      out += *value;
    } else {
      return std::unexpected("environment variable '" + std::string(name) + "' is not set (use ${" +
                             std::string(name) + ":-default} to allow that)");
    }
    i = close + 1;
  }
  return out;
}

}  // namespace hoard::conf
