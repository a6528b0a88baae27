"""Shared helpers for the benchmark scripts (not a test module; pytest never collects it).

- `snapshot_tree`: a copy of the repository's code, notebooks, params and demo data in a
  temporary folder. `agii_analysis` locates everything (params/, data/processed/,
  notebooks/) relative to its own folder (REPO_ROOT), so running `python -m
  agii_analysis.cli` with PYTHONPATH set to the copy builds there and never touches the
  working tree's `data/processed/` cache or `reports/`. It also freezes the code under
  test: edits made in the working tree while a benchmark runs do not change the figures.
- `run_measured`: run one command as a fresh process tree, return wall time, the peak
  resident memory of the largest single process (rusage of the waited-for children) and
  the peak of the summed RSS/PSS of the whole process tree (sampled from /proc).
- `table`: a plain-text table.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
OUT = BENCH_DIR / "out"
PYTHON = Path(sys.executable)
VENV_BIN = PYTHON.parent


# ------------------------------------------------------------------ tree snapshot

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


def snapshot_tree(dest: Path | None = None, *, data: bool = True, processed: bool = True,
                  params: bool = True) -> Path:
    """Copy code, templates, codebooks, params and (optionally) the demo data to `dest`."""
    dest = Path(dest or tempfile.mkdtemp(prefix="agii-bench-"))
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "agii_analysis", dest / "agii_analysis", ignore=_IGNORE, dirs_exist_ok=True)
    shutil.copytree(REPO / "notebooks", dest / "notebooks", ignore=_IGNORE, dirs_exist_ok=True)
    if (REPO / "demo").exists():
        shutil.copytree(REPO / "demo", dest / "demo", ignore=_IGNORE, dirs_exist_ok=True)
    if params:
        shutil.copytree(REPO / "params", dest / "params", dirs_exist_ok=True)
    else:
        (dest / "params").mkdir(exist_ok=True)
    if data:
        if not (REPO / "data" / "raw" / "demo").exists():
            sys.exit("benchmarks: no demo exports; run `.venv/bin/agii demo` (or `make demo`) first")
        shutil.copytree(REPO / "data" / "raw" / "demo", dest / "data" / "raw" / "demo", dirs_exist_ok=True)
        if processed and (REPO / "data" / "processed").exists():
            shutil.copytree(REPO / "data" / "processed", dest / "data" / "processed", dirs_exist_ok=True)
    (dest / "reports").mkdir(exist_ok=True)
    return dest


def tree_env(tree: Path) -> dict:
    """Environment that makes `python -m agii_analysis.cli` (and its kernels) use `tree`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PATH"] = str(VENV_BIN) + os.pathsep + env.get("PATH", "")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env["MPLBACKEND"] = "Agg"
    return env


def agii_cmd(*args: str) -> list[str]:
    return [str(PYTHON), "-m", "agii_analysis.cli", *args]


def check_tree(tree: Path) -> None:
    """Fail loudly when the copy would not be the code that runs."""
    out = subprocess.run([str(PYTHON), "-c", "import agii_analysis, pathlib; print(pathlib.Path(agii_analysis.__file__).resolve())"],
                         env=tree_env(tree), cwd=tree, capture_output=True, text=True, check=True).stdout.strip()
    if not out.startswith(str(tree.resolve())):
        sys.exit(f"benchmarks: agii_analysis resolves to {out}, not to the snapshot {tree}")


# ------------------------------------------------------------------ measuring

def _tree_pids(root: int) -> list[int]:
    """root and all its descendants, from /proc/<pid>/task/<tid>/children."""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
        except OSError:
            continue
    return out


def _mem_kb(pid: int, pss: bool) -> int:
    try:
        if pss:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        return int(line.split()[1])
        else:
            with open(f"/proc/{pid}/statm") as fh:
                return int(fh.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, ValueError, IndexError):
        pass
    return 0


