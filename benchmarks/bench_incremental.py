"""Incremental benchmark: `agii run` with nothing changed, then with one export changed.

In a snapshot copy of the repository (see _common.py; warm Parquet cache):

1. `agii run --all` once: every demo report (the baseline build; timed too).
2. Nothing changed: `agii run --year 2022` and `agii run --all` again, each --repeat
   times (target: <= 2 s). Every survey-year and overview must say "up to date".
3. One export changed: one answer in one respondent row of one demo export (default
   `na_aanbod_mo_2023.csv`; another single-choice label/number that occurs in the same
   column, so the file stays valid) is rewritten, then `agii run --all`. The expected
   rebuild is exactly that survey-year and its year's overview, plus the same survey
   in the next year when there is one (its "change on last year" reads this year's
   data) and that year's overview. The command output and the manifests' `built_at`
   are checked against that. Repeated --repeat times (changing the answer back and forth).

    .venv/bin/python benchmarks/bench_incremental.py
    .venv/bin/python benchmarks/bench_incremental.py --export data/raw/demo/2022/na_test_mo_2022.csv
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (code_version, REPO, agii_cmd, check_tree, machine, run_measured, save_json,  # noqa: E402
                     snapshot_tree, spread, table, tree_env, verdict)

TARGET_NOOP_S = 2.0
_LINE = re.compile(r"^(\d{4}) (\S+): (built|up to date, skipped)$")


def outcomes(stdout: str) -> dict[tuple[int, str], str]:
    out = {}
    for line in stdout.splitlines():
        m = _LINE.match(line.strip())
        if m:
            out[(int(m.group(1)), m.group(2))] = "built" if m.group(3) == "built" else "skipped"
    return out


def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252"), "cp1252"


def change_one_answer(path: Path, other_files: list[Path]) -> str:
    """Rewrite one single-choice answer of one respondent; returns what changed."""
    raw = path.read_bytes()
    text, encoding = _decode(raw)
    first = text.split("\n", 1)[0]
    sep = max((",", ";", "\t"), key=first.count)
    newline = "\r\n" if "\r\n" in text[:10000] else "\n"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    h1, h2 = rows[0], rows[1]
    others = b"".join(p.read_bytes() for p in other_files if p.exists())
    for j, sub in enumerate(h2):
        if sub.strip().lower() not in ("response", "antwoord"):
            continue
        values = sorted({r[j] for r in rows[2:] if j < len(r) and r[j].strip()})
        if len(values) < 2:
            continue
        for i in range(2, len(rows)):
            r = rows[i]
            if j < len(r) and r[j].strip() and r[0].encode() not in others:
                old = r[j]
                new = next(v for v in values if v != old)
                r[j] = new
                buf = io.StringIO(newline="")
                csv.writer(buf, delimiter=sep, lineterminator=newline).writerows(rows)
                path.write_bytes(buf.getvalue().encode(encoding))
                question = next((h1[k] for k in range(j, -1, -1) if h1[k].strip()), "?")
                return f"{path.name} row {i + 1} (respondent {r[0]}), column {question[:50]!r}: {old!r} -> {new!r}"
    raise SystemExit(f"{path}: no single-choice column with two different answers to change")


def expected_rebuild(tree: Path, export: Path) -> set[tuple[int, str]]:
    """The survey-year whose params name `export`, its overview, and the next year's."""
    import yaml

    out = set()
    for p in sorted((tree / "params").glob("*/*.yaml")):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        files = [Path(i["file"] if isinstance(i, dict) else i) for i in data["inputs"]]
        if any((tree / f).resolve() == export.resolve() for f in files):
            year, survey = int(data["year"]), data["survey"]
            out |= {(year, survey), (year, "overzicht")}
            if (tree / "params" / str(year + 1) / p.name).exists():
                out |= {(year + 1, survey), (year + 1, "overzicht")}
    if not out:
        raise SystemExit(f"no params file names {export}")
    return out


def other_inputs(tree: Path, export: Path) -> list[Path]:
    """The other exports of the survey-years that read `export` (overlapping copies)."""
    import yaml

    out = []
    for p in sorted((tree / "params").glob("*/*.yaml")):
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
        files = [tree / (i["file"] if isinstance(i, dict) else i) for i in data["inputs"]]
        if export in files:
            out += [f for f in files if f != export]
    return out


