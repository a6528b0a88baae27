"""Build benchmark: `agii run --year 2022 --force` with --jobs 1 and --jobs 2 against the
naive toolchain (one CLI process per step per report, sequentially).

For the same number of reports as `agii run --year 2022` builds (five surveys + the
overview = 6), the naive toolchain runs, per report, of a trivial notebook:

    papermill trivial.ipynb report_i.ipynb -p report i
    jupyter nbconvert --to html report_i.ipynb
    python -m weasyprint report_i.html report_i.pdf

(`jupyter nbconvert --to pdf`/`webpdf` needs LaTeX/Chromium, not available offline, so
WeasyPrint is the PDF step, as in the project.) The project runs build the real reports
(executed notebook, HTML, PDF, Excel appendix, results JSON) in a snapshot copy of the
repository (see _common.py) with a warm Parquet cache, into a temporary reports folder.
Runs are interleaved (naive, jobs 1, jobs 2, naive, ...) so that background load hits
all three alike. The timed runs are not sampled; the peak memory of each comes from one
more run of each, sampled (the sampler's own CPU would slow a run that uses both cores).

    .venv/bin/python benchmarks/bench_build.py              # 3 repetitions
    .venv/bin/python benchmarks/bench_build.py --repeat 1
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (code_version, PYTHON, REPO, VENV_BIN, agii_cmd, check_tree, machine, run_measured,  # noqa: E402
                     save_json, snapshot_tree, spread, table, tree_env, verdict)

TARGET_NAIVE = 0.4  # jobs 2 <= 0.4 x naive
TARGET_SPEEDUP = 1.6  # jobs 2 >= 1.6 x faster than jobs 1


def trivial_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("report = 0")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Trivial report\n\nOne table, no data."),
        params,
        nbformat.v4.new_code_cell("rows = [(i, i * i) for i in range(10)]\n"
                                  "print(f'report {report}')\nrows"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def naive(n: int, work: Path, env: dict, sample: bool = False) -> dict:
    """n reports, three CLI processes each, one after the other."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    nb = work / "trivial.ipynb"
    trivial_notebook(nb)
    steps = {"papermill": 0.0, "nbconvert html": 0.0, "weasyprint pdf": 0.0}
    peak = cpu = 0.0
    for i in range(n):
        out = work / f"report_{i}.ipynb"
        for step, cmd in (
            ("papermill", [str(VENV_BIN / "papermill"), "--no-progress-bar", str(nb), str(out), "-p", "report", str(i)]),
            ("nbconvert html", [str(VENV_BIN / "jupyter"), "nbconvert", "--to", "html", str(out)]),
            ("weasyprint pdf", [str(PYTHON), "-m", "weasyprint", str(out.with_suffix(".html")), str(out.with_suffix(".pdf"))]),
        ):
            r = run_measured(cmd, cwd=work, env=env, sample_tree=sample)
            steps[step] += r["wall_s"]
            cpu += r["user_s"] + r["sys_s"]
            peak = max(peak, r.get("tree_pss_mb", 0.0))
    missing = [i for i in range(n) if not (work / f"report_{i}.pdf").exists()]
    if missing:
        raise RuntimeError(f"naive toolchain did not write the PDFs of reports {missing}")
    return {"wall_s": sum(steps.values()), "steps": steps, "tree_pss_mb": peak, "cpu_s": cpu}


def agii(tree: Path, year: int, jobs: int, reports: Path, sample: bool = False) -> dict:
    r = run_measured(agii_cmd("run", "--year", str(year), "--force", "--jobs", str(jobs),
                              "--reports-dir", str(reports), "--no-progress"),
                     cwd=tree, env=tree_env(tree), sample_tree=sample)
    built = [line for line in r["stdout"].splitlines() if line.endswith(": built")]
    manifest = json.loads((reports / str(year) / "manifest.json").read_text(encoding="utf-8"))
    stages = {s: e["durations_s"] for s, e in manifest["surveys"].items()}
    return {"wall_s": r["wall_s"], "built": len(built), "tree_pss_mb": r.get("tree_pss_mb", 0.0),
            "tree_rss_mb": r.get("tree_rss_mb", 0.0), "max_rss_mb": r["max_rss_mb"], "stages": stages,
            "cpu_s": r["user_s"] + r["sys_s"]}


