#pragma once
// The front ends' side of the supply-chain gate: one call per check point,
// answering the client in its protocol's format when the request is refused.
//
//   refuseIfDenied    before any cache lookup (and again once a digest is
//                     known): 403 "denied by hoard policy (<entry>)", warn log,
//                     hoard_policy_denied_total{ecosystem}
//   refuseIfUnlisted  before an upstream fetch only: 403 "... not on hoard's
//                     allow-list", hoard_policy_not_allowed_total{ecosystem}
//
// Both accept a null Policy (nothing configured): never refused.
#include <functional>
#include <string_view>

#include "daemon/http/exchange.h"
#include "daemon/metrics.h"
#include "daemon/policy/policy.h"

namespace hoard::policy {

// Sends a policy refusal (status 403) in the front end's format.
using Refuser = std::function<void(http::Exchange&, int status, std::string_view message)>;

// What a request hands the shared document and named-file flows: its
// subject and how its front end words a refusal.
struct RequestPolicy {
  const Policy* policy = nullptr;  // null: no checks
  Subject subject;
  Refuser refuse;
};

// true: refused (the client has its answer; stop).
bool refuseIfDenied(const Policy* policy, Metrics& metrics, http::Exchange& ex, const Subject& s,
                    const Refuser& refuse);
bool refuseIfUnlisted(const Policy* policy, Metrics& metrics, http::Exchange& ex, const Subject& s,
                      const Refuser& refuse);

// "oci:docker.io/library/alpine:3.19 (sha256:...)": for logs and messages.
std::string describeSubject(const Subject& s);

}  // namespace hoard::policy
