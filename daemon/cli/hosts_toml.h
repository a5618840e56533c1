#pragma once
// `hoard hosts-toml REGISTRY [--url URL]`: the containerd hosts.toml that makes hoard the pull
// mirror for REGISTRY. It goes in /etc/containerd/certs.d/<REGISTRY>/hosts.toml (containerd's
// registry config_path must point at /etc/containerd/certs.d).
//
// Output shape (containerd docs/hosts.md):
//   server = "https://registry-1.docker.io"   docker.io -> registry-1.docker.io, X -> https://X,
//                                             omitted for "_default" (fallback = image's host)
//   [host."http://127.0.0.1:5050"]
//     capabilities = ["pull", "resolve"]      hoard is a trusted private mirror; never push
//
// containerd tries the host first and falls back to `server` if hoard is unreachable, and it
// adds ?ns=<registry> to every mirror request; hoard routes on that ns.
//
// hoardUrl handling:
// - no scheme -> "http://" is assumed (hoard serves plain HTTP); trailing '/' is dropped;
// - a path is a reverse-proxy mount point (http://proxy/hoard -> containerd requests
//   /hoard/v2/...), so it is kept and containerd appends /v2 itself;
// - anything from "/v2" on is cut: /v2/<prefix> routing is for clients that cannot send ns=,
//   and with ns= present hoard routes on ns, so a prefix path would become part of the
//   repository name. override_path is therefore never emitted; a comment in the output says
//   when a path was dropped.
// The caller validates `registry` (conf::validateRegistry); values are TOML-escaped anyway.
#include <string>
#include <string_view>

namespace hoard::cli {

std::string hostsToml(std::string_view registry, std::string_view hoardUrl);

}  // namespace hoard::cli
