"""Integration-test harness: real hoard, real docker-registry, real clients, all on 127.0.0.1.

Environment:
  HOARD_BIN          hoard binary (default: $HOARD_SOURCE_DIR/build/hoard)
  HOARD_SOURCE_DIR   repo root (default: two levels above this file)
  HOARD_KEEP_TMP=1   keep the per-run temp dir (its path is printed) for debugging

Every process started here is recorded and stopped at exit (SIGTERM, then SIGKILL),
also when a test fails or the run is interrupted. When a test fails, the tails of the
logs of every process still registered (hoard's stderr access log first) are printed.

Stdlib only.
"""

import atexit
import hashlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("HOARD_SOURCE_DIR") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "fixtures"))

from counting_proxy import CountingProxy  # noqa: E402
from npm_registry import (  # noqa: E402,F401
    CORGI,
    SAMPLE_DIST_TAGS,
    SAMPLE_PROJECT_DEPS,
    SAMPLE_PROJECT_TREE,
    NpmPackage,
    NpmRegistry,
    isolated_npm_env,
    sample_universe,
    sri_sha512,
    tarball_path,
)
from oci_image import (  # noqa: E402,F401
    CONTAINERD_ACCEPT,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Blob,
    Image,
    Index,
    sha256_digest,
    write_oci_layout,
)

HOARD_BIN = os.environ.get("HOARD_BIN") or os.path.join(SOURCE_DIR, "build", "hoard")
DOCKER_REGISTRY = shutil.which("docker-registry") or "/usr/bin/docker-registry"
SKOPEO = shutil.which("skopeo") or "/usr/bin/skopeo"

MANIFEST_ACCEPT = CONTAINERD_ACCEPT

# ---------------------------------------------------------------------------
# temp dirs and process bookkeeping
# ---------------------------------------------------------------------------
_tmp_root = None
_procs = []  # every Process started, in order
_log_sources = []  # (label, path, lines) printed on failure


def tmp_root():
    global _tmp_root
    if _tmp_root is None:
        _tmp_root = tempfile.mkdtemp(prefix="hoard-it-")
    return _tmp_root


def tmpdir(name):
    """A fresh directory under this run's temp root."""
    base = os.path.join(tmp_root(), name)
    path, i = base, 1
    while os.path.exists(path):
        i += 1
        path = "%s.%d" % (base, i)
    os.makedirs(path)
    return path


def _cleanup_all():
    for p in reversed(_procs):
        try:
            p.stop(timeout=5)
        except Exception:
            pass
    if _tmp_root and os.path.isdir(_tmp_root):
        if os.environ.get("HOARD_KEEP_TMP"):
            print("hoard-it: kept temp dir %s" % _tmp_root, file=sys.stderr)
        else:
            shutil.rmtree(_tmp_root, ignore_errors=True)


atexit.register(_cleanup_all)


def _on_term(signum, frame):
    sys.exit(128 + signum)  # runs atexit handlers


signal.signal(signal.SIGTERM, _on_term)


def register_log(label, path, lines=40):
    _log_sources.append((label, path, lines))


def unregister_log(path):
    _log_sources[:] = [s for s in _log_sources if s[1] != path]


def tail(path, lines=40):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except OSError as e:
        return "<cannot read %s: %s>" % (path, e)
    return "\n".join(data.splitlines()[-lines:])


def logs_report():
    out = []
    for label, path, lines in _log_sources:
        out.append("---- %s (%s, last %d lines) ----\n%s" % (label, path, lines, tail(path, lines)))
    return "\n".join(out)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dead_port():
    """A port nothing listens on (bound once, then released)."""
    return free_port()


