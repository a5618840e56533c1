#include "daemon/admin/report_json.h"

#include <array>
#include <utility>

namespace hoard::admin {

namespace {

using nlohmann::json;

constexpr std::array kOutcomes = {VerifyOutcome::Ok,           VerifyOutcome::Mismatch,
                                  VerifyOutcome::SizeMismatch, VerifyOutcome::Missing,
                                  VerifyOutcome::IoError,      VerifyOutcome::Orphan,
                                  VerifyOutcome::Stray};

std::optional<VerifyOutcome> outcomeFromName(std::string_view name) {
  for (auto o : kOutcomes) {
    if (verifyOutcomeName(o) == name) return o;
  }
  return std::nullopt;
}

std::uint64_t u64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool boolean(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

std::string bytesText(std::uint64_t n) {
  if (n >= (1ull << 30)) return std::to_string(n >> 30) + " GiB";
  if (n >= (1ull << 20)) return std::to_string(n >> 20) + " MiB";
  if (n >= (1ull << 10)) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " B";
}

}  // namespace

json verifyReportJson(const VerifyReport& r) {
  json findings = json::array();
  for (const auto& f : r.findings) {
    findings.push_back({{"result", std::string(verifyOutcomeName(f.outcome))},
                        {"subject", f.subject},
                        {"action", f.action}});
  }
  return json{
      {"kind", "verify"},
      {"repair", r.repair},
      {"clean", r.clean()},
      {"cancelled", r.cancelled},
      {"ok", r.ok},
      {"mismatch", r.mismatch},
      {"size_mismatch", r.sizeMismatch},
      {"missing", r.missing},
      {"io_error", r.ioErrors},
      {"orphan", r.orphans},
      {"stray", r.stray},
      {"quarantined", r.quarantined},
      {"index_deleted", r.indexDeleted},
      {"adopted", r.adopted},
      {"bytes_hashed", r.bytesHashed},
      {"findings", std::move(findings)},
      {"findings_omitted", r.findingsOmitted},
      {"error", r.error},
  };
}

std::optional<VerifyReport> verifyReportFromJson(const json& j) {
  if (!j.is_object() || str(j, "kind") != "verify") return std::nullopt;
  VerifyReport r;
  r.repair = boolean(j, "repair");
  r.cancelled = boolean(j, "cancelled");
  r.ok = u64(j, "ok");
  r.mismatch = u64(j, "mismatch");
  r.sizeMismatch = u64(j, "size_mismatch");
  r.missing = u64(j, "missing");
  r.ioErrors = u64(j, "io_error");
  r.orphans = u64(j, "orphan");
  r.stray = u64(j, "stray");
  r.quarantined = u64(j, "quarantined");
  r.indexDeleted = u64(j, "index_deleted");
  r.adopted = u64(j, "adopted");
  r.bytesHashed = u64(j, "bytes_hashed");
  r.findingsOmitted = u64(j, "findings_omitted");
  r.error = str(j, "error");
  if (auto it = j.find("findings"); it != j.end() && it->is_array()) {
    for (const auto& f : *it) {
      if (!f.is_object()) continue;
      auto outcome = outcomeFromName(str(f, "result"));
      if (!outcome) continue;
      r.findings.push_back({*outcome, str(f, "subject"), str(f, "action")});
    }
  }
  return r;
}

std::string verifyReportText(const VerifyReport& r) {
  std::string out = "verify" + std::string(r.repair ? " --repair" : "") + ": " +
                    std::to_string(r.ok + r.mismatch + r.sizeMismatch + r.missing + r.ioErrors) +
                    " indexed objects checked, " + bytesText(r.bytesHashed) + " hashed\n";
  out += "  ok " + std::to_string(r.ok) + ", mismatch " + std::to_string(r.mismatch) +
         ", size mismatch " + std::to_string(r.sizeMismatch) + ", missing " +
         std::to_string(r.missing) + ", io errors " + std::to_string(r.ioErrors) + ", orphans " +
         std::to_string(r.orphans) + ", stray " + std::to_string(r.stray) + "\n";
  if (r.repair) {
    out += "  repaired: quarantined " + std::to_string(r.quarantined) + ", index entries deleted " +
           std::to_string(r.indexDeleted) + ", orphans adopted " + std::to_string(r.adopted) + "\n";
  }
  for (const auto& f : r.findings) {
    out += "  " + std::string(verifyOutcomeName(f.outcome)) + " " + f.subject;
    if (!f.action.empty()) out += " (" + f.action + ")";
    out += "\n";
  }
  if (r.findingsOmitted > 0) {
    out += "  ... and " + std::to_string(r.findingsOmitted) + " more\n";
  }
  if (!r.error.empty()) out += "error: " + r.error + "\n";
  if (r.cancelled) out += "cancelled before the whole store was checked\n";
  if (r.clean()) {
    out += "store OK\n";
  } else if (!r.repair && r.bad() > 0) {
    out += "run with --repair to quarantine bad files and reconcile the index\n";
  }
  return out;
}

json gcReportJson(const GcReport& r) {
  json findings = json::array();
  for (const auto& f : r.findings) {
    findings.push_back({{"kind", f.kind}, {"subject", f.subject}, {"action", f.action}});
  }
  return json{
      {"kind", "gc"},
      {"cancelled", r.cancelled},
      {"entries_checked", r.entriesChecked},
      {"entries_removed", r.entriesRemoved},
      {"orphans_removed", r.orphansRemoved},
      {"orphan_bytes", r.orphanBytes},
      {"orphans_in_grace", r.orphansInGrace},
      {"size_mismatch", r.sizeMismatch},
      {"stray", r.stray},
      {"tmp_removed", r.tmpRemoved},
      {"tmp_bytes", r.tmpBytes},
      {"errors", r.errors},
      {"findings", std::move(findings)},
      {"findings_omitted", r.findingsOmitted},
      {"error", r.error},
  };
}

std::optional<GcReport> gcReportFromJson(const json& j) {
  if (!j.is_object() || str(j, "kind") != "gc") return std::nullopt;
  GcReport r;
  r.cancelled = boolean(j, "cancelled");
  r.entriesChecked = u64(j, "entries_checked");
  r.entriesRemoved = u64(j, "entries_removed");
  r.orphansRemoved = u64(j, "orphans_removed");
  r.orphanBytes = u64(j, "orphan_bytes");
  r.orphansInGrace = u64(j, "orphans_in_grace");
  r.sizeMismatch = u64(j, "size_mismatch");
  r.stray = u64(j, "stray");
  r.tmpRemoved = u64(j, "tmp_removed");
  r.tmpBytes = u64(j, "tmp_bytes");
  r.errors = u64(j, "errors");
  r.findingsOmitted = u64(j, "findings_omitted");
  r.error = str(j, "error");
  if (auto it = j.find("findings"); it != j.end() && it->is_array()) {
    for (const auto& f : *it) {
      if (f.is_object())
        r.findings.push_back({str(f, "kind"), str(f, "subject"), str(f, "action")});
    }
  }
  return r;
}

std::string gcReportText(const GcReport& r) {
  std::string out = "gc: " + std::to_string(r.entriesChecked) + " index entries checked\n";
  out += "  entries without file removed " + std::to_string(r.entriesRemoved) +
         ", orphan files removed " + std::to_string(r.orphansRemoved) + " (" +
         bytesText(r.orphanBytes) + "), orphans within grace kept " +
         std::to_string(r.orphansInGrace) + "\n";
  out += "  tmp files removed " + std::to_string(r.tmpRemoved) + " (" + bytesText(r.tmpBytes) +
         "), errors " + std::to_string(r.errors) + "\n";
  for (const auto& f : r.findings) {
    out += "  " + f.kind + " " + f.subject;
    if (!f.action.empty()) out += " (" + f.action + ")";
    out += "\n";
  }
  if (r.findingsOmitted > 0) {
    out += "  ... and " + std::to_string(r.findingsOmitted) + " more\n";
  }
  if (r.sizeMismatch + r.stray > 0) {
    out += "wrong-size or stray files are left alone: run hoard verify --repair\n";
  }
  if (!r.error.empty()) out += "error: " + r.error + "\n";
  if (r.cancelled) out += "cancelled before the whole store was checked\n";
  return out;
}

}  // namespace hoard::admin
