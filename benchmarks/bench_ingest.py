"""Ingest benchmark: the project's reader + harmonisation against bare readers.

Generates (once, cached under benchmarks/out/) a SurveyMonkey-format export of the
`na_aanbod_mo` 2023 codebook with 100 000 respondents, as XLSX (openpyxl write-only
mode) and as CSV (the demo's CSV writer), from the demo generator's coded rows,
resampled. Then, each measurement in a fresh Python process (all of them import the
same modules first, so their memory baselines are equal):

  agii xlsx      read_export() + harmonise() (as prepare.harmonise_params does it)
  calamine       CalamineWorkbook.from_path(p).get_sheet_by_index(0).to_python()
  pandas-calamine pandas.read_excel(p, engine="calamine", header=None)   (for reference)
  openpyxl       pandas.read_excel(p, engine="openpyxl", header=None), on a 20 000-row
                 file and scaled x5 (--full-openpyxl: on the 100 000-row file; ~100 s)
  agii csv       read_export() + harmonise() of the CSV
  read_csv       pandas.read_csv(p)

Time is the operation's wall time inside the worker (imports excluded); memory is the
worker's peak RSS (VmHWM of the worker process) and that peak minus the RSS after imports.

    .venv/bin/python benchmarks/bench_ingest.py               # 3 repetitions
    .venv/bin/python benchmarks/bench_ingest.py --quick       # 1 repetition, no openpyxl
    .venv/bin/python benchmarks/bench_ingest.py --rows 20000 --repeat 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import code_version, OUT, PYTHON, REPO, machine, run_measured, save_json, spread, table, verdict  # noqa: E402

SURVEY, YEAR = "na_aanbod_mo", 2023
OPENPYXL_ROWS = 20_000
TARGETS = {"xlsx_time": 1.3, "openpyxl_speedup": 12.0, "xlsx_memory": 1.5, "csv_time": 2.0}


# ------------------------------------------------------------------ generating the export

def _frame(n: int, seed: int = 20240101):
    """n coded respondent rows: the demo's 2023 rows resampled, with fresh unique ids."""
    import numpy as np

    from agii_analysis import demo
    from agii_analysis.codebook import load_codebook

    spec = demo.load_spec()
    book = load_codebook(SURVEY)
    sy = spec["surveys"][SURVEY][YEAR]
    base = demo.build_rows(book, YEAR, sy, spec)
    rng = np.random.default_rng(seed)
    frame = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    # keep the start/end order of the platform: ids grow with the start time
    frame = frame.sort_values("start", kind="stable").reset_index(drop=True)
    frame["respondent_id"] = [str(10_000_000_000 + 37 * i + int(j)) for i, j in enumerate(rng.integers(0, 37, n))]
    return book, frame