def built_at(reports: Path) -> dict[tuple[int, str], str]:
    out = {}
    for m in reports.glob("*/manifest.json"):
        data = json.loads(m.read_text(encoding="utf-8"))
        year = int(m.parent.name)
        for s, e in data.get("surveys", {}).items():
            out[(year, s)] = e.get("built_at")
        if data.get("overview"):
            out[(year, "overzicht")] = data["overview"].get("built_at")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export", default="data/raw/demo/2023/na_aanbod_mo_2023.csv",
                    help="CSV export (path relative to the repository) to change")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    print(machine())
    print(code_version())
    base = Path(tempfile.mkdtemp(prefix="agii-bench-incr-"))
    reports = base / "reports"
    try:
        tree = snapshot_tree(base / "tree")
        check_tree(tree)
        env = tree_env(tree)
        export = tree / args.export

        def agii(*extra):
            return run_measured(agii_cmd("run", *extra, "--jobs", str(args.jobs), "--reports-dir", str(reports),
                                         "--no-progress"), cwd=tree, env=env, sample_tree=True)

        full = agii("--all")
        first = outcomes(full["stdout"])
        print(f"  full build: {full['wall_s']:.1f} s, {len(first)} reports", file=sys.stderr)
        noop = {"--year 2022": [], "--all": []}
        for rep in range(args.repeat):
            for label in noop:
                r = agii(*label.split())
                got = outcomes(r["stdout"])
                if not got or any(v != "skipped" for v in got.values()):
                    raise RuntimeError(f"nothing changed but agii run {label} rebuilt: {got}")
                noop[label].append(r)
        expected = expected_rebuild(tree, export)
        others = other_inputs(tree, export)
        changes = []
        for rep in range(args.repeat):
            before = built_at(reports)
            what = change_one_answer(export, others)
            r = agii("--all")
            got = outcomes(r["stdout"])
            rebuilt = {k for k, v in got.items() if v == "built"}
            after = built_at(reports)
            stamped = {k for k in after if after[k] != before.get(k)}
            changes.append({"change": what, "wall_s": r["wall_s"], "rebuilt": sorted(rebuilt),
                            "manifest_changed": sorted(stamped), "ok": rebuilt == expected,
                            "tree_pss_mb": r["tree_pss_mb"]})
            print(f"  change {rep + 1}: {what}: rebuilt {sorted(rebuilt)} in {r['wall_s']:.1f} s", file=sys.stderr)
    finally:
        if args.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)

    rows = [["agii run --all (first build)", f"{full['wall_s']:.2f}", len(first), f"{full['tree_pss_mb']:.0f}"]]
    for label, rs in noop.items():
        rows.append([f"agii run {label}, nothing changed", spread(r["wall_s"] for r in rs),
                     f"0 of {len(outcomes(rs[0]['stdout']))}", f"{median(r['tree_pss_mb'] for r in rs):.0f}"])
    rows.append([f"agii run --all, one answer changed in {export.name}", spread(c["wall_s"] for c in changes),
                 f"{len(changes[0]['rebuilt'])} of {len(first)}", f"{median(c['tree_pss_mb'] for c in changes):.0f}"])
    print(table(["run", "wall s, median (min-max)", "rebuilt", "peak PSS of tree MB"], rows,
                f"Incremental runs, {args.repeat} repetition(s), --jobs {args.jobs}"))
    print(f"changed, e.g.: {changes[0]['change']}")
    print(f"expected to rebuild: {', '.join(f'{y} {s}' for y, s in sorted(expected))}")
    print(f"rebuilt:             {', '.join(f'{y} {s}' for y, s in changes[0]['rebuilt'])}")
    print(f"manifest entries with a new built_at: {', '.join(f'{y} {s}' for y, s in changes[0]['manifest_changed'])}")
    worst = max(median(r["wall_s"] for r in rs) for rs in noop.values())
    print(table(["target", "measured", "target", "verdict"], [
        ["no-change run (slowest median)", f"{worst:.2f} s", f"<= {TARGET_NOOP_S} s", verdict(worst <= TARGET_NOOP_S)],
        ["one export changed: only its survey-year (+ next year's) and overview(s)",
         "as expected" if all(c["ok"] for c in changes) else "DIFFERENT", "exactly those", verdict(all(c["ok"] for c in changes))],
    ], "Targets"))
    path = save_json(f"bench_incremental_{export.stem}.json", {"machine": machine(), "code": code_version(), "full": {k: v for k, v in full.items() if k != "stderr"},
                                                 "noop": noop, "changes": changes, "expected": sorted(expected)})
    print(f"raw figures: {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
