"""PyPI pieces of the integration harness: the fixture index as a hoard upstream, and a real pip
in a fresh venv per client. Stdlib only; imported by tests/integration/test_pypi_*.py."""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

import harness  # noqa: E402
from pypi_index import (  # noqa: E402,F401
    SAMPLE_INSTALLED,
    SAMPLE_MODULES,
    SAMPLE_REQUIREMENTS,
    PyDist,
    PyPIIndex,
    isolated_pip_env,
    make_venv,
    normalize,
    sample_universe,
)


def pypi_upstream(index, name="pyfix", manifest_ttl="10m", **extra):
    """The fixture `index` (a PyPIIndex) as a kind: pypi upstream with its file host allowed."""
    u = {"name": name, "kind": "pypi", "url": index.index_url, "file_hosts": [index.files_url], "manifest_ttl": manifest_ttl}
    u.update(extra)
    return u


def simple_url(hoard):
    return "http://%s/pypi/simple/" % hoard.addr


class PipResult:
    def __init__(self, rc, output, argv):
        self.rc, self.output, self.argv = rc, output, argv

    def __repr__(self):
        return "pip rc=%s argv=%s\n--- output (tail) ---\n%s" % (self.rc, " ".join(self.argv), self.output[-3000:])


class PipClient:
    """Debian's pip (python3 -m venv + ensurepip) in its own fresh venv and HOME: no pip cache,
    no config file, nothing reachable but 127.0.0.1."""

    def __init__(self, index_url, label="pip"):
        self.index_url = index_url
        self.dir = harness.tmpdir(label)
        self.python = make_venv(os.path.join(self.dir, "venv"))
        self.env = isolated_pip_env(os.path.join(self.dir, "home"))

    def pip(self, *args, check=True, timeout=180):
        argv = [self.python, "-m", "pip", *args]
        p = subprocess.run(argv, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        r = PipResult(p.returncode, p.stdout.decode(errors="replace"), argv)
        if check and r.rc != 0:
            raise AssertionError("pip failed: %r%s" % (r, harness.logs_report()))
        return r

    def install(self, *requirements, require_hashes=None, check=True, timeout=180):
        args = ["install", "--no-cache-dir", "--index-url", self.index_url]
        if require_hashes is not None:
            path = os.path.join(self.dir, "requirements.txt")
            with open(path, "w") as f:
                f.write(require_hashes)
            args += ["--require-hashes", "-r", path]
        return self.pip(*args, *requirements, check=check, timeout=timeout)

    def installed(self):
        """{normalized name: version} of what pip installed (pip itself and setuptools left out)."""
        out = self.pip("list", "--format=freeze", "--disable-pip-version-check").output
        got = {}
        for line in out.splitlines():
            if "==" in line:
                name, version = line.split("==", 1)
                got[normalize(name)] = version.strip()
        for skip in ("pip", "setuptools", "wheel"):
            got.pop(skip, None)
        return got

    def import_versions(self, modules):
        """Imports each module in the venv and returns {module: module.VERSION}."""
        code = "import importlib, json, sys; print(json.dumps({m: importlib.import_module(m).VERSION for m in sys.argv[1:]}))"
        p = subprocess.run([self.python, "-c", code, *modules], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        if p.returncode != 0:
            raise AssertionError("import failed: %s" % p.stdout.decode(errors="replace"))
        import json

        return json.loads(p.stdout)
