#pragma once
// GOPROXY request paths under the /go/ mount, validated before anything
// reaches a cache key or an upstream URL.
//   <module>/@v/list                         versions (mutable)
//   <module>/@v/<version>.info|.mod|.zip     a version's metadata, go.mod, zip
//   <module>/@latest                         the latest version (mutable)
//   sumdb/<host>/supported                   "this proxy serves that database"
//   sumdb/<host>/lookup/<module>@<version>   a checksum-database record
//   sumdb/<host>/latest                      the signed tree head (mutable)
//   sumdb/<host>/tile/<H>/<L>/<K>[.p/<W>]    tiles (full ones immutable)
//
// Module paths and versions travel case-encoded ("!" + lower-case for an
// upper-case letter, so paths are safe on case-insensitive file systems);
// the go command percent-encodes the "!" as %21. The path is URL-decoded
// first, then validated in its escaped form, and the ESCAPED form is what
// hoard sends upstream and keys its cache by.
#include <optional>
#include <string>
#include <string_view>

namespace hoard::go {

struct GoPath {
  enum class Kind {
    List,
    Info,
    Mod,
    Zip,
    Latest,
    SumdbSupported,
    SumdbLookup,
    SumdbLatest,
    SumdbTile
  };
  Kind kind = Kind::List;
  std::string module;             // escaped ("github.com/!burnt!sushi/toml")
  std::string modulePath;         // unescaped ("github.com/BurntSushi/toml")
  std::string version;            // escaped, for Info/Mod/Zip/SumdbLookup
  std::string sumdbHost;          // Sumdb*: "sum.golang.org"
  std::string sumdbRest;          // Sumdb*: what follows "sumdb/<host>/" (sent upstream as is)
  bool partialTile = false;       // SumdbTile with ".p/<W>": mutable until full
  bool canonicalVersion = false;  // Info/Mod/Zip/SumdbLookup: v<major>.<minor>.<patch>[...]
};

// `rest` is the path after "/go/", not yet percent-decoded, without query.
std::optional<GoPath> parseGoPath(std::string_view rest);

// module.CheckPath's rules on an unescaped module path.
bool isValidModulePath(std::string_view path);
// "!x" -> "X"; nullopt if `escaped` holds an upper-case letter or a bad "!".
std::optional<std::string> unescapeCase(std::string_view escaped);
// Semantic version as the go command writes canonical ones: v1.2.3,
// v1.2.3-pre.1, v0.0.0-20230101000000-abcdef123456, v2.0.0+incompatible.
bool isCanonicalVersion(std::string_view version);

}  // namespace hoard::go