class Process:
    """A child process with stdout/stderr in files, always reaped."""

    def __init__(self, label, argv, log_dir, env=None, cwd=None):
        self.label = label
        self.argv = argv
        self.stdout_path = os.path.join(log_dir, label + ".stdout")
        self.stderr_path = os.path.join(log_dir, label + ".stderr")
        self.env = env
        self.cwd = cwd
        self.proc = None

    def start(self):
        out = open(self.stdout_path, "ab")
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        finally:
            out.close()
            err.close()
        _procs.append(self)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(10)

    def stop(self, timeout=10, sig=signal.SIGTERM):
        """Stop gracefully; SIGKILL after `timeout`. Returns the exit code (None if never started)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self in _procs:
            _procs.remove(self)
        return self.proc.returncode

    def output_tail(self, lines=40):
        return "---- %s stderr ----\n%s\n---- %s stdout ----\n%s" % (
            self.label,
            tail(self.stderr_path, lines),
            self.label,
            tail(self.stdout_path, lines),
        )


# ---------------------------------------------------------------------------
# HTTP helpers
# ---------------------------------------------------------------------------
class Response:
    def __init__(self, status, reason, headers, body, error=None, elapsed=0.0):
        self.status = status
        self.reason = reason
        self.headers = headers  # dict, lower-case names
        self.body = body
        self.error = error  # exception raised while reading the body (cut connection) or None
        self.elapsed = elapsed

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        return json.loads(self.body)

    def error_codes(self):
        try:
            return [e.get("code") for e in json.loads(self.body).get("errors", [])]
        except (ValueError, AttributeError):
            return []

    def __repr__(self):
        b = self.body[:300] if self.body is not None else None
        return "<Response %s %s headers=%r body[:300]=%r error=%r>" % (self.status, self.reason, self.headers, b, self.error)


def request(addr, method, path, headers=None, timeout=30, body=None):
    """One request on a fresh connection; reads the whole body, recording a cut connection in .error."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        err = None
        if method == "HEAD":
            data = b""
            resp.read()
        else:
            chunks = []
            try:
                while True:
                    b = resp.read(1 << 20)
                    if not b:
                        break
                    chunks.append(b)
            except (http.client.IncompleteRead, ConnectionError, socket.timeout, OSError) as e:
                err = e
                if isinstance(e, http.client.IncompleteRead):
                    chunks.append(e.partial)
            data = b"".join(chunks)
            cl = hdrs.get("content-length")
            if err is None and cl is not None and len(data) != int(cl):
                err = http.client.IncompleteRead(data, int(cl) - len(data))
        return Response(resp.status, resp.reason, hdrs, data, err, time.monotonic() - t0)
    finally:
        conn.close()


def stream_hash(addr, path, headers=None, timeout=60):
    """GET a (large) body without keeping it: returns (Response with body=None, sha256 digest, nbytes)."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    h = hashlib.sha256()
    n = 0
    err = None
    t0 = time.monotonic()
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        try:
            while True:
                b = resp.read(1 << 20)
                if not b:
                    break
                h.update(b)
                n += len(b)
        except (http.client.IncompleteRead, ConnectionError, socket.timeout, OSError) as e:
            err = e
            if isinstance(e, http.client.IncompleteRead):
                h.update(e.partial)
                n += len(e.partial)
        cl = hdrs.get("content-length")
        if err is None and cl is not None and n != int(cl):
            err = http.client.IncompleteRead(b"", int(cl) - n)
        return Response(resp.status, resp.reason, hdrs, None, err, time.monotonic() - t0), "sha256:" + h.hexdigest(), n
    finally:
        conn.close()


def raw_exchange(addr, data, timeout=5.0, read_limit=1 << 20):
    """Send raw bytes, read until the peer closes, times out or `read_limit`; returns the bytes read."""
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=timeout)
    out = b""
    try:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may close before reading everything (e.g. 431)
        deadline = time.monotonic() + timeout
        while len(out) < read_limit and time.monotonic() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not b:
                break
            out += b
            # stop once one complete response head + declared body is in
            head, sep, rest = out.partition(b"\r\n\r\n")
            if sep:
                cl = None
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        cl = int(v.strip() or 0)
                if cl is not None and len(rest) >= cl:
                    break
    finally:
        s.close()
    return out


def raw_status(resp_bytes):
    """Status code of a raw HTTP response, or None when there was no response line."""
    line = resp_bytes.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    if len(parts) >= 2 and parts[0].startswith(b"HTTP/1.") and parts[1].isdigit():
        return int(parts[1])
    return None


def wait_http_ok(addr, path="/v2/", timeout=15.0, proc=None, statuses=(200,)):
    """Poll until `path` answers one of `statuses` (a registry with auth answers /v2/ 401)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError("%s exited (rc=%s) before answering\n%s" % (proc.label, proc.proc.returncode, proc.output_tail()))
        try:
            r = request(addr, "GET", path, timeout=2)
            if r.status in statuses:
                return
            last = r
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError("%s%s did not answer 200 within %.0fs (last: %r)" % (addr, path, timeout, last))