def _write_xlsx(grid: list[list], path: Path) -> None:
    """Write-only openpyxl workbook: ids and labels as text, dates as date cells."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Sheet")
    date_fmt = "mm/dd/yyyy hh:mm:ss AM/PM"
    for i, row in enumerate(grid):
        if i < 2:
            ws.append([None if v == "" else v for v in row])
            continue
        cells = list(row)
        for j in (2, 3):
            if isinstance(cells[j], dt.datetime):
                c = WriteOnlyCell(ws, value=cells[j])
                c.number_format = date_fmt
                cells[j] = c
        ws.append(cells)
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(path)


def export_files(rows: int, layout: str) -> dict[str, Path]:
    """The cached XLSX and CSV export (and the smaller openpyxl XLSX), generated if missing."""
    OUT.mkdir(parents=True, exist_ok=True)
    stem = f"ingest_{SURVEY}_{YEAR}_{layout}"
    files = {"xlsx": OUT / f"{stem}_{rows}.xlsx", "csv": OUT / f"{stem}_{rows}.csv",
             "xlsx_small": OUT / f"{stem}_{min(rows, OPENPYXL_ROWS)}.xlsx"}
    if all(p.exists() for p in files.values()):
        return files
    from agii_analysis import demo

    t = time.perf_counter()
    book, frame = _frame(rows)
    grid = demo.layout(book, YEAR, {"layout": layout}, frame)
    print(f"generating {rows} rows x {len(grid[0])} columns ({layout} layout) ...", file=sys.stderr)
    if not files["csv"].exists():
        files["csv"].write_bytes(demo.csv_bytes(grid, {}))
    if not files["xlsx"].exists():
        _write_xlsx(grid, files["xlsx"])
    if not files["xlsx_small"].exists():
        _write_xlsx(grid[: 2 + min(rows, OPENPYXL_ROWS)], files["xlsx_small"])
    print(f"generated in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return files


# ------------------------------------------------------------------ worker (fresh process)

def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def worker(method: str, path: str) -> None:
    import resource

    import openpyxl  # noqa: F401  - same imports in every worker: equal baselines
    import pandas as pd
    import python_calamine

    from agii_analysis.codebook import load_codebook
    from agii_analysis.harmonise import harmonise
    from agii_analysis.params import InputFile
    from agii_analysis.reader import read_export
    try:
        from agii_analysis.prepare import _redactor
        redact = _redactor()
    except ImportError:
        redact = None

    base = _rss_mb()
    extra = {}
    t0 = time.perf_counter()
    if method in ("agii_xlsx", "agii_csv"):
        export = read_export(path)
        t1 = time.perf_counter()
        h = harmonise([(export, InputFile(Path(path)))], load_codebook(SURVEY), YEAR, redact=redact)
        extra = {"read_s": t1 - t0, "harmonise_s": time.perf_counter() - t1,
                 "rows": len(export.meta), "columns": len(export.columns) + 4, "responses": len(h.responses),
                 "used": h.accounting["used"]}
    elif method == "read_only":
        export = read_export(path)
        extra = {"rows": len(export.meta)}
    elif method == "calamine":
        grid = python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_index(0).to_python()
        extra = {"rows": len(grid) - 2}
    elif method == "pandas_calamine":
        df = pd.read_excel(path, engine="calamine", header=None)
        extra = {"rows": len(df) - 2}
    elif method == "openpyxl":
        df = pd.read_excel(path, engine="openpyxl", header=None)
        extra = {"rows": len(df) - 2}
    elif method == "read_csv":
        df = pd.read_csv(path)
        extra = {"rows": len(df) - 1}
    else:
        raise SystemExit(f"unknown method {method}")
    wall = time.perf_counter() - t0
    # VmHWM: peak RSS of this process image. ru_maxrss is not used for the figures: Linux
    # carries it over from the parent's RSS at fork() across exec().
    peak = _status_mb("VmHWM")
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"method": method, "op_s": wall, "baseline_mb": base, "peak_mb": peak, "maxrss_mb": maxrss, **extra}))


def measure(method: str, path: Path) -> dict:
    r = run_measured([str(PYTHON), __file__, "--worker", method, str(path)], cwd=REPO)
    out = json.loads(r["stdout"].strip().splitlines()[-1])
    out["process_s"] = r["wall_s"]
    out["child_maxrss_mb"] = r["max_rss_mb"]  # rusage of the child, seen by the parent
    return out


# ------------------------------------------------------------------ main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--layout", choices=("expanded", "standard"), default="expanded",
                    help="expanded: one column per answer option (41 columns), standard: 21")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="one repetition, openpyxl skipped")
    ap.add_argument("--full-openpyxl", action="store_true", help="openpyxl on the full file (slow)")
    ap.add_argument("--worker", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    repeat = 1 if args.quick else args.repeat
    files = export_files(args.rows, args.layout)
    small_rows = min(args.rows, OPENPYXL_ROWS)
    print(machine())
    print(code_version())
    print(f"files: {files['xlsx'].name} ({files['xlsx'].stat().st_size / 1e6:.1f} MB), "
          f"{files['csv'].name} ({files['csv'].stat().st_size / 1e6:.1f} MB)")

    plan = [("agii xlsx", "agii_xlsx", files["xlsx"], 1.0),
            ("calamine bare", "calamine", files["xlsx"], 1.0),
            ("pandas read_excel calamine", "pandas_calamine", files["xlsx"], 1.0),
            ("agii csv", "agii_csv", files["csv"], 1.0),
            ("pandas read_csv", "read_csv", files["csv"], 1.0)]
    if not args.quick:
        if args.full_openpyxl:
            plan.append(("pandas read_excel openpyxl", "openpyxl", files["xlsx"], 1.0))
        else:
            plan.append((f"pandas read_excel openpyxl ({small_rows} rows, x{args.rows / small_rows:g})",
                         "openpyxl", files["xlsx_small"], args.rows / small_rows))
    results: dict[str, list[dict]] = {label: [] for label, *_ in plan}
    for rep in range(repeat):  # interleaved: every method sees the same background load
        for label, method, path, scale in plan:
            r = measure(method, path)
            r["scaled_s"] = r["op_s"] * scale
            results[label].append(r)
            print(f"  rep {rep + 1}/{repeat} {label}: {r['scaled_s']:.2f} s, peak {r['peak_mb']:.0f} MB", file=sys.stderr)

    def med(label, key):
        from statistics import median
        return median(r[key] for r in results[label])

    rows = []
    for label, *_ in plan:
        rs = results[label]
        rows.append([label, spread(r["scaled_s"] for r in rs), spread(r["process_s"] for r in rs),
                     f"{med(label, 'peak_mb'):.0f}", f"{med(label, 'peak_mb') - med(label, 'baseline_mb'):.0f}",
                     rs[0].get("rows", "")])
    print(table(["method", "operation s, median (min-max)", "process s", "peak RSS MB", "above imports MB", "rows"],
                rows, f"Ingest, {args.rows} respondents, {args.layout} layout, {repeat} repetition(s)"))
    split = [["agii xlsx", f"{med('agii xlsx', 'read_s'):.2f}", f"{med('agii xlsx', 'harmonise_s'):.2f}"],
             ["agii csv", f"{med('agii csv', 'read_s'):.2f}", f"{med('agii csv', 'harmonise_s'):.2f}"]]
    print(table(["project", "read_export s", "harmonise s"], split, "Where the project's time goes (medians)"))

    ax, cal = med("agii xlsx", "scaled_s"), med("calamine bare", "scaled_s")
    mx, mc = med("agii xlsx", "peak_mb"), med("calamine bare", "peak_mb")
    dx = mx - med("agii xlsx", "baseline_mb")
    dc = mc - med("calamine bare", "baseline_mb")
    ac, rc = med("agii csv", "scaled_s"), med("pandas read_csv", "scaled_s")
    checks = [["xlsx time / bare calamine", f"{ax / cal:.2f}x", f"<= {TARGETS['xlsx_time']}x", verdict(ax / cal <= TARGETS["xlsx_time"])],
              ["xlsx peak RSS / bare calamine", f"{mx / mc:.2f}x", f"<= {TARGETS['xlsx_memory']}x", verdict(mx / mc <= TARGETS["xlsx_memory"])],
              ["  (memory above imports)", f"{dx / dc:.2f}x", f"<= {TARGETS['xlsx_memory']}x", verdict(dx / dc <= TARGETS["xlsx_memory"])],
              ["csv time / read_csv", f"{ac / rc:.2f}x", f"<= {TARGETS['csv_time']}x", verdict(ac / rc <= TARGETS["csv_time"])]]
    op_label = next((label for label, m, *_ in plan if m == "openpyxl"), None)
    if op_label:
        op = med(op_label, "scaled_s")
        checks.insert(1, ["openpyxl time / agii xlsx", f"{op / ax:.1f}x faster", f">= {TARGETS['openpyxl_speedup']}x",
                          verdict(op / ax >= TARGETS["openpyxl_speedup"])])
    print(table(["target", "measured", "target", "verdict"], checks, "Targets"))
    flags = ("_full-openpyxl" if args.full_openpyxl else "") + ("_quick" if args.quick else "")
    path = save_json(f"bench_ingest_{args.rows}_{args.layout}{flags}.json", {"machine": machine(), "code": code_version(), "results": results})
    print(f"raw figures: {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