class TreeSampler(threading.Thread):
    """Samples the summed RSS and PSS of a process tree every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.1):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_rss_kb = self.peak_pss_kb = self.max_procs = self.peak_proc_kb = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            pids = _tree_pids(self.pid)
            self.max_procs = max(self.max_procs, len(pids))
            rss = [_mem_kb(p, False) for p in pids]
            self.peak_rss_kb = max(self.peak_rss_kb, sum(rss))
            self.peak_proc_kb = max([self.peak_proc_kb, *rss])
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_mem_kb(p, True) for p in pids))
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def run_measured(cmd: list[str], *, cwd: Path | None = None, env: dict | None = None,
                 sample_tree: bool = False, check: bool = True, timeout: float | None = None) -> dict:
    """Run `cmd` as a fresh process; wall time, stdout/stderr and memory figures.

    `max_rss_mb`: peak RSS of the largest single process of the tree (the command and
    every descendant it waited for), from wait4()'s rusage, i.e. what
    getrusage(RUSAGE_CHILDREN) reports for this one child. Linux carries ru_maxrss over
    from the parent's RSS at fork() across exec(), so it is at least the RSS of the
    process that started the command (small here: the benchmark scripts import little).
    `tree_rss_mb` / `tree_pss_mb` (with sample_tree): peak of the summed RSS / PSS of all
    processes of the tree at one moment, sampled every 0.1 s (PSS shares common pages
    fairly; summed RSS counts them once per process); `proc_rss_mb`: the largest RSS of a
    single process of the tree seen by the sampler.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        sampler = TreeSampler(proc.pid) if sample_tree else None
        if sampler:
            sampler.start()
        deadline = None if timeout is None else t0 + timeout
        while True:  # without a timeout: one blocking wait (no polling beside the command)
            pid, status, usage = os.wait4(proc.pid, 0 if deadline is None else os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.01)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if sampler:
            sampler.stop()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if check and proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{stdout[-3000:]}\n{stderr[-3000:]}")
    res = {"wall_s": wall, "rc": proc.returncode, "stdout": stdout, "stderr": stderr,
           "max_rss_mb": usage.ru_maxrss / 1024, "user_s": usage.ru_utime, "sys_s": usage.ru_stime}
    if sampler:
        res.update(tree_rss_mb=sampler.peak_rss_kb / 1024, tree_pss_mb=sampler.peak_pss_kb / 1024,
                   proc_rss_mb=sampler.peak_proc_kb / 1024, max_procs=sampler.max_procs)
    return res


def median(values) -> float:
    return statistics.median(values)


def spread(values) -> str:
    """`median (min-max)` for a table cell."""
    v = list(values)
    if len(v) == 1:
        return f"{v[0]:.2f}"
    return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"


# ------------------------------------------------------------------ reporting

def table(headers: list[str], rows: list[list], title: str | None = None) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    def line(r):
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    text = "\n".join([line(cells[0]), sep, *map(line, cells[1:])])
    return (f"\n{title}\n\n" if title else "\n") + text + "\n"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")))
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    load = os.getloadavg()
    return (f"machine: {os.cpu_count()} CPUs ({cpu}), {mem} RAM, Python {platform.python_version()}, "
            f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def code_version() -> str:
    """Which code was measured: commit, uncommitted changes, hash of the package sources."""
    import hashlib

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    h = hashlib.sha256()
    for p in sorted((REPO / "agii_analysis").rglob("*.py")):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    dirty = git("status", "--porcelain", "--", "agii_analysis", "notebooks")
    n = len(dirty.splitlines())
    return (f"code: commit {git('rev-parse', '--short', 'HEAD') or '?'}"
            f"{f' + {n} uncommitted file(s) in agii_analysis/ and notebooks/' if n else ''}, "
            f"package sources sha256 {h.hexdigest()[:12]} ({time.strftime('%Y-%m-%d %H:%M')})")


def save_json(name: str, data) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    path.write_text(json.dumps(data, indent=1, default=str), encoding="utf-8")
    return path


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"