def warm_cache(tree: Path) -> None:
    """Harmonise every params file once so the runs measure reports, not the first read."""
    code = ("from agii_analysis.params import find_params\nfrom agii_analysis.prepare import prepare\n"
            "for p in find_params():\n    prepare(p)\n")
    run_measured([str(PYTHON), "-c", code], cwd=tree, env=tree_env(tree))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--year", type=int, default=2022)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()

    print(machine())
    print(code_version())
    base = Path(tempfile.mkdtemp(prefix="agii-bench-build-"))
    try:
        tree = snapshot_tree(base / "tree")
        check_tree(tree)
        warm_cache(tree)
        n_reports = len(list((tree / "params" / str(args.year)).glob("*.yaml"))) + 1  # + overview
        env = tree_env(tree)
        res = {"naive": [], "jobs 1": [], "jobs 2": []}
        for rep in range(args.repeat):
            res["naive"].append(naive(n_reports, base / "naive", env))
            print(f"  rep {rep + 1}: naive {res['naive'][-1]['wall_s']:.1f} s", file=sys.stderr)
            for jobs in (1, 2):
                r = agii(tree, args.year, jobs, base / f"reports-j{jobs}")
                if r["built"] != n_reports:
                    raise RuntimeError(f"agii run --jobs {jobs} built {r['built']} of {n_reports} reports")
                res[f"jobs {jobs}"].append(r)
                print(f"  rep {rep + 1}: jobs {jobs} {r['wall_s']:.1f} s", file=sys.stderr)
        # memory in runs of their own: the sampler reads /proc/<pid>/smaps_rollup of every
        # process ten times a second (~0.9 CPU-s per build), which a --jobs 2 run, busy on
        # both cores, would pay in wall time and a --jobs 1 run, with one core idle, not
        memory = {"naive": naive(n_reports, base / "naive", env, sample=True)["tree_pss_mb"]}
        for jobs in (1, 2):
            memory[f"jobs {jobs}"] = agii(tree, args.year, jobs, base / f"reports-j{jobs}", sample=True)["tree_pss_mb"]
        print("  memory runs done", file=sys.stderr)
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)

    def med(name, key="wall_s"):
        return median(r[key] for r in res[name])

    rows = []
    for name, label in (("naive", f"naive: papermill + nbconvert + weasyprint CLI, trivial notebook x{n_reports}"),
                        ("jobs 1", f"agii run --year {args.year} --force --jobs 1"),
                        ("jobs 2", f"agii run --year {args.year} --force --jobs 2")):
        rs = res[name]
        rows.append([label, spread(r["wall_s"] for r in rs), f"{med(name) / n_reports:.2f}",
                     f"{med(name, 'cpu_s'):.1f}", f"{memory[name]:.0f}"])
    print(table(["build", "wall s, median (min-max)", "s per report", "CPU s (tree)", "peak PSS of tree MB (own run)"], rows,
                f"Build, {n_reports} reports (all formats), {args.repeat} repetition(s)"))
    steps = res["naive"][0]["steps"].keys()
    print(table(["naive step", f"s for {n_reports} reports (median)"],
                [[s, f"{median(r['steps'][s] for r in res['naive']):.1f}"] for s in steps]))
    stage_rows = []
    for survey in sorted(res["jobs 1"][0]["stages"]):
        st = [r["stages"][survey] for r in res["jobs 1"]]
        stage_rows.append([survey] + [f"{median(s.get(k, 0) for s in st):.2f}" for k in ("compute", "notebook", "render", "xlsx", "total")])
    print(table(["survey (jobs 1, manifest)", "compute", "notebook", "render", "xlsx", "total"], stage_rows,
                "Per survey-year stages, seconds (median)"))
    j1, j2, nv = med("jobs 1"), med("jobs 2"), med("naive")
    print(table(["target", "measured", "target", "verdict"], [
        ["jobs 2 / naive", f"{j2 / nv:.2f}x", f"<= {TARGET_NAIVE}x", verdict(j2 / nv <= TARGET_NAIVE)],
        ["jobs 1 / jobs 2 (speed-up)", f"{j1 / j2:.2f}x", f">= {TARGET_SPEEDUP}x", verdict(j1 / j2 >= TARGET_SPEEDUP)],
    ], "Targets"))
    path = save_json(f"bench_build_{args.year}.json", {"machine": machine(), "code": code_version(), "results": res,
                                                      "peak_pss_mb": memory})
    print(f"raw figures: {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
