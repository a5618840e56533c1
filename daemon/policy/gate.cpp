#include "daemon/policy/gate.h"

#include "daemon/log.h"

namespace hoard::policy {

std::string describeSubject(const Subject& s) {
  std::string out = std::string(ecosystemName(s.ecosystem)) + ":" + s.name;
  if (!s.file.empty()) out += " file " + s.file;
  if (!s.version.empty()) out += (s.ecosystem == Ecosystem::Oci ? ":" : "@") + s.version;
  if (!s.digest.empty()) out += " (" + s.digest + ")";
  return out;
}

bool refuseIfDenied(const Policy* policy, Metrics& metrics, http::Exchange& ex, const Subject& s,
                    const Refuser& refuse) {
  if (!policy) return false;
  const Pattern* entry = policy->denied(s);
  if (!entry) return false;
  const auto eco = std::string(ecosystemName(s.ecosystem));
  metrics.add("hoard_policy_denied_total{ecosystem=\"" + eco + "\"}");
  ex.setLogField("policy", "denied");
  ex.setLogField("policy_entry", entry->text);
  logWarn("policy: denied " + ex.request().method + " " + ex.request().target + " (" +
          describeSubject(s) + ") by deny entry " + entry->text);
  refuse(ex, 403, "denied by hoard policy (" + entry->text + ")");
  return true;
}

bool refuseIfUnlisted(const Policy* policy, Metrics& metrics, http::Exchange& ex, const Subject& s,
                      const Refuser& refuse) {
  if (!policy || policy->allowed(s)) return false;
  const auto eco = std::string(ecosystemName(s.ecosystem));
  metrics.add("hoard_policy_not_allowed_total{ecosystem=\"" + eco + "\"}");
  ex.setLogField("policy", "not_allowed");
  logWarn("policy: not fetching " + describeSubject(s) + " for " + ex.request().method + " " +
          ex.request().target + ": not on the allow-list");
  refuse(ex, 403, describeSubject(s) + " is not cached and not on hoard's allow-list");
  return true;
}

}  // namespace hoard::policy