# ---------------------------------------------------------------------------
# docker-registry (the upstream)
# ---------------------------------------------------------------------------
class Registry:
    """Debian's docker-registry (CNCF distribution 2.8) with filesystem storage in a temp dir.

    proxy_remoteurl turns it into a pull-through proxy of that URL (bench use).
    htpasswd=(user, password): basic auth (bcrypt htpasswd file made with `htpasswd -Bbn`).
    token=TokenServer (tests/fixtures/token_server.py): bearer token auth against it.
    With auth, the push helpers authenticate (basic, or a token minted by the token server
    without going through its counted HTTP endpoint)."""

    def __init__(self, label="registry", proxy_remoteurl=None, htpasswd=None, token=None):
        self.dir = tmpdir(label)
        self.htpasswd = htpasswd
        self.token = token
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.url = "http://" + self.addr
        cfg = [
            "version: 0.1",
            "log:",
            "  level: warn",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            "    rootdirectory: %s" % os.path.join(self.dir, "data"),
            "  delete:",
            "    enabled: true",
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            "  addr: %s" % self.addr,
            "  secret: hoard-integration-tests",
            "  headers:",
            "    X-Content-Type-Options: [nosniff]",
        ]
        if proxy_remoteurl:
            cfg += ["proxy:", "  remoteurl: %s" % proxy_remoteurl]
        if htpasswd:
            pw_file = os.path.join(self.dir, "htpasswd")
            make_htpasswd(pw_file, htpasswd[0], htpasswd[1])
            cfg += ["auth:", "  htpasswd:", "    realm: hoard-test", "    path: %s" % pw_file]
        if token:
            cfg += [
                "auth:",
                "  token:",
                "    realm: %s" % token.realm,
                "    service: %s" % token.service,
                "    issuer: %s" % token.issuer,
                "    rootcertbundle: %s" % token.rootcertbundle,
            ]
        self.config_path = os.path.join(self.dir, "config.yml")
        with open(self.config_path, "w") as f:
            f.write("\n".join(cfg) + "\n")
        self.proc = Process(label, [DOCKER_REGISTRY, "serve", self.config_path], self.dir)
        self.label = label

    def start(self):
        self.proc.start()
        register_log(self.label + " log", self.proc.stderr_path, 5)
        register_log(self.label + " access log", self.proc.stdout_path, 10)
        statuses = (401,) if (self.htpasswd or self.token) else (200,)
        wait_http_ok(self.addr, "/v2/", timeout=20, proc=self.proc, statuses=statuses)
        return self

    @property
    def creds(self):
        """user:password for skopeo --*-creds, or None for an open registry."""
        if self.htpasswd:
            return "%s:%s" % self.htpasswd
        if self.token:
            return "%s:%s" % (self.token.username, self.token.password)
        return None

    def auth_headers(self, repo, actions="pull,push", headers=None):
        """`headers` plus the Authorization this registry wants for `repo` (none if open)."""
        out = dict(headers or {})
        if self.htpasswd:
            out["Authorization"] = basic_auth(*self.htpasswd)
        elif self.token:
            out["Authorization"] = "Bearer " + self.token.mint(["repository:%s:%s" % (repo, actions)])
        return out

    def stop(self):
        unregister_log(self.proc.stderr_path)
        unregister_log(self.proc.stdout_path)
        return self.proc.stop()

    # ---- push helpers (registry HTTP API) ---------------------------------
    def push_blob(self, repo, data, digest=None):
        """Monolithic upload: POST /blobs/uploads/ then PUT ?digest= with the whole body."""
        digest = digest or sha256_digest(data)
        auth = self.auth_headers(repo)
        r = request(self.addr, "POST", "/v2/%s/blobs/uploads/" % repo, headers=auth, body=b"")
        if r.status != 202:
            raise RuntimeError("upload start failed: %r" % r)
        loc = r.header("location")
        if loc.startswith("http"):
            loc = "/" + loc.split("/", 3)[3]
        sep = "&" if "?" in loc else "?"
        r = request(
            self.addr,
            "PUT",
            "%s%sdigest=%s" % (loc, sep, digest),
            headers=dict(auth, **{"Content-Type": "application/octet-stream"}),
            body=data,
            timeout=120,
        )
        if r.status != 201:
            raise RuntimeError("blob upload failed: %r" % r)
        return digest

    def put_manifest(self, repo, ref, blob):
        r = request(
            self.addr,
            "PUT",
            "/v2/%s/manifests/%s" % (repo, ref),
            headers=self.auth_headers(repo, headers={"Content-Type": blob.media_type}),
            body=blob.data,
        )
        if r.status != 201:
            raise RuntimeError("manifest PUT failed: %r" % r)
        if r.header("docker-content-digest") != blob.digest:
            raise RuntimeError("registry computed %s for a manifest whose digest is %s" % (r.header("docker-content-digest"), blob.digest))

    def push_image(self, repo, tag, image):
        """Push an Image or Index over the HTTP API (works for Docker schema2 types too)."""
        for b in image.blobs():
            self.push_blob(repo, b.data, b.digest)
        if isinstance(image, Index):
            for img in image.images:
                self.put_manifest(repo, img.digest, img.manifest)
        self.put_manifest(repo, tag, image.manifest)

    def skopeo_push(self, repo, tag, image):
        """Write an OCI layout and push it with `skopeo copy --all` (the way a user would)."""
        layout = tmpdir("layout-%s-%s" % (repo.replace("/", "_"), tag))
        write_oci_layout(layout, image, tag)
        creds = ["--dest-creds", self.creds] if self.creds else []
        skopeo(
            "copy",
            "--all",
            "--preserve-digests",
            "--dest-tls-verify=false",
            *creds,
            "oci:%s:%s" % (layout, tag),
            "docker://%s/%s:%s" % (self.addr, repo, tag),
        )

    def manifest_digest(self, repo, ref):
        r = request(
            self.addr,
            "HEAD",
            "/v2/%s/manifests/%s" % (repo, ref),
            headers=self.auth_headers(repo, "pull", {"Accept": MANIFEST_ACCEPT}),
        )
        if r.status != 200:
            raise RuntimeError("HEAD manifest on registry: %r" % r)
        return r.header("docker-content-digest")


