"""Growth benchmark: build 1, 3 and 10 years of all five surveys at realistic size.

Each synthetic year is the demo's 2023 (five surveys, 7 742 respondents and 36 513
invitations in all, the same export variants: CSV/XLSX, expanded layout, numerical
values, Dutch metadata, two overlapping files), regenerated with the demo machinery
(`agii_analysis.demo.build_rows`, `split_files`, `layout`, `csv_bytes`, `xlsx_bytes`)
under a new seed per year and moved to the years 2024, 2025, ... (dates shifted by whole
years, respondent ids offset). Exports are cached under benchmarks/out/growth/.

`agii run` has no option for another params root (`--year`/`--all` read
`<repo>/params/`, and the Parquet cache is always `<repo>/data/processed/`), so every
size gets its own snapshot copy of the repository (see _common.py) whose params/ holds
the generated parameter files. Each build starts with an empty Parquet cache and an
empty reports folder (`agii run --all --reports-dir <tmp>`), then `agii run --all` is
run again with nothing changed.

    .venv/bin/python benchmarks/bench_growth.py                  # 1, 3, 10 years, --jobs 1
    .venv/bin/python benchmarks/bench_growth.py --years 1 3 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (code_version, OUT, REPO, agii_cmd, check_tree, machine, run_measured, save_json,  # noqa: E402
                     snapshot_tree, table, tree_env)

BASE_YEAR = 2023
FIRST_YEAR = 2024
GROWTH = OUT / "growth"


def generate(n_years: int) -> dict[int, dict[str, dict]]:
    """Exports for FIRST_YEAR .. FIRST_YEAR + n_years - 1 under benchmarks/out/growth/<year>/,
    returned as {year: {survey: params dict}} (input paths absolute)."""
    import numpy as np
    import pandas as pd
    import yaml

    from agii_analysis import demo
    from agii_analysis.codebook import load_codebook

    spec = demo.load_spec()
    out: dict[int, dict[str, dict]] = {}
    for k in range(n_years):
        year = FIRST_YEAR + k
        shift = year - BASE_YEAR
        folder = GROWTH / str(year)
        out[year] = {}
        for survey, years in spec["surveys"].items():
            sy = years.get(BASE_YEAR)
            if sy is None:
                continue
            base_params = yaml.safe_load((REPO / "params" / str(BASE_YEAR) / f"{survey}.yaml").read_text(encoding="utf-8"))
            names = [f["name"].replace(str(BASE_YEAR), str(year)) for f in sy["files"]]
            if not all((folder / n).exists() for n in names):
                t = time.perf_counter()
                book = load_codebook(survey)
                sy_k = dict(sy, seed=int(sy["seed"]) + 7919 * shift)
                frame = demo.build_rows(book, BASE_YEAR, sy_k, spec)
                demo.Planted(spec).fill(np.random.default_rng(sy_k["seed"] + 1), frame, year)
                parts = demo.split_files(frame, sy["files"], f"growth.{survey}.{year}")
                folder.mkdir(parents=True, exist_ok=True)
                for (f, part), name in zip(parts, names):
                    part = part.copy()
                    for col in ("start", "end"):
                        part[col] = pd.DatetimeIndex(part[col]) + pd.DateOffset(years=shift)
                    part["respondent_id"] = [str(int(r) + shift * 10 ** 9) for r in part["respondent_id"]]
                    grid = demo.layout(book, year, f, part)
                    data = (demo.xlsx_bytes if name.endswith(".xlsx") else demo.csv_bytes)(grid, f)
                    (folder / name).write_bytes(data)
                print(f"  generated {survey} {year} ({len(frame)} rows) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
            params = dict(base_params, year=year)
            params.pop("previous", None)  # later years compare with the raw data of the year before
            inputs = []
            for entry, name in zip(base_params["inputs"], names):
                entry = dict(entry) if isinstance(entry, dict) else {"file": entry}
                entry["file"] = str(folder / name)
                inputs.append(entry)
            params["inputs"] = inputs
            params["invited_source"] = "Benchmark: synthetisch jaar (demo 2023 verschoven)"
            params["note"] = "Benchmark: synthetische data (demo 2023, nieuwe seed, verschoven naar dit jaar)."
            out[year][survey] = params
    return out


def write_params(tree: Path, all_params: dict[int, dict[str, dict]], years: list[int]) -> int:
    import yaml

    shutil.rmtree(tree / "params", ignore_errors=True)
    n = 0
    for year in years:
        d = tree / "params" / str(year)
        d.mkdir(parents=True)
        for survey, params in all_params[year].items():
            (d / f"{survey}.yaml").write_text(yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8")
            n += 1
    return n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--years", type=int, nargs="+", default=[1, 3, 10])
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=1, help="builds per size (each from scratch)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    print(machine())
    print(code_version())
    all_params = generate(max(args.years))
    respondents = None
    base = Path(tempfile.mkdtemp(prefix="agii-bench-growth-"))
    results = []
    try:
        for n_years in args.years:
            years = list(range(FIRST_YEAR, FIRST_YEAR + n_years))
            for rep in range(args.repeat):
                tree = snapshot_tree(base / f"tree-{n_years}-{rep}", data=False)
                check_tree(tree)
                n_surveys = write_params(tree, all_params, years)
                reports = tree / "reports-bench"
                env = tree_env(tree)
                build = run_measured(agii_cmd("run", "--all", "--jobs", str(args.jobs), "--reports-dir", str(reports),
                                              "--no-progress"), cwd=tree, env=env, sample_tree=True)
                built = build["stdout"].count(": built")
                if built != n_surveys + n_years:
                    raise RuntimeError(f"{n_years} years: built {built} of {n_surveys + n_years} reports\n{build['stdout']}")
                noop = run_measured(agii_cmd("run", "--all", "--jobs", str(args.jobs), "--reports-dir", str(reports),
                                             "--no-progress"), cwd=tree, env=env, sample_tree=True)
                stages: dict[str, list[float]] = {}
                accounting_read = 0
                for m in reports.glob("*/manifest.json"):
                    data = json.loads(m.read_text(encoding="utf-8"))
                    for e in data["surveys"].values():
                        for key, v in e["durations_s"].items():
                            stages.setdefault(key, []).append(v)
                        accounting_read += int(e.get("accounting", {}).get("read", 0))
                respondents = accounting_read / n_years
                results.append({"years": n_years, "rep": rep, "surveys": n_surveys, "reports": built,
                                "wall_s": build["wall_s"], "per_report_s": build["wall_s"] / built,
                                "tree_pss_mb": build["tree_pss_mb"], "tree_rss_mb": build["tree_rss_mb"],
                                "max_rss_mb": build["max_rss_mb"], "proc_rss_mb": build["proc_rss_mb"], "cpu_s": build["user_s"] + build["sys_s"],
                                "noop_s": noop["wall_s"], "rows_read_per_year": respondents,
                                "stage_median_s": {k: median(v) for k, v in stages.items()},
                                "stage_sum_s": {k: sum(v) for k, v in stages.items()}})
                print(f"  {n_years} year(s): {build['wall_s']:.1f} s for {built} reports, no-change run {noop['wall_s']:.2f} s",
                      file=sys.stderr)
                if not args.keep:
                    shutil.rmtree(tree, ignore_errors=True)
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)

    rows = []
    for n_years in args.years:
        rs = [r for r in results if r["years"] == n_years]
        def m(key):
            return median(r[key] for r in rs)
        rows.append([n_years, rs[0]["reports"], f"{m('wall_s'):.1f}", f"{m('per_report_s'):.2f}", f"{m('cpu_s'):.0f}",
                     f"{m('tree_pss_mb'):.0f}", f"{m('proc_rss_mb'):.0f}", f"{m('noop_s'):.2f}"])
    print(table(["years", "reports", "build s", "s per report", "CPU s", "peak PSS tree MB",
                 "largest process MB", "no-change run s"], rows,
                f"Growth: synthetic years of 5 surveys (~{respondents:.0f} rows read a year), --jobs {args.jobs}, "
                f"{args.repeat} build(s) per size from an empty cache"))
    stage_rows = []
    for n_years in args.years:
        rs = [r for r in results if r["years"] == n_years]
        keys = ("compute", "notebook", "render", "xlsx", "total")
        stage_rows.append([n_years] + [f"{median(r['stage_median_s'].get(k, 0) for r in rs):.2f}" for k in keys])
    print(table(["years", "compute", "notebook", "render", "xlsx", "total"], stage_rows,
                "Median seconds per survey-year by stage (manifest durations)"))
    path = save_json(f"bench_growth_jobs{args.jobs}.json", {"machine": machine(), "code": code_version(), "results": results})
    print(f"raw figures: {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
