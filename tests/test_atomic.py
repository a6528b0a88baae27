"""Atomic outputs: `agii run` killed (SIGTERM, SIGKILL) at moments spread over a build
leaves the previous reports complete and byte-identical, or a complete new set that the
manifest describes; never a partial file, never a kernel left running; the next normal
run cleans up what a hard kill left and succeeds.

One small survey (vorming 2022, ~8 s a build). The kill points are phases of the build
seen from outside (the staging folder, the files appearing in it, the kernel process),
so they do not depend on the speed of the machine:

    startup   0.5 s after the start (imports, before anything is written)
    compute   the staging folder exists (results being computed / JSON written)
    notebook  the kernel has been running cells for a second
    render    the HTML is in staging (the PDF is being rendered)
    xlsx      the PDF is in staging (the appendix is being written, then the swap)
    swap      the pending manifest entry exists (right around the folder swap)
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from agii_analysis.params import REPO_ROOT
from agii_analysis.run import output_names

PARAMS = "params/2022/vorming.yaml"
SURVEY, YEAR = "vorming", 2022
NAMES = sorted(output_names(SURVEY, YEAR).values())  # the five files
POINTS = ["startup", "compute", "notebook", "render", "xlsx", "swap"]

pytestmark = pytest.mark.skipif(not (REPO_ROOT / PARAMS).exists(), reason="no demo params")


def _cmd(reports: Path) -> list[str]:
    # -X faulthandler: a run that hangs after the signal is aborted and shows where (see _run_and_kill)
    return [sys.executable, "-X", "faulthandler", "-c",
            "import sys; from agii_analysis.cli import main; sys.exit(main(sys.argv[1:]))",
            "run", "--params", PARAMS, "--reports-dir", str(reports), "--force", "--no-progress"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(folder: Path) -> dict[str, str]:
    return {p.name: _sha(p) for p in sorted(folder.iterdir())} if folder.exists() else {}


def _leftovers(year_dir: Path) -> list[str]:
    return sorted(p.name for p in year_dir.iterdir()
                  if p.name.startswith((".staging-", ".old-", ".pending-")) or p.name.endswith(".tmp"))


def _manifest_outputs(year_dir: Path, pending: bool = False) -> dict[str, str] | None:
    path = year_dir / (f".pending-{SURVEY}.json" if pending else "manifest.json")
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))  # never a torn manifest
    entry = data if pending else data["surveys"].get(SURVEY)
    return {o["file"]: o["sha256"] for o in entry["outputs"]} if entry else None


@pytest.fixture(scope="module")
def previous(tmp_path_factory) -> Path:
    """The first, uninterrupted run: the "previous" reports."""
    reports = tmp_path_factory.mktemp("atomic")
    proc = subprocess.run(_cmd(reports), cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    year_dir = reports / str(YEAR)
    assert sorted(_files(year_dir / SURVEY)) == NAMES
    assert _manifest_outputs(year_dir) == _files(year_dir / SURVEY)
    assert _leftovers(year_dir) == []
    return reports


def _reached(point: str, started: float, year_dir: Path, kernel_since: float | None, pid: int) -> bool:
    if point == "startup":
        return time.monotonic() - started >= 0.5
    if point == "notebook":
        return kernel_since is not None and time.monotonic() - kernel_since >= 1.0
    if point == "swap":
        return (year_dir / f".pending-{SURVEY}.json").exists()
    # this run's staging folder only: an earlier hard-killed run may have left its own
    stagings = list(year_dir.glob(f".staging-{SURVEY}~{pid}")) if year_dir.exists() else []
    if point == "compute":
        return bool(stagings)
    suffix = {"render": ".html", "xlsx": ".pdf"}[point]
    return any((s / f"{SURVEY}_{YEAR}{suffix}").exists() for s in stagings)


def _run_and_kill(reports: Path, sig: int, point: str) -> tuple[subprocess.Popen, str, set[int], bool]:
    """Start a forced rebuild, kill it at `point`; return the process, its stderr, the
    kernel pids seen and whether the kill happened before the run ended by itself."""
    year_dir = reports / str(YEAR)
    started = time.monotonic()
    proc = subprocess.Popen(_cmd(reports), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kernels: set[int] = set()
    kernel_since = None
    killed = False
    try:
        while proc.poll() is None and time.monotonic() - started < 300:
            try:
                for child in psutil.Process(proc.pid).children(recursive=True):
                    if child.pid not in kernels and "ipykernel" in " ".join(child.cmdline()):
                        kernels.add(child.pid)
                        kernel_since = kernel_since or time.monotonic()
            except psutil.Error:
                pass
            try:
                reached = _reached(point, started, year_dir, kernel_since, proc.pid)
            except OSError:  # a folder vanished while looking: look again
                reached = False
            if reached:
                proc.send_signal(sig)
                killed = True
                break
            time.sleep(0.001 if point == "swap" else 0.02)
        try:
            _, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:  # hung after the signal: abort it for the threads' stacks
            proc.send_signal(signal.SIGABRT)
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            pytest.fail(f"the run did not end within 120 s after {signal.Signals(sig).name} at {point!r}; "
                        f"its stacks:\n{err[-6000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc, err, kernels, killed


def _kernels_gone(pids: set[int], timeout: float = 30.0) -> list[int]:
    """After SIGKILL the kernel notices its parent is gone by polling: slow on a loaded machine."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGKILL"])
