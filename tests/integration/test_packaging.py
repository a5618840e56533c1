#!/usr/bin/python3
"""Issue 7, packaging: the files under packaging/ say what hoard actually does.

- systemd unit: the hardening and lifecycle keys are there with the values the README promises,
  the ExecStart/ExecReload/ExecStartPre command lines are ones hoard accepts, and
  `systemd-analyze verify` (when installed) has nothing to say about the unit.
- Docker: the image's hoard.yaml passes `hoard check-config`, the Dockerfile is multi-stage on
  Debian bookworm, runs as a non-root user, and its EXPOSE/HEALTHCHECK match the config's port.
- Kubernetes: the ConfigMap's hoard.yaml passes `hoard check-config`; every registry the
  DaemonSet's init container configures has an upstream in it; the init container's hoard URL
  is the config's listen address and the probes' port; the static certs.d/<registry>/hosts.toml
  files are byte for byte what `hoard hosts-toml REGISTRY --url URL` prints, for exactly the
  DaemonSet's registries. With PyYAML installed, every YAML document parses and the DaemonSet's
  probes, volumes and security context are checked structurally too.
- CI: packaging/ci/containerd-hosts.sh writes the same settings as `hoard hosts-toml`.

Runs no server; stdlib only (PyYAML is optional).
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

from harness import HOARD_BIN, SOURCE_DIR, main  # noqa: E402

try:
    import yaml  # type: ignore
except ImportError:  # optional: the structural checks are skipped without it
    yaml = None

PKG = os.path.join(SOURCE_DIR, "packaging")


def read(*parts):
    with open(os.path.join(PKG, *parts), encoding="utf-8") as f:
        return f.read()


def hoard(*args, env=None):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    e.update(env or {})
    return subprocess.run([HOARD_BIN, *args], capture_output=True, text=True, timeout=30, env=e)


def unit_entries(text):
    """systemd unit file as [(section, key, value)], in order (keys may repeat)."""
    out, section = [], None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            section = m.group(1)
            continue
        key, sep, value = line.partition("=")
        assert sep, "not a key=value line: %r" % raw
        out.append((section, key.strip(), value.strip()))
    return out


def block_scalar(text, key):
    """The literal block scalar `key: |` of a YAML file (stdlib: no YAML parser needed)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = re.fullmatch(r"(\s*)" + re.escape(key) + r":\s*\|\s*", line)
        if not m:
            continue
        indent = len(m.group(1))
        body = []
        for nxt in lines[i + 1:]:
            if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                break
            body.append(nxt)
        width = min(len(b) - len(b.lstrip()) for b in body if b.strip())
        return "\n".join(b[width:] for b in body).rstrip("\n") + "\n"
    raise AssertionError("no block scalar %r" % key)


def env_value(text, name):
    """value of `- name: NAME` / `value: "..."` in a manifest."""
    m = re.search(r"-\s+name:\s*%s\s*\n\s+value:\s*\"([^\"]*)\"" % re.escape(name), text)
    assert m, "no env %s" % name
    return m.group(1)


def check_config(testcase, path, env=None):
    r = hoard("check-config", path, env=env)
    testcase.assertEqual(r.returncode, 0, "hoard check-config %s:\n%s%s" % (path, r.stdout, r.stderr))
    testcase.assertIn("config OK", r.stdout)
    return r.stdout


def registries_of(describe_output):
    regs = set()
    for line in describe_output.splitlines():
        m = re.match(r"\s+registries: (.*)$", line)
        if m:
            regs.update(x.strip() for x in m.group(1).split(","))
    return regs


def toml_settings(text):
    """The lines of a hosts.toml that mean something to containerd (no comments, no blanks)."""
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


