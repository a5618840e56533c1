"""What the benchmark report scripts share (bench/report.py, bench/npm/report.py,
bench/pypi/report.py, bench/go/report.py): reading results.env, formatting figures, the median
rule, the header/"Machine"/"Check lines" parts every report has, and writing files, including the
marked sections of bench/RESULTS.md that belong to one benchmark each.

Imported through sys.path by those scripts (bench/lib is not a package); stdlib only, like them.
The tables and prose of each report stay in its own script.
"""
import os
import statistics
import tempfile


# ---------------------------------------------------------------- results.env
def load(path):
    """results.env as a dict: one key=value a line, the value everything after the first "="."""
    res = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if "=" in line:
                k, v = line.split("=", 1)
                res[k] = v
    return res


def fields(line):
    """A value that is itself space-separated key=value pairs (a wrk summary, an install's checks)."""
    out = {}
    for part in (line or "").split():
        if "=" in part:
            k, v = part.split("=", 1)
            out[k] = v
    return out


def num(v):
    """A float, or None for anything that is not one (missing, empty, "?")."""
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def per_round(res, prefix, suffix, n):
    """The parsed values of PREFIX_r1_SUFFIX … PREFIX_rN_SUFFIX that were recorded, in round order."""
    return [fields(res[k]) for r in range(1, n + 1) if (k := f"{prefix}_r{r}_{suffix}") in res]


# ---------------------------------------------------------------- figures
def checked_median(rows, n, ok, key):
    """The median of rows' KEY, or None unless all N rounds are there and ok(row) holds for every
    one: a figure with a missing or failed round shows as "n/a", never as a number."""
    if not rows or len(rows) != n or not all(ok(x) for x in rows):
        return None
    return statistics.median(num(x[key]) for x in rows)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def ranges_overlap(a, b):
    """True when two sets of runs (more than one each) overlap: a median difference between them
    is then within the machine's noise, and the reports say so."""
    return len(a) > 1 and len(b) > 1 and None not in a + b and max(a) > min(b) and min(a) < max(b)


def fmt(v, digits=0):
    return "n/a" if v is None else f"{v:,.{digits}f}"


def fmt_ratio(r, digits=2):
    return "n/a" if r is None else f"{r:.{digits}f} ×"


def met(ok):
    """A target's verdict: ok True, False or None (not measured)."""
    return "n/a" if ok is None else ("**met**" if ok else "**missed**")


# ---------------------------------------------------------------- parts every report has
def provenance(res, script):
    """"Produced by `<command>` (from the repository root) on <date>, commit <c> plus the working
    tree at that time", without the final stop: some reports go on in the same sentence."""
    return (f"Produced by `{res.get('cmdline', script)}` (from the repository root) on "
            f"{res.get('date', '?')}, commit {res.get('commit', '?')} plus the working tree at that time")


def machine_lines(res, tools, shared=True):
    """The "Machine" section's heading and its first lines (what run.sh's put_machine recorded);
    the caller adds its own lines (peak RSS, ...) after them."""
    return [
        "## Machine",
        "",
        f"- {res.get('nproc')} CPUs ({res.get('cpu')}), {res.get('mem')}, kernel {res.get('kernel')}"
        + ("; shared with other work" if shared else ""),
        f"- {tools}",
        f"- load average before the run: {res.get('load_before')}; after: {res.get('load_after')}",
    ]


def check_lines(res, prefixes):
    """The "Check lines" section: every result whose key starts with one of PREFIXES, verbatim,
    sorted, so a reader can see what a "n/a" or a verdict rests on."""
    lines = ["## Check lines", "", "```"]
    lines += [f"{k}: {res[k]}" for k in sorted(res) if k.startswith(tuple(prefixes))]
    return lines + ["```", ""]


# ---------------------------------------------------------------- writing
def write_atomic(path, text):
    """Write `text` to `path` via a temporary file in the same folder and a rename, keeping the
    old file's permissions: a reader (or a run killed half way) never sees a half-written file."""
    d = os.path.dirname(os.path.abspath(path))
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_report(path, text):
    """The report file, then the same text on stdout (run.sh's caller sees the figures)."""
    write_atomic(path, text)
    print(text)


def markers(name):
    return f"<!-- {name}:begin -->", f"<!-- {name}:end -->"


def replace_section(path, name, body):
    """Put `body` between <!-- NAME:begin --> and <!-- NAME:end --> in `path` (bench/RESULTS.md,
    which several benchmarks share), leaving every other byte of the file as it was.

    The section written is begin marker, newline, `body` as given (its trailing newlines are the
    caller's: they set the spacing before the end marker), newline, end marker. Markers present
    once each, in order: everything from the begin marker to the end marker is replaced. Both
    absent (or no file): the section is appended after one blank line, with a final newline.
    Anything else (one marker only, either twice, in the wrong order): exit with a message rather
    than guess which text is the benchmark's to replace."""
    begin, end = markers(name)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    section = begin + "\n" + body + "\n" + end
    nb, ne = text.count(begin), text.count(end)
    if nb == 0 and ne == 0:
        text = text + ("" if text.endswith("\n") or not text else "\n") + "\n" + section + "\n"
    elif nb == 1 and ne == 1 and text.index(begin) < text.index(end):
        a, b = text.index(begin), text.index(end) + len(end)
        text = text[:a] + section + text[b:]
    else:
        raise SystemExit(f"report.py: {path} has {nb} {begin} and {ne} {end} markers; not touching it")
    write_atomic(path, text)
