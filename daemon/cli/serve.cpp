#include "daemon/cli/serve.h"

#include <uv.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>

#include "conf/defaults.h"
#include "conf/loader.h"
#include "daemon/app.h"
#include "daemon/log.h"

namespace hoard::cli {

namespace {

bool writeReadyFile(const std::string& path, const std::string& address) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << address << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

struct Signals {
  uv_signal_t term{};
  uv_signal_t intr{};
  uv_signal_t hup{};
};

}  // namespace

int serve(const ServeOptions& options) {
  // Sockets are written with write()/sendfile(): a client that went away must
  // produce EPIPE, not kill the daemon.
  std::signal(SIGPIPE, SIG_IGN);
  // Disk work (fills, sendfile of cached blobs, index) runs on libuv's pool;
  // the default of 4 threads would cap concurrent blob sends.
  setenv("UV_THREADPOOL_SIZE", "16", 0);

  auto config = options.configPath.empty()
                    ? std::expected<conf::Config, std::string>(conf::defaultConfig())
                    : conf::loadConfigFile(options.configPath);
  if (!config) {
    std::fprintf(stderr, "hoard: %s\n", config.error().c_str());
    return 2;
  }
  applyLogLevel(config->log.level);

  uv_loop_t loop;
  uv_loop_init(&loop);
  auto app = std::make_unique<App>(&loop, std::move(*config), std::make_shared<SystemClock>());
  if (auto r = app->start(); !r) {
    logError(r.error());
    return 1;
  }
  if (!options.readyFile.empty() && !writeReadyFile(options.readyFile, app->boundAddress())) {
    logError("cannot write ready file " + options.readyFile);
    return 1;
  }

  Signals signals;
  signals.term.data = app.get();
  signals.intr.data = app.get();
  auto onSignal = [](uv_signal_t* s, int) {
    auto* a = static_cast<App*>(s->data);
    uv_loop_t* l = s->loop;
    a->shutdown([l] {
      // Whatever is still open (a stuck client, an upstream mid-transfer) must
      // not keep the process alive past the graceful window.
      uv_stop(l);
    });
  };
  uv_signal_init(&loop, &signals.term);
  uv_signal_init(&loop, &signals.intr);
  uv_signal_start(&signals.term, onSignal, SIGTERM);
  uv_signal_start(&signals.intr, onSignal, SIGINT);
  // SIGHUP reloads (deny/allow-lists; see App::reload) without touching
  // connections. Unref'd: it never keeps a draining hoard alive.
  signals.hup.data = app.get();
  uv_signal_init(&loop, &signals.hup);
  uv_signal_start(
      &signals.hup, [](uv_signal_t* s, int) { static_cast<App*>(s->data)->reload(); }, SIGHUP);
  uv_unref(reinterpret_cast<uv_handle_t*>(&signals.hup));

  uv_run(&loop, UV_RUN_DEFAULT);
  logInfo("hoard stopped");
  // The process exits now; the OS reclaims what is left. Destroying the App
  // with handles still registered on a stopped loop would be unsafe.
  std::fflush(stderr);
  std::_Exit(0);
}

}  // namespace hoard::cli