class SystemdUnit(unittest.TestCase):
    def setUp(self):
        self.text = read("systemd", "hoard.service")
        self.entries = unit_entries(self.text)

    def values(self, key, section="Service"):
        return [v for s, k, v in self.entries if s == section and k == key]

    def value(self, key, section="Service"):
        v = self.values(key, section)
        self.assertEqual(len(v), 1, "%s= must be set exactly once in [%s], got %r" % (key, section, v))
        return v[0]

    def test_lifecycle(self):
        self.assertIn(self.value("Type"), ("simple", "notify"))
        self.assertEqual(self.value("ExecStart"), "/usr/local/bin/hoard serve --config /etc/hoard/hoard.yaml")
        self.assertIn("/bin/kill -HUP $MAINPID", self.values("ExecReload"))
        self.assertEqual(self.value("KillSignal"), "SIGTERM")
        self.assertRegex(self.value("TimeoutStopSec"), r"^\d+s?$")
        self.assertEqual(self.value("WantedBy", "Install"), "multi-user.target")
        # Config checks (ExecStartPre, ExecReload) look at the file ExecStart serves.
        for line in self.values("ExecStartPre") + self.values("ExecReload"):
            if "check-config" in line:
                self.assertEqual(line, "/usr/local/bin/hoard check-config /etc/hoard/hoard.yaml")

    def test_user_and_store(self):
        self.assertTrue(self.values("DynamicUser") == ["yes"] or self.values("User"), "no unprivileged user")
        self.assertEqual(self.value("StateDirectory"), "hoard")
        self.assertGreaterEqual(int(self.value("LimitNOFILE")), 4096)

    def test_hardening(self):
        for key, want in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                          ("PrivateTmp", "yes"), ("PrivateDevices", "yes"), ("ProtectKernelTunables", "yes"),
                          ("ProtectKernelModules", "yes"), ("ProtectKernelLogs", "yes"),
                          ("ProtectControlGroups", "yes")):
            self.assertEqual(self.value(key), want, key)
        self.assertEqual(sorted(self.value("RestrictAddressFamilies").split()), ["AF_INET", "AF_INET6", "AF_UNIX"])

    def test_command_lines_are_hoards(self):
        """The commands the unit runs exist in this hoard (usage errors exit 2)."""
        for line in self.values("ExecStart") + self.values("ExecStartPre") + self.values("ExecReload"):
            argv = line.split()
            if argv[0] != "/usr/local/bin/hoard":
                continue
            with tempfile.TemporaryDirectory() as d:
                cfg = os.path.join(d, "hoard.yaml")
                with open(cfg, "w") as f:
                    f.write("listen: 127.0.0.1:0\nstore: { path: %s }\n" % os.path.join(d, "store"))
                args = [cfg if a == "/etc/hoard/hoard.yaml" else a for a in argv[1:]]
                if args[0] == "serve":
                    # Not started: `hoard serve` with an unknown option would exit 2 at once.
                    continue
                r = hoard(*args)
                self.assertEqual(r.returncode, 0, "%s: %s" % (line, r.stderr))

    def test_systemd_analyze_verify(self):
        tool = shutil.which("systemd-analyze")
        if not tool:
            self.skipTest("systemd-analyze not installed")
        with tempfile.TemporaryDirectory() as d:
            binary = os.path.join(d, "hoard")
            shutil.copy(HOARD_BIN, binary)
            unit = os.path.join(d, "hoard.service")
            with open(unit, "w") as f:
                f.write(self.text.replace("/usr/local/bin/hoard", binary))
            r = subprocess.run([tool, "verify", unit], capture_output=True, text=True, timeout=60, cwd=d)
            # verify exits 0 on unknown keys and bad values too: it must also have nothing to say
            # about the unit itself.
            said = [ln for ln in (r.stdout + r.stderr).splitlines() if "hoard.service" in ln]
            self.assertEqual((r.returncode, said), (0, []), r.stdout + r.stderr)


class Docker(unittest.TestCase):
    def setUp(self):
        self.text = read("docker", "Dockerfile")

    def test_image_config_checks(self):
        out = check_config(self, os.path.join(PKG, "docker", "hoard.yaml"))
        self.assertIn("listen: 0.0.0.0:5050", out)
        self.assertIn("store: /var/lib/hoard", out)
        # npm joins the built-in upstreams when the variable is set.
        out = check_config(self, os.path.join(PKG, "docker", "hoard.yaml"),
                           env={"HOARD_NPM_UPSTREAM": "http://127.0.0.1:9/"})
        self.assertRegex(out, r"\(npm\) http://127\.0\.0\.1:9")

    def test_dockerfile(self):
        froms = re.findall(r"^FROM\s+(\S+)", self.text, re.M)
        self.assertGreaterEqual(len(froms), 2, "multi-stage")
        for f in froms:
            self.assertRegex(f, r"^debian:(bookworm|\$\{DEBIAN_RELEASE\})", f)
        self.assertRegex(self.text, r"ARG DEBIAN_RELEASE=bookworm")
        users = re.findall(r"^USER\s+(\S+)", self.text, re.M)
        self.assertTrue(users and not users[-1].startswith(("root", "0")), users)
        self.assertRegex(self.text, r'(?m)^VOLUME \["/var/lib/hoard"\]')
        self.assertRegex(self.text, r"(?m)^EXPOSE 5050/tcp")
        self.assertRegex(self.text, r"(?ms)^HEALTHCHECK .*http://127\.0\.0\.1:5050/-/healthz")
        self.assertIn('CMD ["serve", "--config", "/etc/hoard/hoard.yaml"]', self.text)
        # Every COPY source from the build context exists and is not excluded by .dockerignore.
        with open(os.path.join(SOURCE_DIR, ".dockerignore")) as f:
            ignored = {ln.strip() for ln in f if ln.strip() and not ln.startswith("#")}
        for line in re.findall(r"^COPY\s+(?!--from)(.+)$", self.text, re.M):
            for src in line.split()[:-1]:
                self.assertTrue(os.path.exists(os.path.join(SOURCE_DIR, src)), src)
                self.assertNotIn(src.split("/")[0], ignored, src)


