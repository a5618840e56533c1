#include "daemon/policy/policy.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "cache/off_loop.h"
#include "daemon/log.h"

namespace hoard::policy {

namespace {

constexpr std::size_t kMaxListBytes = 16 * 1024 * 1024;
constexpr std::size_t kMaxPinnedDigests = 100'000;

std::expected<PatternList, std::string> readList(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(path + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return std::unexpected(path + ": read error");
  std::string s = text.str();
  if (s.size() > kMaxListBytes) return std::unexpected(path + ": larger than 16 MiB");
  auto list = PatternList::parse(s);
  if (!list) return std::unexpected(path + ": " + list.error());
  return list;
}

}  // namespace

Policy::Policy(uv_loop_t* loop, Metrics* metrics, Options options)
    : loop_(loop), metrics_(metrics), options_(std::move(options)) {}

Policy::~Policy() {
  close();
}

Policy::Loaded Policy::readLists(const std::string& denyPath, const std::string& allowPath) {
  Loaded out{denyPath.empty() ? std::expected<PatternList, std::string>(PatternList{})
                              : readList(denyPath),
             std::nullopt};
  if (!allowPath.empty()) out.allow = readList(allowPath);
  return out;
}

std::expected<void, std::string> Policy::start() {
  auto pins = PatternList::fromEntries(options_.pins);
  if (!pins) return std::unexpected("store.pin: " + pins.error());
  pins_ = std::move(*pins);
  auto loaded = readLists(options_.denyList, options_.allowList);
  if (!loaded.deny) return std::unexpected("policy.deny_list " + loaded.deny.error());
  if (loaded.allow && !*loaded.allow) {
    return std::unexpected("policy.allow_list " + loaded.allow->error());
  }
  apply(std::move(loaded), true);
  if (!options_.denyList.empty()) watch(options_.denyList);
  if (!options_.allowList.empty()) watch(options_.allowList);
  return {};
}

void Policy::watch(const std::string& path) {
  auto* poll = new uv_fs_poll_t;
  uv_fs_poll_init(loop_, poll);
  poll->data = this;
  // Any change of the file's stat (mtime, size, inode: an editor's rename,
  // a deletion) triggers a full reload; reading both lists is cheap.
  int r = uv_fs_poll_start(
      poll,
      [](uv_fs_poll_t* p, int, const uv_stat_t*, const uv_stat_t*) {
        static_cast<Policy*>(p->data)->reload();
      },
      path.c_str(), static_cast<unsigned>(options_.pollIntervalMs));
  if (r != 0) logWarn("policy: cannot watch " + path + ": " + uv_strerror(r));
  uv_unref(reinterpret_cast<uv_handle_t*>(poll));
  polls_.push_back(poll);
}

void Policy::reload(std::function<void()> done) {
  if (closed_ || !loop_) {
    if (done) done();
    return;
  }
  if (done) waiters_.push_back(std::move(done));
  if (reloading_.active()) {
    reloadAgain_ = true;
    return;
  }
  reloading_ = runOffLoop<Loaded>(
      loop_,
      [deny = options_.denyList, allow = options_.allowList] { return readLists(deny, allow); },
      [this](Loaded loaded) {
        reloading_.release();
        apply(std::move(loaded), false);
        if (std::exchange(reloadAgain_, false)) {
          reload();
          return;
        }
        auto waiters = std::exchange(waiters_, {});
        for (auto& w : waiters) w();
      });
}

void Policy::apply(Loaded loaded, bool initial) {
  bool ok = true;
  if (loaded.deny) {
    deny_ = std::make_shared<const PatternList>(std::move(*loaded.deny));
  } else {
    ok = false;
    logWarn("policy: keeping the previous deny-list (" + std::to_string(denyCount()) +
            " entries): " + loaded.deny.error());
  }
  if (loaded.allow) {
    if (*loaded.allow) {
      allow_ = std::make_shared<const PatternList>(std::move(**loaded.allow));
    } else {
      ok = false;
      logWarn("policy: keeping the previous allow-list: " + loaded.allow->error());
    }
  } else if (options_.allowList.empty()) {
    allow_.reset();  // also when a read begun before a reconfigure brought the old list back
  }
  if (!ok) {
    if (metrics_) metrics_->add("hoard_policy_reload_errors_total");
    return;
  }
  ++generation_;
  if (metrics_ && !initial) metrics_->add("hoard_policy_reloads_total");
  std::string msg = "policy: " + std::to_string(denyCount()) + " deny entries";
  if (allow_) msg += ", " + std::to_string(allow_->size()) + " allow entries";
  if (!initial) msg += " (reloaded)";
  if (!options_.denyList.empty() || allow_) logInfo(msg);
}

std::expected<void, std::string> Policy::reconfigure(Options options, std::function<void()> done) {
  if (closed_ || !loop_) {
    if (done) done();
    return {};
  }
  auto pins = PatternList::fromEntries(options.pins);
  if (!pins) return std::unexpected("store.pin: " + pins.error());  // `done` is not called
  pins_ = std::move(*pins);
  const bool pathsChanged =
      options.denyList != options_.denyList || options.allowList != options_.allowList;
  if (options.allowList.empty()) allow_.reset();
  options.pollIntervalMs = options_.pollIntervalMs;
  options_ = std::move(options);
  if (pathsChanged) {
    unwatchAll();
    if (!options_.denyList.empty()) watch(options_.denyList);
    if (!options_.allowList.empty()) watch(options_.allowList);
  }
  // A read already running has the old paths: reload() then runs once more.
  reload(std::move(done));
  return {};
}

void Policy::unwatchAll() {
  for (auto* poll : polls_) {
    uv_fs_poll_stop(poll);
    uv_close(reinterpret_cast<uv_handle_t*>(poll),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_fs_poll_t*>(h); });
  }
  polls_.clear();
}

void Policy::close() {
  if (closed_) return;
  closed_ = true;
  reloading_.cancel();
  waiters_.clear();
  unwatchAll();
}

const Pattern* Policy::denied(const Subject& s) const {
  return deny_ ? deny_->match(s) : nullptr;
}

bool Policy::allowed(const Subject& s) const {
  return !allow_ || allow_->admit(s) != nullptr;
}

bool Policy::pinned(const Subject& s) const {
  if (pins_.match(s)) return true;
  return !s.digest.empty() && pinnedDigest(s.digest);
}

bool Policy::pinnedDigest(const std::string& digest) const {
  return pinnedDigests_.contains(digest);
}

void Policy::notePinnedDigests(const std::vector<std::string>& digests) {
  for (const auto& d : digests) {
    if (pinnedDigests_.size() >= kMaxPinnedDigests) {
      if (!std::exchange(pinnedDigestsFull_, true)) {
        logWarn("policy: more than 100000 digests under pinned manifests; not tracking more");
      }
      return;
    }
    pinnedDigests_.insert(d);
  }
}

}  // namespace hoard::policy
