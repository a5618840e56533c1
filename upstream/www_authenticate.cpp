#include "upstream/www_authenticate.h"

namespace hoard {

namespace {

bool isTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  void skipSpace() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  // Skips whitespace and commas (empty list elements are allowed).
  void skipSeparators() {
    while (!done() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == ',')) ++i_;
  }
  std::string_view token() {
    size_t start = i_;
    while (!done() && isTchar(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
  std::string_view token68() {
    size_t start = i_;
    while (!done() && (isTchar(s_[i_]) || s_[i_] == '/')) ++i_;
    while (!done() && s_[i_] == '=') ++i_;
    return s_.substr(start, i_ - start);
  }
  // At '"': reads the quoted string, unescaping; an unterminated string ends
  // at the end of input.
  std::string quoted() {
    std::string out;
    ++i_;
    while (!done()) {
      char c = s_[i_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (done()) break;  // a dangling escape escapes nothing
        c = s_[i_++];
      }
      out.push_back(c);
    }
    return out;
  }
  bool consume(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  size_t pos() const { return i_; }
  void reset(size_t p) { i_ = p; }
  // Skips to the next comma (error recovery).
  void skipPastJunk() {
    while (!done() && s_[i_] != ',') ++i_;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::optional<std::string_view> AuthChallenge::param(std::string_view lowercaseName) const {
  for (const auto& [k, v] : params) {
    if (k == lowercaseName) return std::string_view(v);
  }
  return std::nullopt;
}

std::vector<AuthChallenge> parseWwwAuthenticate(std::string_view headerValue) {
  std::vector<AuthChallenge> out;
  Cursor c(headerValue);
  for (;;) {
    c.skipSeparators();
    if (c.done()) break;
    auto scheme = c.token();
    if (scheme.empty()) {
      c.skipPastJunk();
      if (!c.done()) c.consume(',');
      continue;
    }
    AuthChallenge ch;
    ch.scheme = lowercase(scheme);
    // Parameters: name=value pairs separated by commas, until a token that is
    // not followed by '=' (that is the next challenge's scheme).
    c.skipSpace();
    // token68 form: scheme SP token68 (not followed by '=' + value).
    {
      size_t save = c.pos();
      auto t68 = c.token68();
      c.skipSpace();
      bool isParam = false;
      if (!t68.empty() && t68.back() != '=') {
        // "name" followed by optional space and '=' is a parameter.
        isParam = c.peek() == '=';
      }
      if (!t68.empty() && !isParam && (c.done() || c.peek() == ',')) {
        ch.token68 = std::string(t68);
        out.push_back(std::move(ch));
        continue;
      }
      c.reset(save);
    }
    for (;;) {
      c.skipSeparators();
      if (c.done()) break;
      size_t nameStart = c.pos();
      auto name = c.token();
      if (name.empty()) {
        c.skipPastJunk();
        continue;
      }
      c.skipSpace();
      if (!c.consume('=')) {
        // Next challenge begins at this token.
        c.reset(nameStart);
        break;
      }
      c.skipSpace();
      std::string value;
      if (c.peek() == '"') {
        value = c.quoted();
      } else {
        value = std::string(c.token());
      }
      ch.params.emplace_back(lowercase(name), std::move(value));
      c.skipSpace();
      if (!c.done() && c.peek() != ',') c.skipPastJunk();
    }
    out.push_back(std::move(ch));
  }
  return out;
}

}  // namespace hoard