def skopeo(*args, timeout=180):
    """Run skopeo; returns stdout, raises AssertionError with its output on failure."""
    argv = [SKOPEO, "--insecure-policy"] + list(args)
    env = dict(os.environ)
    env.setdefault("XDG_RUNTIME_DIR", tmpdir("xdg"))
    env["TMPDIR"] = tmpdir("skopeo-tmp")
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, env=env)
    if p.returncode != 0:
        raise AssertionError(
            "skopeo failed (rc=%d): %s\nstdout: %s\nstderr: %s"
            % (p.returncode, " ".join(argv), p.stdout.decode(errors="replace")[-3000:], p.stderr.decode(errors="replace")[-3000:])
        )
    return p.stdout


# ---------------------------------------------------------------------------
# hoard
# ---------------------------------------------------------------------------
def oci_upstream(url, name="dockerhub", registries=("docker.io",), prefix="dockerhub", default=True, manifest_ttl="5m", **extra):
    """One OCI upstream entry; `extra` adds keys as they are spelled in the config file
    (max_stale="1h", offline=True, breaker={"failures": 3, "cooldown": "30s"}, auth={...})."""
    u = {"name": name, "kind": "oci", "url": url, "registries": list(registries), "manifest_ttl": manifest_ttl}
    u.update(extra)
    if prefix:
        u["prefix"] = prefix
    if default:
        u["default"] = True
    return u


def _yaml_scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_yaml_scalar(x) for x in v) + "]"
    if isinstance(v, dict):  # a YAML flow mapping
        return "{" + ", ".join("%s: %s" % (k, _yaml_scalar(x)) for k, x in v.items()) + "}"
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