class Kubernetes(unittest.TestCase):
    def setUp(self):
        self.cm = read("k8s", "configmap.yaml")
        self.ds = read("k8s", "daemonset.yaml")
        self.registries = env_value(self.ds, "REGISTRIES").split()
        self.url = env_value(self.ds, "HOARD_URL")
        self.tmp = tempfile.mkdtemp(prefix="hoard-it-pack-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.cfg = os.path.join(self.tmp, "hoard.yaml")
        with open(self.cfg, "w") as f:
            f.write(block_scalar(self.cm, "hoard.yaml"))

    def test_config_serves_every_registry(self):
        out = check_config(self, self.cfg)
        self.assertTrue(self.registries)
        missing = set(self.registries) - registries_of(out)
        self.assertEqual(missing, set(), "registries in daemonset.yaml without an upstream in configmap.yaml")
        listen = re.search(r"^listen: (\S+)", out, re.M).group(1)
        self.assertEqual(self.url, "http://" + listen, "HOARD_URL is not the config's listen address")

    def test_installed_hosts_toml_is_hoards(self):
        certs = os.path.join(PKG, "k8s", "certs.d")
        self.assertEqual(sorted(os.listdir(certs)), sorted(self.registries))
        for reg in self.registries:
            r = hoard("hosts-toml", reg, "--url", self.url)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(certs, reg, "hosts.toml")) as f:
                self.assertEqual(f.read(), r.stdout, "certs.d/%s/hosts.toml differs from `hoard hosts-toml`" % reg)
        # The init container runs exactly that command for each of them.
        self.assertIn('hoard hosts-toml "$r" --url "$HOARD_URL"', self.ds)
        self.assertIn("for r in $REGISTRIES", self.ds)

    def test_manifests_parse(self):
        if yaml is None:
            self.skipTest("PyYAML not installed")
        docs = list(yaml.safe_load_all(self.cm)) + list(yaml.safe_load_all(self.ds))
        kinds = {d["kind"]: d for d in docs}
        self.assertEqual(sorted(kinds), ["ConfigMap", "DaemonSet", "Namespace"])
        self.assertEqual(kinds["ConfigMap"]["data"]["hoard.yaml"], block_scalar(self.cm, "hoard.yaml"))
        pod = kinds["DaemonSet"]["spec"]["template"]["spec"]
        self.assertTrue(pod["hostNetwork"])
        (c,) = pod["containers"]
        port = int(self.url.rsplit(":", 1)[1])
        self.assertEqual(c["livenessProbe"]["httpGet"]["path"], "/-/healthz")
        self.assertEqual(c["readinessProbe"]["httpGet"]["path"], "/-/readyz")
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            self.assertEqual(c[probe]["httpGet"]["port"], port, probe)
        self.assertTrue(c["securityContext"]["runAsNonRoot"])
        self.assertIn("memory", c["resources"]["limits"])
        vols = {v["name"]: v for v in pod["volumes"]}
        self.assertEqual(vols["store"]["hostPath"]["path"], "/var/lib/hoard")
        self.assertEqual(vols["certs-d"]["hostPath"]["path"], "/etc/containerd/certs.d")
        self.assertEqual(vols["config"]["configMap"]["name"], kinds["ConfigMap"]["metadata"]["name"])
        (init,) = pod["initContainers"]
        env = {e["name"]: e["value"] for e in init["env"]}
        self.assertEqual(env["REGISTRIES"].split(), self.registries)


class CiSidecar(unittest.TestCase):
    def test_containerd_hosts_script_matches_hoard(self):
        url = "http://hoard:5050"
        with tempfile.TemporaryDirectory() as d:
            script = os.path.join(PKG, "ci", "containerd-hosts.sh")
            r = subprocess.run(["/bin/sh", script, url + "/", d], capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            regs = sorted(os.listdir(d))
            self.assertEqual(regs, ["docker.io", "ghcr.io", "quay.io", "registry.k8s.io"])
            for reg in regs:
                with open(os.path.join(d, reg, "hosts.toml")) as f:
                    got = toml_settings(f.read())
                want = toml_settings(hoard("hosts-toml", reg, "--url", url).stdout)
                self.assertEqual(got, want, reg)

    def test_ci_yaml_parses(self):
        if yaml is None:
            self.skipTest("PyYAML not installed")
        gl = yaml.safe_load(read("ci", "gitlab-ci.yml"))
        self.assertEqual(gl["default"]["services"][0]["alias"], "hoard")
        gh = yaml.safe_load(read("ci", "github-actions.yml"))
        job = gh["jobs"]["build"]
        self.assertIn("5050:5050", job["services"]["hoard"]["ports"])
        for env in (gl["variables"], job["env"]):
            self.assertTrue(env["npm_config_registry"].endswith(":5050/npm/"))
            self.assertTrue(env["PIP_INDEX_URL"].endswith(":5050/pypi/simple/"))
            self.assertTrue(env["GOPROXY"].endswith(":5050/go"))


if __name__ == "__main__":
    main()