def test_killed_runs_leave_old_or_new_complete(previous, tmp_path, signame):
    import shutil

    sig = getattr(signal, signame)
    reports = tmp_path / "reports"
    shutil.copytree(previous, reports)
    year_dir = reports / str(YEAR)
    before = _files(year_dir / SURVEY)
    observed = []
    last_pid = None
    for point in POINTS:
        proc, err, kernels, killed = _run_and_kill(reports, sig, point)
        now = _files(year_dir / SURVEY)
        manifest = _manifest_outputs(year_dir)
        pending = _manifest_outputs(year_dir, pending=True)
        state = "previous" if now == before else "new"
        observed.append(f"{point}: rc={proc.returncode} killed={killed} -> {state}, leftovers={_leftovers(year_dir)}")
        # exactly the five files: complete, nothing partial (no .tmp, no half-written extra file)
        assert sorted(now) == NAMES, observed
        if state == "new":  # a complete new set, described by the manifest (or the pending entry
            assert now in (manifest, pending), observed  # recover() commits before the next run)
        else:
            assert manifest == before or pending == before, observed
        assert "Traceback" not in err, err
        if killed and signame == "SIGTERM":
            assert proc.returncode in (143, -signal.SIGTERM), (observed, err)
            # unwound: staging, kernel and temporary files removed by the run itself
            assert [x for x in _leftovers(year_dir) if not x.startswith(".pending-")] == [], observed
            if proc.returncode == 143:
                assert "terminated" in err
        if killed and signame == "SIGKILL":
            assert proc.returncode == -signal.SIGKILL
            if last_pid is not None and point != "startup":
                # this run got past recover(): what the previous hard kill left is gone
                assert not [x for x in _leftovers(year_dir) if x.endswith(f"~{last_pid}")], observed
        assert _kernels_gone(kernels) == [], f"kernel outlived the run: {observed[-1]}"
        before, last_pid = now, proc.pid
    # the next normal run cleans up and succeeds
    proc = subprocess.run(_cmd(reports), cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _leftovers(year_dir) == []
    assert sorted(_files(year_dir / SURVEY)) == NAMES
    assert _manifest_outputs(year_dir) == _files(year_dir / SURVEY)
    print("\n".join(observed))


def test_recover_commits_or_drops_a_pending_entry(previous, tmp_path):
    """Killed between the swap and the manifest update: the pending entry that matches the
    folder is committed; one that does not (killed before the swap) is dropped."""
    import shutil

    from agii_analysis.run import recover

    reports = tmp_path / "reports"
    shutil.copytree(previous, reports)
    year_dir = reports / str(YEAR)
    manifest = json.loads((year_dir / "manifest.json").read_text(encoding="utf-8"))
    entry = manifest["surveys"][SURVEY]
    # 1. pending describes other files (the swap never happened): dropped, manifest unchanged
    stale = dict(entry, outputs=[dict(o, sha256="0" * 64) for o in entry["outputs"]], built_at="later")
    (year_dir / f".pending-{SURVEY}.json").write_text(json.dumps(stale), encoding="utf-8")
    recover(year_dir)
    assert not (year_dir / f".pending-{SURVEY}.json").exists()
    assert json.loads((year_dir / "manifest.json").read_text(encoding="utf-8"))["surveys"][SURVEY] == entry
    # 2. the folder holds a new set the manifest does not know yet: the pending entry is committed
    html = year_dir / SURVEY / f"{SURVEY}_{YEAR}.html"
    html.write_text(html.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    new = dict(entry, outputs=[{"file": p.name, "sha256": _sha(p), "bytes": p.stat().st_size}
                               for p in sorted((year_dir / SURVEY).iterdir())], built_at="new")
    (year_dir / f".pending-{SURVEY}.json").write_text(json.dumps(new), encoding="utf-8")
    old_dir = year_dir / f".old-{SURVEY}~12345"
    shutil.copytree(year_dir / SURVEY, old_dir)  # and an old set the killed swap did not delete
    recover(year_dir)
    assert _leftovers(year_dir) == []
    assert json.loads((year_dir / "manifest.json").read_text(encoding="utf-8"))["surveys"][SURVEY]["built_at"] == "new"
    # 3. killed between the two renames of a swap without RENAME_EXCHANGE: the old set comes back
    os.replace(year_dir / SURVEY, year_dir / f".old-{SURVEY}~12345")
    recover(year_dir)
    assert sorted(_files(year_dir / SURVEY)) == NAMES and _leftovers(year_dir) == []


def test_recover_drops_a_half_moved_overview(tmp_path):
    """The overview files are moved in one rename each: killed half-way, the manifest
    forgets the overview (so the next run rebuilds it); fully moved, it is committed."""
    from agii_analysis.run import recover

    year_dir = tmp_path / str(YEAR)
    year_dir.mkdir()
    names = [f"overzicht_{YEAR}.ipynb", f"overzicht_{YEAR}.html"]

    def write(texts):
        for n, t in zip(names, texts):
            (year_dir / n).write_text(t, encoding="utf-8")
        return [{"file": n, "sha256": hashlib.sha256(t.encode()).hexdigest()} for n, t in zip(names, texts)]

    old = {"key": "old", "outputs": write(["old", "old"])}
    new = {"key": "new", "outputs": write(["new", "new"])}
    manifest = {"surveys": {}, "overview": old}
    for files, expected in ((["new", "old"], None), (["new", "new"], "new"), (["old", "old"], "old")):
        (year_dir / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
        write(files)
        (year_dir / ".pending-overzicht.json").write_text(json.dumps(new), encoding="utf-8")
        recover(year_dir)
        got = json.loads((year_dir / "manifest.json").read_text(encoding="utf-8"))["overview"]
        assert (got or {}).get("key") == expected, files
        assert not (year_dir / ".pending-overzicht.json").exists()
