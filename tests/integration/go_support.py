"""Go pieces of the integration harness: the GOPROXY/checksum-database fixture as hoard upstreams
and a go command with its own module cache per client. Stdlib only."""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from go_fixture import GoProxyFixture, copy_sample, go_env, run_go  # noqa: E402,F401


def go_upstreams(public, private=None, manifest_ttl="1m", **extra):
    """hoard upstreams: `public` (a GoProxyFixture) with its checksum database, and optionally
    `private` for corp.example/ (never sent to the public proxy or the database)."""
    ups = [
        dict(
            {
                "name": "gopub",
                "kind": "go",
                "url": public.url,
                "sumdb": {"name": public.name, "url": "%s/sumdb/%s" % (public.url, public.name)},
                "manifest_ttl": manifest_ttl,
            },
            **extra,
        )
    ]
    if private is not None:
        ups.append({"name": "gopriv", "kind": "go", "url": private.url, "modules": ["corp.example/"], "manifest_ttl": manifest_ttl})
    return ups


class GoClient:
    """The go command with GOPROXY=hoard and GOSUMDB=<name>+<key> (no URL: the go command then asks
    hoard's /go/sumdb/<name>/ for the database, as through any proxy that supports it)."""

    def __init__(self, hoard, fixture, label="go", extra=None):
        self.dir = harness.tmpdir(label)
        self.env = go_env(os.path.join(self.dir, "home"), "http://%s/go" % hoard.addr, fixture.gosumdb_key, extra)

    def run(self, *args, cwd=None, timeout=300):
        return run_go(args, self.env, cwd or self.dir, timeout=timeout)

    def sample(self):
        return copy_sample(os.path.join(self.dir, "sample"))


def write_consumer(dest, requires, imports, body, module="example.com/hoard/consumer"):
    """A small consumer module in `dest`: go.mod requiring {module: version} (no go.sum) and a
    main.go importing `imports` and running `body` inside main(); returns dest."""
    os.makedirs(dest, exist_ok=True)
    lines = ["module %s" % module, "", "go 1.19", "", "require ("]
    lines += ["\t%s %s" % (m, v) for m, v in sorted(requires.items())]
    lines += [")", ""]
    with open(os.path.join(dest, "go.mod"), "w") as f:
        f.write("\n".join(lines))
    with open(os.path.join(dest, "main.go"), "w") as f:
        f.write("package main\n\nimport (\n%s)\n\nfunc main() {\n%s\n}\n" % ("".join('\t"%s"\n' % i for i in imports), body))
    return dest


def read_go_sum(project):
    """The non-empty lines of project/go.sum, sorted."""
    with open(os.path.join(project, "go.sum")) as f:
        return sorted(l.strip() for l in f if l.strip())
