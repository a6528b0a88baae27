"""`agii run`: build every report of a year (or one params file), atomically.

Per survey-year: compute the results once, execute the template with papermill (in
this process's Python, on this process's warm kernel, kernels.py), render HTML and PDF, write the Excel
appendix and the results JSON, all into a staging folder that replaces
`reports/<year>/<survey>/` only when every requested format succeeded. A survey-year
whose inputs, params, codebook, template and package code are unchanged since its
manifest entry is skipped. Then the year's overview is built from the results JSON
files. A failing survey does not stop the others; the exit code says one failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from . import _fastimport  # noqa: F401  (before anything imports jsonschema)
from . import kernels
from .errors import AgiiError
from .files import atomic_write_text
from .params import PARAMS_DIR, REPO_ROOT, check_placement, load_params
from .prepare import CACHE_ENV, file_sha256, hashes_by_name, input_hashes, package_hash

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
REPORTS_DIR = REPO_ROOT / "reports"
FORMATS = ("html", "pdf", "xlsx")
# the kernel talks to this process on localhost only; its TCP notice is noise here
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL", "--HistoryManager.enabled=False"]
STAGING_PREFIX = ".staging-"
OLD_PREFIX = ".old-"
PENDING_PREFIX = ".pending-"


@dataclass
class Outcome:
    survey: str
    year: int
    status: str  # built | skipped | failed
    message: str = ""
    entry: dict = field(default_factory=dict)


# ------------------------------------------------------------------ helpers

def template_for(survey: str) -> Path:
    path = NOTEBOOK_DIR / f"{survey}.ipynb"
    if not path.exists():
        raise AgiiError(f"no notebook template for survey {survey!r}", file=path,
                        expected="a template per survey type: copy the closest one in notebooks/ "
                                 "(README 'Add a new survey type')")
    return path


def output_names(survey: str, year: int) -> dict[str, str]:
    stem = f"{survey}_{year}"
    return {"ipynb": f"{stem}.ipynb", "html": f"{stem}.html", "pdf": f"{stem}.pdf",
            "xlsx": f"{stem}_bijlage.xlsx", "json": f"{stem}_resultaten.json"}


def fingerprint(params_file: Path, formats: tuple[str, ...]) -> dict:
    """Everything a survey-year's outputs depend on, hashed."""
    from .codebook import CODEBOOK_DIR

    params = load_params(params_file)
    parts = {
        "params": file_sha256(params_file),
        "inputs": hashes_by_name(input_hashes(params)),
        "codebook": file_sha256(CODEBOOK_DIR / f"{params.survey}.yaml"),
        "common": file_sha256(CODEBOOK_DIR / "_common.yaml"),
        "themes": file_sha256(CODEBOOK_DIR / "_themes.yaml") if (CODEBOOK_DIR / "_themes.yaml").exists() else None,
        "template": file_sha256(template_for(params.survey)),
        "code": package_hash(),
        "formats": sorted(formats),
    }
    prev = params_file.parent.parent / str(params.year - 1) / params_file.name
    if prev.exists():  # the change on last year depends on last year's data
        pp = load_params(prev)
        parts["previous"] = {"params": file_sha256(prev), "inputs": hashes_by_name(input_hashes(pp))}
    parts["key"] = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]
    return parts


_atomic_write = atomic_write_text


def load_manifest(year_dir: Path) -> dict:
    path = year_dir / "manifest.json"
    if not path.exists():
        return {"surveys": {}, "overview": None}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data.setdefault("surveys", {})
        return data
    except (OSError, ValueError):
        return {"surveys": {}, "overview": None}


