#pragma once
// The verify and gc reports as JSON (the admin endpoints' response bodies,
// `--json` output) and as text for a terminal. The CLI turns an online
// answer back into a report, so both modes print the same thing.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cache/store_gc.h"
#include "cache/verifier.h"

namespace hoard::admin {

nlohmann::json verifyReportJson(const VerifyReport& report);
std::optional<VerifyReport> verifyReportFromJson(const nlohmann::json& j);
std::string verifyReportText(const VerifyReport& report);

nlohmann::json gcReportJson(const GcReport& report);
std::optional<GcReport> gcReportFromJson(const nlohmann::json& j);
std::string gcReportText(const GcReport& report);

}  // namespace hoard::admin
