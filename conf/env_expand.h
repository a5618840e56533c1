#pragma once
// ${VAR} expansion for config scalar values, so secrets stay out of the file:
//   ${VAR}           value of VAR; an unset VAR is an error naming it
//   ${VAR:-default}  value of VAR, or `default` when VAR is unset or empty (shell semantics)
//   $$               a literal '$'
//   $x (any other)   left as is, so "pa$word" needs no escaping
// Expansion is single-pass: text coming out of a variable is never expanded again, so an
// environment value containing "${...}" cannot pull in other variables.
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace hoard::conf {

// Returns the value of an environment variable, nullopt when unset. Injected so tests and the
// loader do not depend on (or mutate) the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Looks up the real process environment (getenv).
EnvLookup processEnv();

// Error text names the problem, e.g. "environment variable 'TOKEN' is not set".
std::expected<std::string, std::string> expandEnv(std::string_view text, const EnvLookup& env);

}  // namespace hoard::conf