def recover(year_dir: Path) -> None:
    """Finish or undo a swap that a killed run left half-done; drop stale staging folders.

    A pending manifest entry (written just before a swap, see `_write_pending`) is
    promoted when the outputs on disk are the ones it describes, else dropped; a pending
    overview whose files do not all match drops the overview entry, so it is rebuilt.
    """
    if not year_dir.exists():
        return
    for old in year_dir.glob(f"{OLD_PREFIX}*"):
        final = year_dir / old.name[len(OLD_PREFIX):].split("~")[0]
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, final)
    for stale in year_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    for tmp in year_dir.glob(".*.tmp"):
        tmp.unlink(missing_ok=True)
    pending = sorted(year_dir.glob(f"{PENDING_PREFIX}*.json"))
    if pending:
        manifest = load_manifest(year_dir)
        for p in pending:
            name = p.name[len(PENDING_PREFIX):-len(".json")]
            try:
                entry = json.loads(p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                entry = None
            if name == "overzicht":
                folder = year_dir
            else:
                folder = year_dir / name
            if entry and _matches(folder, entry.get("outputs") or []):
                if name == "overzicht":
                    manifest["overview"] = entry
                else:
                    manifest["surveys"][name] = entry
            elif name == "overzicht" and not _matches(year_dir, (manifest.get("overview") or {}).get("outputs") or [None]):
                manifest["overview"] = None  # a half-moved overview: rebuild it next time
        if year_dir.name.isdigit():
            manifest.update({"year": int(year_dir.name), "schema": "agii-manifest/1"})
        _save_manifest(year_dir, manifest)
        for p in pending:
            p.unlink(missing_ok=True)


def _matches(folder: Path, outputs: list) -> bool:
    """Every file of a manifest `outputs` list is in `folder` with that SHA-256."""
    try:
        return bool(outputs) and all((folder / o["file"]).is_file() and file_sha256(folder / o["file"]) == o["sha256"]
                                     for o in outputs)
    except (TypeError, KeyError, OSError):
        return False


def _write_pending(year_dir: Path, name: str, entry: dict) -> None:
    """The manifest entry of outputs about to be swapped in (recover() commits or drops it)."""
    _atomic_write(year_dir / f"{PENDING_PREFIX}{name}.json", json.dumps(entry, indent=1, ensure_ascii=False, default=str))


def _exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    return False  # EINVAL/ENOSYS (filesystem or kernel without it): fall back to two renames


def _swap_in(staging: Path, final: Path) -> None:
    """Replace `final` by `staging`: one atomic exchange where the OS has it, else two renames
    (recover() completes a swap killed between them)."""
    if final.exists():
        old = final.with_name(f"{OLD_PREFIX}{final.name}~{os.getpid()}")
        if _exchange(staging, final):  # final is the new set now, staging the old one
            os.replace(staging, old)
        else:
            os.replace(final, old)
            os.replace(staging, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, final)


def _check_folder(folder: Path) -> None:
    """The output folder, or the first of its parents that exists, must be a real folder:
    a file or a link of that name would be swapped out of sight (or stop the build with
    an OS error)."""
    if folder.is_symlink():  # the swap would replace the link by a folder and put the link aside
        raise AgiiError(f"{_shown(folder)} is a link" + ("" if folder.exists() else " to nothing"),
                        expected="a real folder (or none): agii run replaces the output folder as a whole; "
                                 "point --reports-dir to where the link leads instead")
    for path in (folder, *folder.parents):
        if path.exists() or path.is_symlink():
            if not path.is_dir():
                what = "a link to nothing" if path.is_symlink() and not path.exists() else "a file, not a folder"
                raise AgiiError(f"{_shown(path)} is {what}",
                                expected="move or rename that file: agii run writes the reports into a folder of "
                                         "that name")
            return


def _shown(folder: Path) -> str:
    """A folder as the notebooks name it: relative to the repository when inside it."""
    folder = Path(folder)
    return str(folder.relative_to(REPO_ROOT)) if folder.is_relative_to(REPO_ROOT) else str(folder)


def _save_manifest(year_dir: Path, manifest: dict) -> None:
    year_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write(year_dir / "manifest.json", json.dumps(manifest, indent=1, ensure_ascii=False, default=str))


def _outputs(folder: Path) -> list[dict]:
    return [{"file": p.name, "sha256": file_sha256(p), "bytes": p.stat().st_size}
            for p in sorted(folder.iterdir()) if p.is_file()]


# ------------------------------------------------------------------ notebook execution

def execute_notebook(template: Path, output: Path, parameters: dict, progress: bool = False) -> None:
    """Papermill, in this process; the kernel runs this interpreter (sys.executable)."""
    import logging

    import papermill as pm

    logging.getLogger("papermill").setLevel(logging.WARNING)
    box: dict = {}

    def work():
        km = None
        try:
            try:
                km = kernels.acquire(str(REPO_ROOT), KERNEL_ARGUMENTS)  # None: a fresh kernel
            except Exception as exc:
                raise AgiiError(f"cannot start or reset a Jupyter kernel for {template.name} "
                                f"({type(exc).__name__}: {exc})", expected="a working ipykernel in this environment") from exc
            pm.execute_notebook(
                str(template), str(output), parameters=parameters, kernel_name="python3",
                progress_bar=progress, cwd=str(REPO_ROOT), log_output=False, report_mode=False,
                request_save_on_cell_execute=False,  # written once at the end, not after every cell
                extra_arguments=KERNEL_ARGUMENTS, **({"km": km} if km is not None else {}),
            )
        except BaseException as exc:  # handed to the calling thread
            box["error"] = exc
        finally:
            kernels.release(km)

    # Papermill runs in a helper thread: in the main thread nbclient would replace the
    # SIGINT/SIGTERM handlers for the duration (and reset SIGTERM to the default on
    # exit), so a termination could not unwind the run. Here the main thread keeps its
    # handlers; when one raises, the kernel is killed before the exception goes on.
    worker = threading.Thread(target=work, name=f"papermill {template.name}", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except BaseException:
        log = logging.getLogger("papermill")
        level = log.level
        log.setLevel(logging.CRITICAL)  # "Kernel died while waiting": we killed it
        try:
            _kill_kernels()
            kernels.shutdown()  # and whatever still waits on it
            worker.join(10)
        finally:
            log.setLevel(level)
        raise
    exc = box.get("error")
    if isinstance(exc, pm.PapermillExecutionError):
        raise AgiiError(f"notebook {template.name} failed in {_cell_named(exc.source)}: {exc.ename}: {exc.evalue}",
                        file=template) from None
    if exc is not None:
        raise exc


def _cell_named(source: str) -> str:
    """The failing cell by its code (papermill's cell numbers count its injected cell)."""
    lines = [line.strip() for line in (source or "").splitlines() if line.strip() and not line.strip().startswith("#")]
    if not lines:
        return "a cell"
    first = lines[0] if len(lines[0]) <= 80 else lines[0][:77] + "..."
    return f"the cell `{first}`" + (f" (+{len(lines) - 1} lines)" if len(lines) > 1 else "")


def _kill_kernels() -> None:
    """Kill the Jupyter kernels this process started (they run in their own session)."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil comes with ipykernel
        return
    for child in psutil.Process().children():
        try:
            if any("ipykernel" in part for part in child.cmdline()):
                child.kill()
                child.wait(5)
        except (psutil.Error, OSError):
            pass


def render_outputs(nb_path: Path, title: str, formats: tuple[str, ...]) -> None:
    import nbformat

    from .render import render_html, render_pdf

    nb = nbformat.read(nb_path, as_version=4)
    html = render_html(nb, title)
    if "html" in formats:
        _atomic_write(nb_path.with_suffix(".html"), html)
    if "pdf" in formats:
        render_pdf(html, nb_path.with_suffix(".pdf"))


# ------------------------------------------------------------------ one survey-year

@dataclass
class Staged:
    """A survey-year whose results, executed notebook and Excel appendix are in its
    staging folder, waiting for its HTML/PDF and the swap (`finish_survey`): with
    `--jobs N` that second half can go to whichever worker is free first."""

    survey: str
    year: int
    formats: tuple
    staging: str
    final: str
    title: str
    expected: list
    entry: dict  # the manifest entry so far
    timings: dict
    elapsed: float  # seconds spent on the first half


def build_survey(params_file: Path, formats: tuple[str, ...], reports_dir: Path, force: bool = False,
                 progress: bool = False) -> Outcome:
    staged = start_survey(params_file, formats, reports_dir, force, progress)
    if isinstance(staged, Outcome):
        return staged
    try:
        return finish_survey(staged)
    except BaseException:  # also a termination between the halves
        shutil.rmtree(staged.staging, ignore_errors=True)
        raise


def start_survey(params_file: Path, formats: tuple[str, ...], reports_dir: Path, force: bool = False,
                 progress: bool = False) -> Outcome | Staged:
    """Results, executed notebook and Excel appendix into a staging folder (or the
    skipped outcome when the survey-year is up to date)."""
    from .appendix import write_appendix
    from .results import compute

    params_file = Path(params_file).resolve()
    started = time.perf_counter()
    params = load_params(params_file)
    survey, year = params.survey, params.year
    year_dir = reports_dir / str(year)
    final = year_dir / survey
    _check_folder(final)
    names = output_names(survey, year)
    fp = fingerprint(params_file, formats)
    expected = [names["ipynb"], names["json"]] + [names[f] for f in formats]
    skipped = _up_to_date(survey, year, year_dir, fp, expected, force)
    if skipped is not None:
        return skipped
    # warms up while the results are computed; started before the staging folder exists,
    # so a termination cannot fall between creating that folder and the block that removes it
    kernels.start_async(str(REPO_ROOT), KERNEL_ARGUMENTS)
    timings = {}
    year_dir.mkdir(parents=True, exist_ok=True)
    staging = year_dir / f"{STAGING_PREFIX}{survey}~{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        t = time.perf_counter()
        res = compute(params)
        res.to_json(staging / names["json"])
        timings["compute"] = time.perf_counter() - t
        t = time.perf_counter()
        execute_notebook(template_for(survey), staging / names["ipynb"], {
            "params_file": _shown(params_file),
            "results_file": str(staging / names["json"]),
            "survey": survey, "year": year,
            "suppression_threshold": params.suppression_threshold, "show_quotes": params.quotes,
        }, progress)
        timings["notebook"] = time.perf_counter() - t
        if "xlsx" in formats:
            t = time.perf_counter()
            write_appendix(res, staging / names["xlsx"])
            timings["xlsx"] = time.perf_counter() - t
        entry = {
            "survey": survey, "year": year, "params_file": _shown(params_file),
            "fingerprint": fp, "parameters": params.to_dict(), "accounting": res.accounting,
            "inputs": res.provenance["inputs"], "versions": res.provenance["versions"],
            "warnings": res.provenance["warnings"],
        }
        return Staged(survey, year, tuple(formats), str(staging), str(final),
                      f"{res.title} — {year}", expected, entry, timings, time.perf_counter() - started)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            year_dir.rmdir()  # made for this build only: gone again (not if anything else is in it)
        raise


def finish_survey(staged: Staged) -> Outcome:
    """HTML and PDF from the staged notebook, then the staging folder swapped in."""
    started = time.perf_counter()
    staging, final = Path(staged.staging), Path(staged.final)
    year_dir, names = final.parent, output_names(staged.survey, staged.year)
    timings = dict(staged.timings)
    outputs = None
    try:
        t = time.perf_counter()
        render_outputs(staging / names["ipynb"], staged.title, staged.formats)
        timings["render"] = time.perf_counter() - t
        missing = [n for n in staged.expected if not (staging / n).exists()]
        if missing:
            raise AgiiError(f"outputs not written: {', '.join(missing)}")
        _fix_notebook_paths(staging / names["ipynb"], staging, final)
        outputs = _outputs(staging)
        order = ("compute", "notebook", "render", "xlsx")
        entry = staged.entry | {
            "durations_s": {k: round(timings[k], 3) for k in order if k in timings}
            | {"total": round(staged.elapsed + time.perf_counter() - started, 3)},
            "outputs": outputs, "built_at": dt.datetime.now().isoformat(timespec="seconds"),
        }
        # killed between the swap and the manifest update, recover() commits this entry
        with _uninterrupted():
            _write_pending(year_dir, staged.survey, entry)
            _swap_in(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        pending = year_dir / f"{PENDING_PREFIX}{staged.survey}.json"
        if outputs is not None and pending.exists() and not _matches(final, outputs):  # no swap happened
            pending.unlink(missing_ok=True)
        raise
    return Outcome(staged.survey, staged.year, "built", "", entry)


def _up_to_date(survey: str, year: int, year_dir: Path, fp: dict, expected: list[str],
                force: bool) -> Outcome | None:
    """The skipped outcome when the manifest entry has this fingerprint and every output exists."""
    previous = load_manifest(year_dir)["surveys"].get(survey)
    if (not force and previous and previous.get("fingerprint", {}).get("key") == fp["key"]
            and all((year_dir / survey / n).exists() for n in expected)):
        return Outcome(survey, year, "skipped", "up to date", previous)
    return None


def _skip_check(params_file: Path, formats: tuple[str, ...], reports_dir: Path, force: bool) -> Outcome | None:
    """build_survey's first step alone (milliseconds): a pool is started only for the rest."""
    try:
        params = load_params(params_file)
        names = output_names(params.survey, params.year)
        expected = [names["ipynb"], names["json"]] + [names[f] for f in formats]
        return _up_to_date(params.survey, params.year, reports_dir / str(params.year),
                           fingerprint(params_file, formats), expected, force)
    except Exception:  # the build reports it, as one failed survey
        return None


def _fix_notebook_paths(nb_path: Path, staging: Path, final: Path) -> None:
    """The executed notebook names its results file and itself (papermill's
    `output_path`) by the final path, not the staging one."""
    text = nb_path.read_text(encoding="utf-8")
    rel_final = _shown(final)
    fixed = text.replace(str(staging), rel_final)
    if fixed != text:
        _atomic_write(nb_path, fixed)


class Terminated(BaseException):
    """SIGTERM: unwind (finally blocks remove staging folders and kernels), then stop."""


_CRITICAL = {"depth": 0, "pending": False}
_TASK = {"busy": False}  # a pool worker running a task (else it waits for one)


def _on_sigterm(signum, frame):
    if _CRITICAL["depth"]:  # inside a swap: finish it first (see _uninterrupted)
        _CRITICAL["pending"] = True
        return
    if multiprocessing.parent_process() is not None and not _TASK["busy"]:
        raise SystemExit(128 + signum)  # an idle worker: nothing to unwind; exits quietly, kernel shut down
    raise Terminated()


@contextlib.contextmanager
def _uninterrupted():
    """A SIGTERM arriving in here is raised when the block is done (a swap is not cut in two)."""
    _CRITICAL["depth"] += 1
    try:
        yield
    finally:
        _CRITICAL["depth"] -= 1
        if not _CRITICAL["depth"] and _CRITICAL["pending"]:
            _CRITICAL["pending"] = False
            raise Terminated()


def _preload() -> None:
    """Import what every build needs: in the parent while its kernel starts, before it
    forks the workers, which inherit it (docs/performance.md)."""
    import matplotlib

    matplotlib.use("Agg")
    import nbconvert  # noqa: F401
    import nbformat  # noqa: F401
    import papermill  # noqa: F401

    from . import appendix, render, results  # noqa: F401
    try:
        import weasyprint  # noqa: F401
    except ImportError:  # pragma: no cover - installed with the package
        pass


def _worker_init() -> None:
    """A worker starts its own kernel (it warms up in its process while the worker takes
    its first task); the build modules it inherited from the parent (`_Pools.get`)."""
    kernels.shut_down_at_worker_exit()
    _worker_signals()  # Ctrl-C is the parent's; SIGTERM before the first task ends the worker
    try:
        kernels.start_async(str(REPO_ROOT), KERNEL_ARGUMENTS)
    except (SystemExit, Terminated):  # stopped while starting: no traceback, no kernel left
        kernels.shutdown()
        os._exit(143)


def _build_worker(args, half: bool = False) -> Outcome | Staged:
    """A survey-year's build (or, `half`, its first half: `start_survey`) in a pool
    worker or this process; errors come back as a failed outcome."""
    params_file, formats, reports_dir, force, cells, year = args
    step = start_survey if half else build_survey
    return _task(Path(params_file).stem, year, step, Path(params_file), formats, Path(reports_dir), force,
                 progress=cells)


def _finish_worker(staged: Staged) -> Outcome:
    """A survey-year's second half (`finish_survey`), on whichever worker is free."""
    return _task(staged.survey, staged.year, finish_survey, staged)


def _task(survey: str, year: int, step, *args, **kwargs) -> Outcome | Staged:
    """One step of a survey-year; an error is its failed outcome (a bug must not stop
    the other surveys)."""
    try:
        with _worker_task():
            return step(*args, **kwargs)
    except AgiiError as exc:
        return Outcome(survey, year, "failed", str(exc))
    except Exception as exc:
        return Outcome(survey, year, "failed", f"{type(exc).__name__}: {exc}")


@contextlib.contextmanager
def _worker_task():
    """A task in a pool worker: SIGTERM unwinds it (see Terminated)."""
    _worker_signals()
    _TASK["busy"] = True
    try:
        yield
    finally:
        _TASK["busy"] = False


def _worker_signals() -> None:
    if multiprocessing.parent_process() is not None:  # a pool worker (not the CLI process itself)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C: the parent stops the workers
        signal.signal(signal.SIGTERM, _on_sigterm)


# ------------------------------------------------------------------ overview

def _overview_sources(year: int, source: Path, surveys: list[str], formats: tuple[str, ...]) -> tuple[list[Path], str]:
    """The results files an overview is built from, and its key (their hashes, the
    template, the package code, the formats)."""
    result_files = [source / str(year) / s / output_names(s, year)["json"] for s in surveys]
    result_files = [p for p in result_files if p.exists()]
    key = hashlib.sha256(json.dumps([file_sha256(p) for p in result_files] + [file_sha256(template_for("overzicht")), package_hash(), sorted(formats)]).encode()).hexdigest()[:24]
    return result_files, key


def build_overview(year: int, reports_dir: Path, formats: tuple[str, ...], surveys: list[str],
                   force: bool, changed: bool, inputs_root: Path | None = None,
                   publish: bool = True) -> Outcome:
    """The year's overview from the surveys' results JSON files; `inputs_root` (a folder
    laid out like reports/) stands in for the reports folder as their source. Unpublished,
    the outputs stay in their staging folder (named in the entry) for `_publish_overview`."""
    from .appendix import write_overview
    from .results import Results

    year_dir = reports_dir / str(year)
    _check_folder(year_dir)
    stem = f"overzicht_{year}"
    targets = _overview_targets(year, formats)
    source = Path(inputs_root or reports_dir)
    result_files, key = _overview_sources(year, source, surveys, formats)
    prev = load_manifest(year_dir).get("overview") or {}
    if not force and not changed and prev.get("key") == key and all((year_dir / t).exists() for t in targets):
        return Outcome("overzicht", year, "skipped", "up to date", prev)
    if not result_files:
        raise AgiiError(f"no survey results for {year} to build the overview from")
    staging = year_dir / f"{STAGING_PREFIX}overzicht~{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        nb = staging / f"{stem}.ipynb"
        execute_notebook(template_for("overzicht"), nb, {"year": year, "reports_dir": _shown(source)})
        _fix_notebook_paths(nb, staging, year_dir)
        if inputs_root is not None:  # the notebook names the reports folder, not the stand-in
            text = nb.read_text(encoding="utf-8")
            _atomic_write(nb, text.replace(json.dumps(_shown(source))[1:-1], json.dumps(_shown(reports_dir))[1:-1]))
        render_outputs(nb, f"Overzicht klanttevredenheid {year}", formats)
        if "xlsx" in formats:
            results = [Results.from_json(p) for p in result_files]
            write_overview(results, year, staging / f"{stem}.xlsx")
        missing = [t for t in targets if not (staging / t).exists()]
        if missing:
            raise AgiiError(f"overview outputs not written: {', '.join(missing)}")
        outputs = _outputs(staging)
        entry = {"key": key, "surveys": surveys, "outputs": outputs,
                 "built_at": dt.datetime.now().isoformat(timespec="seconds")}
        if not publish:
            return Outcome("overzicht", year, "built", "staged", entry | {"staging": str(staging)})
        _move_overview_in(year_dir, staging, targets, entry)
    finally:
        if publish or sys.exc_info()[0] is not None:  # an unpublished one stays for the parent
            shutil.rmtree(staging, ignore_errors=True)
    return Outcome("overzicht", year, "built", "", entry)


def _overview_targets(year: int, formats: tuple[str, ...]) -> list[str]:
    return [f"overzicht_{year}.ipynb"] + [f"overzicht_{year}.{f}" for f in formats]


def _move_overview_in(year_dir: Path, staging: Path, targets: list[str], entry: dict) -> None:
    with _uninterrupted():
        _write_pending(year_dir, "overzicht", entry)  # a half-done move: recover() drops the entry
        for t in targets:  # every format succeeded: move them in, one rename each
            os.replace(staging / t, year_dir / t)
        stem = targets[0].rsplit(".", 1)[0]
        for f in FORMATS:  # a format not asked for this time would no longer match (as in a survey's folder)
            if f"{stem}.{f}" not in targets:
                (year_dir / f"{stem}.{f}").unlink(missing_ok=True)


def _publish_overview(year: int, reports_dir: Path, formats: tuple[str, ...], surveys: list[str],
                      staged: Outcome) -> bool:
    """Move an overview built beside the last surveys in, if the results now in place are
    the ones it was built from (same key); else drop it. Its staging folder goes either way."""
    staging = Path(staged.entry["staging"])
    try:
        year_dir = reports_dir / str(year)
        _, key = _overview_sources(year, reports_dir, surveys, formats)
        if key != staged.entry["key"]:
            return False
        entry = {k: v for k, v in staged.entry.items() if k != "staging"}
        _move_overview_in(year_dir, staging, _overview_targets(year, formats), entry)
        return True
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _expected_seconds(params_file: Path, manifest: dict) -> float:
    """How long a survey-year's build took last time (else: its template's code cells, as
    seconds of the same order), to start the long ones first."""
    entry = manifest["surveys"].get(params_file.stem) or {}
    took = (entry.get("durations_s") or {}).get("total")
    if took:
        return float(took)
    try:
        cells = json.loads(template_for(params_file.stem).read_text(encoding="utf-8"))["cells"]
    except (AgiiError, OSError, ValueError, KeyError):  # a missing template fails at its build
        return 0.0
    return 0.1 * sum(c.get("cell_type") == "code" for c in cells)


def _overview_worker(args) -> Outcome:
    year, reports_dir, formats, surveys, inputs_root = args
    # failed: the parent builds it again the ordinary way and reports that
    return _task("overzicht", year, build_overview, year, Path(reports_dir), formats, surveys, True, True,
                 Path(inputs_root), publish=False)


def _overview_inputs(year_dir: Path, year: int, surveys: list[str], building: set[str],
                     outcomes: dict[str, Outcome], snapshot: Path) -> bool:
    """Copy every survey's new results JSON into `snapshot` (laid out like reports/) once
    all of them exist: final files of surveys done, skipped or not in this run, staged ones
    of surveys still rendering. False while one is missing or a survey failed."""
    found = {}
    for survey in surveys:
        name = output_names(survey, year)["json"]
        outcome = outcomes.get(survey)
        if survey not in building:
            path = year_dir / survey / name
        elif outcome is not None:
            if outcome.status == "failed":
                return False
            path = year_dir / survey / name
        else:
            staged = sorted(year_dir.glob(f"{STAGING_PREFIX}{survey}~*/{name}"))
            path = staged[0] if len(staged) == 1 else None
        if path is None or not path.exists():
            return False
        found[survey] = path
    for survey, path in found.items():
        target = snapshot / str(year) / survey / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(path, target)  # staged files move away when their survey is swapped in
        except FileNotFoundError:
            final = year_dir / survey / path.name
            if not final.exists():
                return False
            shutil.copyfile(final, target)
    return True


# ------------------------------------------------------------------ command

def _select(args) -> dict[int, list[Path]]:
    from .params import find_params

    root = Path(getattr(args, "params_dir", None) or PARAMS_DIR)
    if not root.is_dir():
        raise AgiiError("parameter folder not found" if not root.exists() else "is a file, not a parameter folder",
                        file=root, expected="a folder of <year>/<survey>.yaml parameter files")
    if args.params:
        p = Path(args.params)
        if not p.exists():
            raise AgiiError("parameter file not found", file=p)
        params = load_params(p)
        if p.resolve().is_relative_to(root.resolve()):
            check_placement(p, params)  # under the params folder: its place files its reports, as with --year
        return {params.year: [p.resolve()]}
    if args.all:
        files = find_params(survey=args.survey, directory=root)
    else:
        if not (root / str(args.year)).exists():
            raise AgiiError(f"no parameter files for {args.year}", file=root / str(args.year),
                            expected="params/<year>/<survey>.yaml")
        files = find_params(args.year, args.survey, directory=root)
    if args.survey and not files:
        from .codebook import available_surveys

        if args.survey not in available_surveys():
            raise AgiiError(f"unknown survey {args.survey!r}", expected=f"one of {', '.join(available_surveys())}")
        raise AgiiError(f"no parameter file for survey {args.survey!r}" + (f" in {args.year}" if args.year else ""))
    by_year: dict[int, list[Path]] = {}
    for f in files:
        try:
            params = load_params(f, check_files=False)
        except AgiiError:
            pass  # its build reports what is wrong, and the others go on
        else:
            check_placement(f, params)  # else it would be filed under another survey or year
        by_year.setdefault(int(f.parent.name), []).append(f.resolve())
    if not by_year:
        raise AgiiError("no parameter files found", file=root)
    return by_year


class _Pools:
    """The build workers of the whole run besides this process, started when a year first
    needs them; they keep their warm kernels and imports from year to year.

    `--jobs N` is this process and N-1 workers: this process builds too, on its own warm
    kernel, so only the workers' kernels are an extra start. Before forking, this process
    starts its kernel (it warms up in its own process meanwhile) and imports what every
    build needs, which the workers then inherit instead of importing it again (~1.3 CPU-s a
    worker). Each worker is a one-process executor, fed by a thread of its own."""

    def __init__(self, size: int):
        self.size, self.workers, self._frozen = max(size, 0), [], False

    def get(self) -> list[ProcessPoolExecutor]:
        if not self.workers and self.size:
            kernels.start_async(str(REPO_ROOT), KERNEL_ARGUMENTS)
            _preload()
            try:
                from .render import warm_up

                warm_up()  # in the time the kernel still needs, for the workers to inherit
            except Exception:  # costs only its time: each report renders (or fails) on its own
                pass
            kernels.settle()  # no kernel start half-done in this process while it forks
            # what exists now is shared with the workers: no collection, here or there,
            # touches it, so its pages are not copied (the gc.freeze() documentation)
            gc.freeze()
            self._frozen = True
            for _ in range(self.size):
                self._fork()
        return self.workers

    def _fork(self) -> None:
        # fork, named: the workers are copies of this process (Python 3.14 would pick forkserver)
        worker = ProcessPoolExecutor(max_workers=1, initializer=_worker_init,
                                     mp_context=multiprocessing.get_context("fork"))
        worker.submit(int)  # the process is forked on the first task
        self.workers.append(worker)

    def processes(self) -> list:
        return [p for w in self.workers for p in (getattr(w, "_processes", None) or {}).values()]

    def close(self) -> None:
        for worker in self.workers:
            worker.shutdown(wait=True, cancel_futures=True)
        self.workers = []
        if self._frozen:  # collectable again (a long-lived caller: tests, a notebook)
            gc.unfreeze()
            self._frozen = False


class _YearQueue:
    """One year's tasks, taken by this process and by each worker's feeder thread, in the
    order of LPT scheduling: the first halves (results, notebook, Excel; ~2 s), longest
    survey first; then the second halves (HTML, PDF, swap; ~1 s) on whichever process is
    free; then the overview, once every survey's results exist while one still renders.
    The short tasks fill the end, where one long survey used to leave a core idle."""

    WAIT, DONE = "wait", "done"

    def __init__(self, to_start: list, overview_args: tuple | None, overview_ready):
        self._cond = threading.Condition()
        self.to_start, self.to_finish = list(to_start), []
        self.running = 0
        self.outcomes: dict[str, Outcome] = {}  # every survey done so far
        self.uncommitted: list[Outcome] = []  # of those, the ones this process has not committed
        self.speculative: Outcome | None = None
        self.error: BaseException | None = None
        self.stopped = False
        self._overview_args, self._overview_ready = overview_args, overview_ready

    def take(self, wait: float = 0.1):
        """The next task (function, arguments), WAIT when none is free yet (after waiting
        up to `wait` s), DONE when the year is done or stopped."""
        with self._cond:
            for attempt in (0, 1):
                if self.stopped or self.error is not None:
                    return self.DONE
                task = self._next()
                if task is not None:
                    self.running += 1
                    return task
                if not self.running:
                    return self.DONE
                if not attempt:
                    self._cond.wait(wait)
            return self.WAIT

    def _next(self):
        if self.to_start:
            return _build_worker, (self.to_start.pop(0), True)
        if self.to_finish:
            return _finish_worker, (self.to_finish.pop(0),)
        if self._overview_args is not None and self.running:
            try:
                ready = self._overview_ready(self.outcomes)
            except Exception:  # copying the results failed: the overview is built after the year
                self._overview_args, ready = None, False
            if ready:
                args, self._overview_args = self._overview_args, None
                return _overview_worker, (args,)
        return None

    def done(self, task, result) -> None:
        with self._cond:
            self.running -= 1
            if task[0] is _overview_worker:
                self.speculative = result
            elif isinstance(result, Staged):
                self.to_finish.append(result)
            else:
                self.outcomes[result.survey] = result
                self.uncommitted.append(result)
            self._cond.notify_all()

    def fail(self, exc: BaseException) -> None:
        with self._cond:
            self.running -= 1
            self.error = self.error or exc
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self.stopped = True
            self._cond.notify_all()

    def to_commit(self) -> list[Outcome]:
        with self._cond:
            out, self.uncommitted = self.uncommitted, []
            return out


def _feed(queue: _YearQueue, worker: ProcessPoolExecutor) -> None:
    """A worker's feeder thread: hands it the year's tasks one at a time until none is left."""
    while True:
        task = queue.take()
        if task == queue.WAIT:
            continue
        if task == queue.DONE:
            return
        try:
            future = worker.submit(task[0], *task[1])
            while not future.done():
                if queue.stopped:  # the run is being stopped: the worker is terminated
                    return
                wait([future], timeout=0.1)
            result = future.result()
        except BaseException as exc:  # the worker died, or was stopped with the run
            queue.fail(exc)
            return
        queue.done(task, result)


def _build_year_in_parallel(year: int, year_dir: Path, tasks: list, manifest: dict, pools: _Pools,
                            commit, overview: bool, reports_dir: Path, formats: tuple[str, ...]) -> Outcome | None:
    """The year's surveys in this process and the pool's workers; the overview built beside
    the last surveys (returned, unpublished), if there was a moment for it."""
    surveys = sorted(set(manifest["surveys"]) | {Path(t[0]).stem for t in tasks})
    building = {Path(t[0]).stem for t in tasks}
    snapshot = year_dir / f"{STAGING_PREFIX}overzicht-inputs~{os.getpid()}"
    queue = _YearQueue(
        sorted(tasks, key=lambda t: -_expected_seconds(Path(t[0]), manifest)),
        (year, str(reports_dir), formats, surveys, str(snapshot)) if overview else None,
        lambda outcomes: _overview_inputs(year_dir, year, surveys, building, outcomes, snapshot))
    feeders = []
    try:
        workers = pools.get()[:len(tasks) - 1]
        task = queue.take()  # the longest survey for this process, whose kernel is warm
        for worker in workers:
            feeders.append(threading.Thread(target=_feed, args=(queue, worker), name="agii feeder", daemon=True))
            feeders[-1].start()
        while True:  # this process builds too; it commits what everyone finished
            if task == queue.DONE:
                break
            if task != queue.WAIT:
                queue.done(task, task[0](*task[1]))
            for o in queue.to_commit():
                commit(o)
            task = queue.take()
        for feeder in feeders:
            feeder.join()
        for o in queue.to_commit():
            commit(o)
        if isinstance(queue.error, BrokenProcessPool):
            raise AgiiError(f"a build worker of {year} stopped unexpectedly (killed, or out of memory?)",
                            expected="workers that finish their surveys; try again, or with --jobs 1") from queue.error
        if queue.error is not None:
            raise AgiiError(f"a build worker of {year} failed ({type(queue.error).__name__}: {queue.error})",
                            expected="workers that finish their surveys; try again, or with --jobs 1") from queue.error
    except BaseException:  # interrupted, or a worker died: stop the workers (they unwind on SIGTERM)
        queue.stop()
        procs = pools.processes()
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for feeder in feeders:
            feeder.join(10)
        try:  # surveys the workers swapped in meanwhile go into the manifest now
            for o in queue.to_commit():
                commit(o)
        except Exception:  # their pending entries are committed by the next run's recover()
            pass
        pools.close()
        # staged surveys waiting for their second half, also one whose first half ended
        # while the run was stopped (its result never arrived): no process holds them now
        for pid in [os.getpid()] + [proc.pid for proc in procs]:
            for left in year_dir.glob(f"{STAGING_PREFIX}*~{pid}"):
                shutil.rmtree(left, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)
    return queue.speculative


def run(by_year: dict[int, list[Path]], formats: tuple[str, ...], jobs: int = 1, force: bool = False,
        reports_dir: Path | None = None, progress: bool = True, overview: bool | str = True,
        echo=print, warn=None) -> list[Outcome]:
    """Build the selected survey-years and each year's overview; return what happened.
    `overview="existing"`: only a year that has one already (kept in step with its surveys)."""
    from tqdm import tqdm

    warn = warn or (lambda line: print(line, file=sys.stderr))

    reports_dir = Path(reports_dir or REPORTS_DIR).resolve()
    outcomes: list[Outcome] = []
    pools = _Pools(min(jobs, max((len(files) for files in by_year.values()), default=1)) - 1)
    try:
        for year in sorted(by_year):
            year_dir = reports_dir / str(year)
            recover(year_dir)
            cells = progress and jobs == 1  # papermill's cell bar, when surveys run one at a time
            tasks = [(str(p), formats, str(reports_dir), force, cells, year) for p in by_year[year]]
            bar = tqdm(total=len(tasks), desc=f"{year}", unit="rapport", disable=not progress, file=sys.stderr)
            year_out = []
            manifest = load_manifest(year_dir)
            if overview not in (True, False, "existing"):
                raise ValueError(f"overview must be True, False or 'existing', not {overview!r}")
            want_overview = overview is True or (overview == "existing" and bool(
                manifest.get("overview") or list(year_dir.glob(f"overzicht_{year}.*"))))  # also a half-moved one

            def commit(o: Outcome) -> None:
                """A built survey goes into the manifest at once (not after the whole year)."""
                year_out.append(o)
                if o.status == "built":
                    with _uninterrupted():
                        manifest["surveys"][o.survey] = o.entry
                        manifest.update({"year": year, "schema": "agii-manifest/1"})
                        _save_manifest(year_dir, manifest)
                        (year_dir / f"{PENDING_PREFIX}{o.survey}.json").unlink(missing_ok=True)
                bar.set_postfix_str(o.survey)
                bar.update()

            speculative = None  # the overview built beside the last surveys
            if jobs > 1 and len(tasks) > 1:  # what is up to date says so here, without a pool
                for t in list(tasks):
                    skipped = _skip_check(Path(t[0]), formats, reports_dir, force)
                    if skipped is not None:
                        commit(skipped)
                        tasks.remove(t)
            if jobs > 1 and len(tasks) > 1:  # one survey: here, on this process's warm kernel
                speculative = _build_year_in_parallel(year, year_dir, tasks, manifest, pools, commit,
                                                      want_overview, reports_dir, formats)
            else:
                for t in tasks:
                    bar.set_postfix_str(Path(t[0]).stem)
                    commit(_build_worker(t))
            if speculative is not None and speculative.status == "built":
                if _publish_overview(year, reports_dir, formats, sorted(manifest["surveys"]), speculative):
                    speculative.entry.pop("staging", None)
                    with _uninterrupted():
                        manifest["overview"] = speculative.entry
                        _save_manifest(year_dir, manifest)
                        (year_dir / f"{PENDING_PREFIX}overzicht.json").unlink(missing_ok=True)
                else:
                    speculative = None  # its results were not all swapped in: built again below
            bar.close()
            for o in sorted(year_out, key=lambda o: o.survey):
                if o.status == "failed":
                    warn(f"agii: error: {o.survey} {year}: {o.message}")
                else:
                    manifest["surveys"][o.survey] = o.entry
                    echo(f"{year} {o.survey}: {'up to date, skipped' if o.status == 'skipped' else 'built'}")
                    for w in (o.entry.get("warnings") or []) if o.status == "built" else []:
                        warn(f"agii: warning: {o.survey} {year}: {w}")
            outcomes.extend(year_out)
            if year_out and any(o.status != "failed" for o in year_out) or manifest["surveys"]:
                year_dir.mkdir(parents=True, exist_ok=True)
                manifest.update({"year": year, "schema": "agii-manifest/1"})
                _save_manifest(year_dir, manifest)
            if want_overview and manifest["surveys"]:
                changed, ov_force = any(o.status == "built" for o in year_out), force
                early = speculative is not None and speculative.status == "built"
                if early:  # built from the results now in place: skipped below while its key holds
                    changed = ov_force = False
                try:
                    ov = build_overview(year, reports_dir, formats, sorted(manifest["surveys"]), ov_force, changed)
                    manifest["overview"] = ov.entry
                    _save_manifest(year_dir, manifest)
                    (year_dir / f"{PENDING_PREFIX}overzicht.json").unlink(missing_ok=True)
                    if early and ov.status == "skipped":
                        ov = Outcome("overzicht", year, "built", "built beside the last surveys", ov.entry)
                    echo(f"{year} overzicht: {'built' if ov.status == 'built' else 'up to date, skipped'}")
                    outcomes.append(ov)
                except AgiiError as exc:
                    warn(f"agii: error: overzicht {year}: {exc}")
                    outcomes.append(Outcome("overzicht", year, "failed", str(exc)))
    finally:
        pools.close()
    return outcomes


def run_cli(args) -> int:
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip() and f.strip() != "ipynb")
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise AgiiError(f"unknown format {bad[0]!r}", expected=f"a comma-separated list of {', '.join(FORMATS)}")
    for flag, folder in (("--reports-dir", args.reports_dir), ("--cache-dir", getattr(args, "cache_dir", None))):
        if folder is not None and Path(folder).exists() and not Path(folder).is_dir():
            raise AgiiError(f"{flag} is a file", file=folder, expected="a folder")
    if getattr(args, "cache_dir", None) is not None:  # read by prepare() here, in the workers and in the kernels
        os.environ[CACHE_ENV] = str(Path(args.cache_dir).resolve())
    by_year = _select(args)
    # SIGTERM unwinds like Ctrl-C: the staging folders and the notebook kernel are removed
    # by the finally blocks, the reports stay as they were (or the new set is complete)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        outcomes = run(by_year, formats, jobs=max(1, args.jobs), force=args.force,
                       reports_dir=args.reports_dir, progress=not args.no_progress and sys.stderr.isatty(),
                       overview="existing" if args.params else True)  # one file: an overview only kept up to date
    except Terminated:
        print("agii: terminated (SIGTERM); the survey in progress was left as it was", file=sys.stderr)
        return 143
    finally:
        signal.signal(signal.SIGTERM, previous)
    failed = [o for o in outcomes if o.status == "failed"]
    if failed:
        print(f"agii: {len(failed)} failed: " + ", ".join(f"{o.survey} {o.year}" for o in failed), file=sys.stderr)
        return 1
    return 0
