"""A/B measurements of the changes proposed in docs/performance.md, on patched copies.

Nothing in `agii_analysis/` is changed: each variant is a snapshot copy of the
repository (see _common.py) with text patches applied to the copy. A patch whose
anchor text is no longer in the code says so and is skipped (the code moved on).

  ingest: read_export + harmonise of the bench_ingest export (100 000 rows), original
          vs H (harmonise: signatures only for repeated ids, vectorised label_nl, no
          object round trip when assembling `responses`), R (reader: one transposition
          of the grid, inlined cell-to-text), H+R, and M (harmonise: one take for the
          used rows, question ids categorised without Python strings). H and R were
          written against the code of 2026-12-03 12:50 and have since been done in the
          working tree, so they no longer apply; M is for the code of 14:00. Results are
          checked to be identical (responses and respondents).
  build:  `agii run --year 2022 --force --jobs 1/2`, original vs B (no rfc3987_syntax
          grammar on `import nbformat`; with --jobs > 1 the parent imports the heavy
          modules before the pool forks, so the workers start warm).

    .venv/bin/python benchmarks/bench_proposals.py ingest --repeat 3
    .venv/bin/python benchmarks/bench_proposals.py build --repeat 3
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

from _common import (OUT, PYTHON, agii_cmd, check_tree, code_version, machine, run_measured,  # noqa: E402
                     save_json, snapshot_tree, spread, table, tree_env)

# ------------------------------------------------------------------ patches (file, anchor, replacement)

HARMONISE = [
    ("agii_analysis/harmonise.py",
     '''    signature = _signatures(long, len(respondents))
    respondents["signature"] = signature
    dup_id = respondents.duplicated("respondent_id", keep=False)
''',
     '''    dup_id = respondents.duplicated("respondent_id", keep=False)
    respondents["signature"] = ""
    if dup_id.any():  # only repeated ids need a signature
        part = long[long["rid"].isin(respondents.index[dup_id])]
        respondents["signature"] = _signatures(part, len(respondents))
'''),
    ("agii_analysis/harmonise.py",
     '''        **{c: resp_cols[c].to_numpy() for c in resp_cols.columns},
        "question": long["question"].to_numpy(),
        "item": long["item"].astype(str).to_numpy(),
        "code": long["code"].to_numpy(dtype=float),
        "label_nl": [label_nl.get((q, c)) for q, c in zip(long["question"], long["code"])],
        "text": long["text"].to_numpy(dtype=object),
    })''',
     '''        **{c: resp_cols[c].array for c in resp_cols.columns},
        "question": long["question"].array,
        "item": long["item"].astype(str).array,
        "code": long["code"].to_numpy(dtype=float),
        "label_nl": _labels_of(long, label_nl),
        "text": long["text"].array,
    }, index=pd.RangeIndex(len(long)))'''),
    ("agii_analysis/harmonise.py",
     '''def _label_lookup(codebook: Codebook, year: int) -> dict:''',
     '''def _labels_of(long: pd.DataFrame, lookup: dict) -> np.ndarray:
    """label_nl per long row, mapped per question (vectorised)."""
    out = np.full(len(long), None, dtype=object)
    q = long["question"].to_numpy(dtype=object)
    code = long["code"].to_numpy(dtype=float)
    by_q: dict = {}
    for (qid, c), lab in lookup.items():
        by_q.setdefault(qid, {})[c] = lab
    for qid in pd.unique(q):
        sel = np.flatnonzero(q == qid)
        m = by_q.get(qid)
        if m:
            out[sel] = pd.Series(code[sel]).map(m).to_numpy(dtype=object)
    out[pd.isna(out)] = None
    return out


def _label_lookup(codebook: Codebook, year: int) -> dict:'''),
]

READER = [
    ("agii_analysis/reader.py",
     '''    def cells(j: int) -> list:
        return [r[j] if j < len(r) else None for _, r in body]
''',
     '''    # one transposition (C speed) instead of one pass over every row per column
    padded = [r if len(r) >= width else list(r) + [None] * (width - len(r)) for _, r in body]
    by_column = list(zip(*padded)) if padded else [()] * width

    def cells(j: int) -> list:
        return list(by_column[j]) if j < width else [None] * len(body)
'''),
    ("agii_analysis/reader.py",
     '''        {c.key: pd.Series([_text(v) for v in cells(c.position)], dtype=object) for c in columns},''',
     '''        {c.key: pd.Series(_texts(by_column[c.position]), dtype=object) for c in columns},'''),
    ("agii_analysis/reader.py",
     '''class _Where:''',
     '''def _texts(values) -> list:
    """_text of every cell; str and None (nearly all cells) without a function call."""
    return [(v.strip() or None) if type(v) is str else (None if v is None else _text(v)) for v in values]


class _Where:'''),
]

BUILD = [
    ("agii_analysis/cli.py",
     '''from .errors import AgiiError
''',
     '''from .errors import AgiiError

# jsonschema (imported by nbformat) compiles an RFC 3987 grammar on import when
# rfc3987_syntax is installed (~1 s); the notebooks never need IRI format checks.
sys.modules.setdefault("rfc3987_syntax", None)
'''),
    ("agii_analysis/run.py",
     '''        if jobs > 1 and len(tasks) > 1:
''',
     '''        if jobs > 1 and len(tasks) > 1:
            _prewarm()  # forked workers inherit the imports instead of each paying them
'''),
    ("agii_analysis/run.py",
     '''def run(by_year:''',
     '''def _prewarm() -> None:
    import matplotlib.pyplot  # noqa: F401
    import nbconvert  # noqa: F401
    import nbformat  # noqa: F401
    import papermill  # noqa: F401
    import weasyprint  # noqa: F401

    from . import appendix, render, results  # noqa: F401


def run(by_year:'''),
]


def patched_tree(dest: Path, patches: list[tuple[str, str, str]], **kw) -> tuple[Path, list[str]]:
    tree = snapshot_tree(dest, **kw)
    applied = []
    for rel, old, new in patches:
        p = tree / rel
        text = p.read_text(encoding="utf-8")
        if old not in text:
            print(f"  patch for {rel} no longer applies (anchor {old.strip().splitlines()[0][:60]!r} not found): skipped",
                  file=sys.stderr)
            continue
        p.write_text(text.replace(old, new, 1), encoding="utf-8")
        applied.append(f"{rel}: {old.strip().splitlines()[0][:50]}")
    return tree, applied


# ------------------------------------------------------------------ ingest

WORKER = r'''
import json, sys, time
from pathlib import Path
from agii_analysis.codebook import load_codebook
from agii_analysis.harmonise import harmonise
from agii_analysis.params import InputFile
from agii_analysis.prepare import _redactor
from agii_analysis.reader import read_export
path, dump = sys.argv[1], sys.argv[2]
t0 = time.perf_counter(); e = read_export(path); t1 = time.perf_counter()
h = harmonise([(e, InputFile(Path(path)))], load_codebook("na_aanbod_mo"), 2023, redact=_redactor())
t2 = time.perf_counter()
print(json.dumps({"read_s": t1 - t0, "harmonise_s": t2 - t1, "total_s": t2 - t0,
                  "peak_mb": next(int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))}))
if dump != "-":
    h.responses.to_parquet(dump + "_responses.parquet"); h.respondents.to_parquet(dump + "_respondents.parquet")
'''


# M (for the harmonise.py of 2026-12-03 14:00, after H had been done differently in the
# working tree): select and order the used long rows with one take, and categorise the
# question ids from the Arrow strings instead of materialising 1M Python strings.
MEMORY = [
    ("agii_analysis/harmonise.py",
     '''    long = long[long["rid"].isin(used)]
    # input order: export by export, row by row, then the questionnaire's column order
    long = long.iloc[np.argsort(long["rid"].to_numpy(), kind="stable")]
    rid = long["rid"].to_numpy()
    per_resp = respondents[["respondent_id", "collector_id", "language", "start", "end", "complete", "source"]]
    question = pd.Categorical(long["question"].to_numpy(), categories=list(codebook.questions))''',
     '''    # used rows in input order (export by export, row by row, then column order): one take
    keep = np.flatnonzero(long["rid"].isin(used).to_numpy())
    keep = keep[np.argsort(long["rid"].to_numpy()[keep], kind="stable")]
    long = long.take(keep)
    rid = long["rid"].to_numpy()
    per_resp = respondents[["respondent_id", "collector_id", "language", "start", "end", "complete", "source"]]
    question = pd.Categorical(long["question"].astype(pd.CategoricalDtype(list(codebook.questions))))'''),
]

INGEST_VARIANTS = {"H": HARMONISE, "R": READER, "H+R": HARMONISE + READER, "M": MEMORY}


def ingest(args, base: Path) -> None:
    import pandas as pd

    files = sorted(OUT.glob("ingest_na_aanbod_mo_2023_expanded_100000.*"))
    files = [f for f in files if f.suffix in (".xlsx", ".csv")]
    if not files:
        sys.exit("run benchmarks/bench_ingest.py first (it writes the 100 000-row exports)")
    trees = {"original": snapshot_tree(base / "original", data=False, processed=False)}
    applied = {}
    for name, patches in INGEST_VARIANTS.items():
        tree, done = patched_tree(base / name.replace("+", ""), patches, data=False, processed=False)
        if len(done) == len(patches):
            trees[name], applied[name] = tree, done
        else:
            print(f"  variant {name}: {len(patches) - len(done)} of its {len(patches)} patches no longer apply "
                  f"(the working tree changed that code): skipped", file=sys.stderr)
    variants = {k: {f.suffix: [] for f in files} for k in trees}
    worker = base / "worker.py"
    worker.write_text(WORKER, encoding="utf-8")
    for t in trees.values():
        check_tree(t)
    for rep in range(args.repeat):
        for f in files:
            for name, tree in trees.items():
                dump = str(base / f"{name}{f.suffix}") if rep == 0 else "-"
                r = run_measured([str(PYTHON), str(worker), str(f), dump], cwd=tree, env=tree_env(tree))
                variants[name][f.suffix].append(json.loads(r["stdout"].strip().splitlines()[-1]))
                print(f"  rep {rep + 1} {f.suffix} {name}: {variants[name][f.suffix][-1]['total_s']:.2f} s", file=sys.stderr)
    same = {}
    for f in files:
        for name in trees:
            if name == "original":
                continue
            ok = True
            for part in ("responses", "respondents"):
                a = pd.read_parquet(base / f"original{f.suffix}_{part}.parquet")
                b = pd.read_parquet(base / f"{name}{f.suffix}_{part}.parquet")
                try:
                    pd.testing.assert_frame_equal(a, b)
                except AssertionError:
                    ok = False
            same[(name, f.suffix)] = ok
    rows = []
    for f in files:
        for name in trees:
            rs = variants[name][f.suffix]
            rows.append([f"{f.suffix[1:]} {name}", spread(r["read_s"] for r in rs), spread(r["harmonise_s"] for r in rs),
                         spread(r["total_s"] for r in rs), f"{median(r['peak_mb'] for r in rs):.0f}",
                         "-" if name == "original" else ("identical" if same[(name, f.suffix)] else "DIFFERENT")])
    print(machine())
    print(code_version())
    print(table(["variant", "read_export s", "harmonise s", "total s", "peak RSS MB", "output vs original"], rows,
                f"Proposed ingest changes, 100 000 rows, {args.repeat} repetition(s), median (min-max)"))
    for name, done in applied.items():
        print(f"{name} applies: " + "; ".join(done))
    save_json("bench_proposals_ingest.json", {"machine": machine(), "code": code_version(), "results": variants,
                                              "identical": {f"{k[0]} {k[1]}": v for k, v in same.items()}})


# ------------------------------------------------------------------ build

def build(args, base: Path) -> None:
    trees = {"original": snapshot_tree(base / "original")}
    trees["B"], applied = patched_tree(base / "B", BUILD)
    if not applied:
        sys.exit("no build patch applies any more (the working tree changed that code)")
    for t in trees.values():
        check_tree(t)
        run_measured([str(PYTHON), "-c", "from agii_analysis.params import find_params\nfrom agii_analysis.prepare import prepare\n"
                      "for p in find_params():\n    prepare(p)\n"], cwd=t, env=tree_env(t))
    res = {(n, j): [] for n in trees for j in (1, 2)}
    for rep in range(args.repeat):
        for jobs in (1, 2):
            for name, tree in trees.items():
                r = run_measured(agii_cmd("run", "--year", "2022", "--force", "--jobs", str(jobs), "--no-progress",
                                          "--reports-dir", str(tree / f"reports-j{jobs}")),
                                 cwd=tree, env=tree_env(tree), sample_tree=True)
                res[(name, jobs)].append({"wall_s": r["wall_s"], "cpu_s": r["user_s"] + r["sys_s"], "tree_pss_mb": r["tree_pss_mb"]})
                print(f"  rep {rep + 1} jobs {jobs} {name}: {r['wall_s']:.1f} s, CPU {r['user_s'] + r['sys_s']:.1f} s", file=sys.stderr)
    print(machine())
    rows = [[f"{name}, --jobs {jobs}", spread(r["wall_s"] for r in rs), spread(r["cpu_s"] for r in rs),
             f"{median(r['tree_pss_mb'] for r in rs):.0f}"] for (name, jobs), rs in res.items()]
    print(table(["variant", "wall s", "CPU s (whole tree)", "peak PSS MB"], rows,
                f"Proposed build changes, agii run --year 2022 --force, {args.repeat} repetition(s), median (min-max)"))
    print("B applies: " + "; ".join(applied))
    print(code_version())
    save_json("bench_proposals_build.json", {"machine": machine(), "code": code_version(), "results": {f"{k[0]} jobs {k[1]}": v for k, v in res.items()}})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("ingest", "build"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix=f"agii-bench-proposals-{args.what}-"))
    try:
        (ingest if args.what == "ingest" else build)(args, base)
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