class Hoard:
    """hoard serve with a generated config; `store` is kept across restarts."""

    def __init__(self, upstreams, label="hoard", store=None, extra=None):
        self.label = label
        self.dir = tmpdir(label)
        self.store = store or os.path.join(self.dir, "store")
        self.upstreams = upstreams
        self.config_path = os.path.join(self.dir, "hoard.yaml")
        self.write_config(upstreams, extra)
        self.proc = None
        self.addr = None
        self.runs = 0

    def write_config(self, upstreams, extra=None):
        """(Re)writes the config file, atomically (a reload never reads half a file)."""
        self.upstreams = upstreams
        lines = ["listen: 127.0.0.1:0", "store: { path: %s }" % _yaml_scalar(self.store), "upstreams:"]
        for u in upstreams:
            first = True
            for k, v in u.items():
                lines.append("%s%s: %s" % ("  - " if first else "    ", k, _yaml_scalar(v)))
                first = False
        for k, v in (extra or {}).items():
            lines.append("%s: %s" % (k, _yaml_scalar(v)))
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, self.config_path)

    def sighup(self):
        self.proc.proc.send_signal(signal.SIGHUP)

    def start(self, timeout=30):
        if not os.path.exists(HOARD_BIN):
            raise AssertionError("hoard binary not found at %s (set HOARD_BIN)" % HOARD_BIN)
        self.runs += 1
        ready = os.path.join(self.dir, "ready.%d" % self.runs)
        label = self.label if self.runs == 1 else "%s.run%d" % (self.label, self.runs)
        self.proc = Process(label, [HOARD_BIN, "serve", "--config", self.config_path, "--ready-file", ready], self.dir)
        self.proc.start()
        register_log(label + " stderr (access log)", self.proc.stderr_path, 60)
        register_log(label + " stdout", self.proc.stdout_path, 20)
        deadline = time.monotonic() + timeout
        while True:
            if not self.proc.alive():
                raise AssertionError(
                    "hoard exited (rc=%s) before writing its ready file\nconfig:\n%s\n%s"
                    % (self.proc.proc.returncode, open(self.config_path).read(), self.proc.output_tail())
                )
            try:
                with open(ready) as f:
                    content = f.read()
                if content.endswith("\n"):
                    self.addr = content.strip()
                    break
            except FileNotFoundError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("hoard wrote no ready file within %ds\n%s" % (timeout, self.proc.output_tail()))
            time.sleep(0.02)
        return self

    def stop(self, timeout=15):
        """SIGTERM (graceful); returns the exit code."""
        return self.proc.stop(timeout=timeout) if self.proc else None

    def kill9(self):
        self.proc.kill9()

    def close(self):
        """stop() and drop this hoard's logs from the failure report (per-test hoards)."""
        rc = self.stop()
        for i in range(1, self.runs + 1):
            lbl = self.label if i == 1 else "%s.run%d" % (self.label, i)
            unregister_log(os.path.join(self.dir, lbl + ".stderr"))
            unregister_log(os.path.join(self.dir, lbl + ".stdout"))
        return rc

    def restart(self):
        self.stop()
        return self.start()

    # ---- observation -------------------------------------------------------
    def access_log(self, all_runs=True):
        """Parsed JSON access-log lines from stderr (non-JSON lines are skipped)."""
        paths = []
        if all_runs:
            for i in range(1, self.runs + 1):
                lbl = self.label if i == 1 else "%s.run%d" % (self.label, i)
                paths.append(os.path.join(self.dir, lbl + ".stderr"))
        elif self.proc:
            paths.append(self.proc.stderr_path)
        out = []
        for p in paths:
            try:
                with open(p, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        line = line.strip()
                        if line.startswith("{"):
                            try:
                                out.append(json.loads(line))
                            except ValueError:
                                pass
            except FileNotFoundError:
                pass
        return out

    def output_text(self):
        """Everything hoard wrote (stderr and stdout of every run): for "no secret in the logs"."""
        out = []
        for i in range(1, self.runs + 1):
            lbl = self.label if i == 1 else "%s.run%d" % (self.label, i)
            for ext in (".stderr", ".stdout"):
                try:
                    with open(os.path.join(self.dir, lbl + ext), encoding="utf-8", errors="replace") as f:
                        out.append(f.read())
                except FileNotFoundError:
                    pass
        return "\n".join(out)

    def wait_access_log(self, contains, count, timeout=5.0):
        """Access-log lines whose path contains `contains`, waiting (bounded) until there are
        at least `count`: a line may be written just after the client saw the response end."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [l for l in self.access_log() if contains in str(l.get("path", ""))]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def metric(self, name):
        """Sum of a Prometheus metric's samples from /-/metrics, or None if unavailable."""
        try:
            r = request(self.addr, "GET", "/-/metrics", timeout=5)
        except OSError:
            return None
        if r.status != 200:
            return None
        total, found = 0.0, False
        for line in r.body.decode(errors="replace").splitlines():
            if line.startswith("#"):
                continue
            key = line.split("{", 1)[0].split(" ", 1)[0]
            if key == name:
                try:
                    total += float(line.rsplit(" ", 1)[1])
                    found = True
                except ValueError:
                    pass
        return total if found else None

    def get(self, path, headers=None, timeout=30):
        return request(self.addr, "GET", path, headers=headers, timeout=timeout)

    def head(self, path, headers=None, timeout=30):
        return request(self.addr, "HEAD", path, headers=headers, timeout=timeout)


# ---------------------------------------------------------------------------
# test base class
# ---------------------------------------------------------------------------
class HoardTestCase(unittest.TestCase):
    """Prints the tails of hoard's (and the upstream's) logs when a test fails."""

    maxDiff = 4000

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            sys.stderr.write("\n==== logs after failure of %s ====\n%s\n" % (self.id(), logs_report()))
            sys.stderr.flush()
        return out

    def logs(self):
        """For assertion messages: the current log tails."""
        return "\n" + logs_report()

    def assertOciError(self, resp, status, code=None, msg=""):
        self.assertEqual(resp.status, status, "%s: expected %d, got %r%s" % (msg, status, resp, self.logs()))
        if code is not None:
            self.assertIn(code, resp.error_codes(), "%s: expected OCI error code %s in body, got %r" % (msg, code, resp))


def run_concurrently(fns, timeout=120):
    """Run callables at the same moment (barrier); returns their results (exceptions re-raised)."""
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)
    errors = [None] * len(fns)

    def runner(i, fn):
        try:
            barrier.wait(10)
            results[i] = fn()
        except BaseException as e:  # noqa: B902
            errors[i] = e

    threads = [threading.Thread(target=runner, args=(i, fn), daemon=True) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    for i, t in enumerate(threads):
        if t.is_alive():
            raise AssertionError("concurrent call %d did not finish within %ds" % (i, timeout))
    for e in errors:
        if e is not None:
            raise e
    return results


def start_stack(cls, upstream=None, hoard_label="hoard"):
    """docker-registry <- CountingProxy <- hoard, stopped by class cleanups (LIFO).

    `upstream` are extra oci_upstream() keyword arguments for the registry's upstream."""
    reg = Registry().start()
    cls.addClassCleanup(reg.stop)
    proxy = CountingProxy(reg.url).start()
    cls.addClassCleanup(proxy.stop)
    hoard = Hoard([oci_upstream(proxy.url, **(upstream or {}))], label=hoard_label).start()
    cls.addClassCleanup(hoard.stop)
    return reg, proxy, hoard


# ---------------------------------------------------------------------------
# issue 3 helpers: upstream auth, containerd hosts dirs, polling
# ---------------------------------------------------------------------------
HTPASSWD = shutil.which("htpasswd") or "/usr/bin/htpasswd"


def make_htpasswd(path, user, password):
    """A bcrypt htpasswd file (distribution accepts only bcrypt entries)."""
    if not os.access(HTPASSWD, os.X_OK):
        raise AssertionError("%s missing (apache2-utils): run packaging/install-deps.sh" % HTPASSWD)
    p = subprocess.run([HTPASSWD, "-Bbn", user, password], stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if p.returncode != 0:
        raise AssertionError("htpasswd failed: %s" % p.stderr.decode(errors="replace"))
    with open(path, "wb") as f:
        f.write(p.stdout.strip() + b"\n")
    return path


def basic_auth(user, password):
    import base64

    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def write_hosts_dir(mirror_addr, registry="docker.io"):
    """A containerd --hosts-dir whose `registry` pulls go only through http://mirror_addr
    (the registry's own server is a dead port). Returns the directory."""
    d = tmpdir("hosts")
    os.makedirs(os.path.join(d, registry))
    with open(os.path.join(d, registry, "hosts.toml"), "w") as f:
        f.write(
            'server = "http://127.0.0.1:%d"\n\n'
            '[host."http://%s"]\n'
            '  capabilities = ["pull", "resolve"]\n' % (dead_port(), mirror_addr)
        )
    return d


def wait_until(pred, timeout, interval=0.05):
    """Poll `pred` until truthy or `timeout`; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(interval)


# ---------------------------------------------------------------------------
# issue 4 helpers: npm front end (fixture registries, an isolated npm client)
# ---------------------------------------------------------------------------
NPM = shutil.which("npm") or "/usr/bin/npm"
NODE = shutil.which("node") or "/usr/bin/node"


def npm_upstream(url, name="npmjs", default=True, scopes=None, manifest_ttl="5m", **extra):
    """One npm upstream entry (`scopes=["@acme"]` routes those scopes to it)."""
    u = {"name": name, "kind": "npm", "url": url, "manifest_ttl": manifest_ttl}
    if default:
        u["default"] = True
    if scopes:
        u["scopes"] = list(scopes)
    u.update(extra)
    return u


def npm_url(hoard):
    """The registry URL a user configures for hoard."""
    return "http://%s/npm/" % hoard.addr


def start_npm_stack(cls, manifest_ttl="5m", hoard_label="hoard", public_extra=None, private_extra=None):
    """Public fixture (default upstream) + private fixture (scope @acme) + hoard, all stopped by
    class cleanups. Returns (public NpmRegistry, private NpmRegistry, Hoard)."""
    public, private = sample_universe()
    pub = NpmRegistry(public, label="npm-public", dist_tags=SAMPLE_DIST_TAGS).start()
    cls.addClassCleanup(pub.stop)
    priv = NpmRegistry(private, label="npm-private").start()
    cls.addClassCleanup(priv.stop)
    hoard = Hoard(npm_stack_upstreams(pub, priv, manifest_ttl, public_extra, private_extra), label=hoard_label).start()
    cls.addClassCleanup(hoard.stop)
    return pub, priv, hoard


def npm_stack_upstreams(pub, priv, manifest_ttl="5m", public_extra=None, private_extra=None):
    return [
        npm_upstream(pub.url, name="npmjs", default=True, manifest_ttl=manifest_ttl, **(public_extra or {})),
        npm_upstream(priv.url, name="internal", default=False, scopes=["@acme"], manifest_ttl=manifest_ttl, **(private_extra or {})),
    ]


class NpmResult:
    def __init__(self, argv, rc, stdout, stderr, elapsed):
        self.argv, self.rc, self.stdout, self.stderr, self.elapsed = argv, rc, stdout, stderr, elapsed

    @property
    def output(self):
        return self.stdout + "\n" + self.stderr

    def __repr__(self):
        return "<npm rc=%s %.1fs: %s\n-- stdout --\n%s\n-- stderr --\n%s>" % (
            self.rc,
            self.elapsed,
            " ".join(self.argv[1:]),
            self.stdout[-3000:],
            self.stderr[-4000:],
        )


class NpmClient:
    """The system npm, isolated so that it can only reach `registry`: private user and global
    npmrc (nothing from the machine's config), private cache and HOME, no proxy variables,
    `--registry` on every command line and `npm_config_registry` in the environment. Retries
    are kept (npm's real behaviour) but with short back-offs so failing cases stay fast."""

    def __init__(self, registry, label="npm", extra_rc=""):
        self.registry = registry if registry.endswith("/") else registry + "/"
        self.label = label
        self.home = tmpdir(label)
        self.cache = os.path.join(self.home, "cache")
        self.env = isolated_npm_env(self.home)
        rc = "registry=%s\nupdate-notifier=false\nfund=false\naudit=false\n%s" % (self.registry, extra_rc)
        for key in ("npm_config_userconfig", "npm_config_globalconfig"):
            with open(self.env[key], "w") as f:
                f.write(rc)
        self.env["npm_config_registry"] = self.registry
        self.env.pop("npm_config_offline", None)
        self.env["npm_config_cache"] = self.cache

    def fresh_cache(self):
        """Use an empty npm cache from now on (the next install must fetch everything)."""
        self.cache = tmpdir(self.label + "-cache")
        self.env["npm_config_cache"] = self.cache
        return self.cache

    def run(self, *args, cwd=None, check=True, timeout=120, input=None):
        argv = [
            NPM,
            *args,
            "--registry",
            self.registry,
            "--cache",
            self.cache,
            "--logs-dir",
            os.path.join(self.home, "logs"),
            "--no-update-notifier",
            "--no-fund",
            "--fetch-retries=1",
            "--fetch-retry-mintimeout=200",
            "--fetch-retry-maxtimeout=1000",
            "--fetch-timeout=30000",
        ]
        t0 = time.monotonic()
        p = subprocess.run(
            argv,
            cwd=cwd or self.home,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            input=input,
            timeout=timeout,
        )
        r = NpmResult(argv, p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"), time.monotonic() - t0)
        if check and r.rc != 0:
            raise AssertionError("npm failed: %r" % r)
        return r

    def install(self, project, *extra, check=True, timeout=120):
        """`npm install` in `project` (no audit, revalidate every packument: --prefer-online)."""
        return self.run("install", "--no-audit", "--prefer-online", "--loglevel=http", *extra, cwd=project, check=check, timeout=timeout)


def write_npm_project(deps=None, name="sample-project"):
    """A directory holding a package.json depending on `deps` (default: the sample project)."""
    d = tmpdir(name)
    with open(os.path.join(d, "package.json"), "w") as f:
        json.dump({"name": name, "version": "1.0.0", "private": True, "dependencies": dict(deps or SAMPLE_PROJECT_DEPS)}, f, indent=2)
    return d


def read_npm_lock(project):
    """package-lock.json's packages, keyed by package name (top-level node_modules/ entries)."""
    with open(os.path.join(project, "package-lock.json")) as f:
        lock = json.load(f)
    out = {}
    for key, entry in lock.get("packages", {}).items():
        if key.startswith("node_modules/") and "/node_modules/" not in key:
            out[key[len("node_modules/") :]] = entry
    return out


def npm_lock_problems(project, hoard, fixtures, expected=None):
    """Differences between `project`'s package-lock.json and what installing through `hoard` from
    `fixtures` ({name: NpmRegistry}, "@acme/" prefixes allowed as keys, "" = everything else) must give:
    versions as `expected` ({name: version}, default SAMPLE_PROJECT_TREE), integrity equal to the
    fixture's, resolved = hoard's URL in the conventional /<name>/-/<base>-<ver>.tgz form."""
    expected = expected or SAMPLE_PROJECT_TREE
    lock = read_npm_lock(project)
    problems = []
    if set(lock) != set(expected):
        problems.append("lockfile packages %s, expected %s" % (sorted(lock), sorted(expected)))
    base = npm_url(hoard).rstrip("/")
    for name, ver in expected.items():
        e = lock.get(name)
        if e is None:
            continue
        reg = next((r for prefix, r in fixtures.items() if prefix and name.startswith(prefix)), fixtures.get(""))
        if e.get("version") != ver:
            problems.append("%s: version %s, expected %s" % (name, e.get("version"), ver))
            continue
        if e.get("integrity") != reg.integrity(name, ver):
            problems.append("%s@%s: integrity %s != fixture's %s" % (name, ver, e.get("integrity"), reg.integrity(name, ver)))
        if e.get("resolved") != base + tarball_path(name, ver):
            problems.append("%s@%s: resolved %s, expected %s" % (name, ver, e.get("resolved"), base + tarball_path(name, ver)))
    return problems


SAMPLE_REQUIRE_JS = (
    "const a = require('fixture-a'), u = require('@acme/util'), f = require('@tools/fmt');"
    "console.log(JSON.stringify({a: a.version, b: a.deps?.['fixture-b']?.version,"
    " c: a.deps?.['fixture-b']?.deps?.['fixture-c']?.version, u: u.version, core: u.deps?.['@acme/core']?.version,"
    " impostor: !!u.impostor, fmt: f.version, native: a.native}))"
)
SAMPLE_REQUIRE_EXPECTED = {"a": "1.1.0", "b": "2.1.0", "c": "1.0.1", "u": "1.2.0", "core": "1.0.0", "impostor": False, "fmt": "1.2.0", "native": None}


def sample_require(project):
    """What node sees when it requires the sample project's packages (compare with
    SAMPLE_REQUIRE_EXPECTED): nested resolution, the private @acme/util, no win32-only package."""
    return json.loads(node_eval(project, SAMPLE_REQUIRE_JS))


def node_eval(project, code, timeout=30):
    """Run `node -e code` in `project`; returns stdout, raises AssertionError on failure."""
    p = subprocess.run([NODE, "-e", code], cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("node -e %r failed (rc=%d): %s" % (code, p.returncode, p.stderr.decode(errors="replace")[-2000:]))
    return p.stdout.decode()


def main():
    unittest.main(verbosity=2)
