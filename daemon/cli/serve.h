#pragma once
#include <string>

namespace hoard::cli {

struct ServeOptions {
  std::string configPath;  // "" = built-in defaults
  std::string readyFile;   // if set, the bound address is written here once listening
};

// Runs the daemon until SIGTERM/SIGINT; returns the process exit code.
int serve(const ServeOptions& options);

}  // namespace hoard::cli
