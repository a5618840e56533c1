#include "conf/describe.h"

#include "conf/units.h"

namespace hoard::conf {

std::string describeConfig(const Config& c) {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  line("config: " + (c.sourceFile.empty() ? std::string("built-in defaults") : c.sourceFile));
  line("listen: " + c.server.listen + " (max_connections " +
       std::to_string(c.server.maxConnections) + ", header_timeout " +
       formatDuration(c.server.headerTimeoutMs) + ", idle_timeout " +
       formatDuration(c.server.idleTimeoutMs) + ", max_header_bytes " +
       formatSize(c.server.maxHeaderBytes) + ")");
  line("store: " + c.store.path + " (max_size " +
       (c.store.maxSizeBytes == 0 ? std::string("unlimited") : formatSize(c.store.maxSizeBytes)) +
       ", watermarks " + std::to_string(c.store.lowWatermarkPercent) + "%-" +
       std::to_string(c.store.highWatermarkPercent) + "%, access_flush " +
       formatDuration(c.store.accessFlushMs) + ", metadata_retention " +
       (c.store.metadataRetentionMs == kForever ? std::string("forever")
                                                : formatDuration(c.store.metadataRetentionMs)) +
       ")");
  if (!c.store.pins.empty()) {
    std::string pins;
    for (const auto& p : c.store.pins) pins += (pins.empty() ? "" : ", ") + p;
    line("  pin: " + pins);
  }
  if (!c.policy.denyList.empty() || !c.policy.allowList.empty()) {
    line("policy: deny_list " + (c.policy.denyList.empty() ? "none" : c.policy.denyList) +
         ", allow_list " + (c.policy.allowList.empty() ? "none" : c.policy.allowList));
  }
  std::string access = c.log.accessLog == "-"    ? std::string("stderr")
                       : c.log.accessLog.empty() ? std::string("off")
                                                 : c.log.accessLog;
  line("log: level " + c.log.level + ", access log " + access);
  line("upstreams: " + std::to_string(c.upstreams.size()));
  for (const auto& u : c.upstreams) {
    std::string s = "  " + u.name + " (" + std::string(upstreamKindName(u.kind)) + ") " + u.url;
    if (u.isDefault) s += " [default]";
    line(s);
    if (!u.registries.empty()) {
      std::string regs;
      for (const auto& r : u.registries) regs += (regs.empty() ? "" : ", ") + r;
      line("    registries: " + regs);
    }
    if (!u.prefix.empty()) line("    prefix: /v2/" + u.prefix + "/");
    // The password itself never reaches logs or terminals, not even its length.
    if (!u.fileHosts.empty()) {
      std::string hosts;
      for (const auto& h : u.fileHosts) hosts += (hosts.empty() ? "" : ", ") + h;
      line("    file_hosts: " + hosts);
    }
    if (!u.sumdbName.empty()) line("    sumdb: " + u.sumdbName + " at " + u.sumdbUrl);
    if (!u.modulePrefixes.empty()) {
      std::string mods;
      for (const auto& m : u.modulePrefixes) mods += (mods.empty() ? "" : ", ") + m;
      line("    modules: " + mods);
    }
    if (u.auth) line("    auth: " + u.auth->username + ":***");
    line("    manifest_ttl " + formatDuration(u.manifestTtlMs) + ", connect_timeout " +
         formatDuration(u.connectTimeoutMs) + ", idle_timeout " + formatDuration(u.idleTimeoutMs));
  }
  return out;
}

}  // namespace hoard::conf
