"""`agii`: the command line over the package (demo, validate, inspect, run, audit)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import Counter
from pathlib import Path

from . import _fastimport  # noqa: F401  (before anything imports jsonschema)
from .errors import AgiiError


def _cmd_demo(args) -> int:
    from .demo import demo_up_to_date, write_demo

    files = None if args.force else demo_up_to_date()
    if files is not None:
        print(f"demo: the {len(files)} exports under data/raw/demo/ are up to date (--force rewrites them)")
        return 0
    files = write_demo()
    print(f"demo: wrote {len(files)} exports under data/raw/demo/")
    return 0


def _guess_year(exports) -> int:
    years = Counter()
    for e in exports:
        years.update(e.meta["end"].dropna().dt.year.tolist())
    if not years:
        names = ", ".join(Path(e.path).name for e in exports)
        raise AgiiError(f"cannot tell the report year from {names}: no End Date in any row", expected="--year YYYY")
    return years.most_common(1)[0][0]


def _cmd_validate(args) -> int:
    from .codebook import load_codebook
    from .harmonise import harmonise, key_questions_missing
    from .params import InputFile, Params
    from .prepare import _redactor
    from .reader import read_export

    codebook = load_codebook(args.survey)
    exports = [(read_export(Path(f), sheet=args.sheet),
                InputFile(Path(f), args.sheet, "numeric" if args.numeric else "text")) for f in args.exports]
    year = args.year or _guess_year([e for e, _ in exports])
    h = harmonise(exports, codebook, year, unknown_labels=args.unknown_labels, redact=_redactor())
    acc = h.accounting
    used = h.used
    print(f"survey {codebook.survey} ({codebook.title}), year {year}, scale {codebook.scale_name(year)}")
    for f in h.files:
        where = f" sheet {f.sheet!r}" if f.sheet else (f" ({f.encoding})" if f.encoding else "")
        edition = f", language edition {f.edition_language}" if f.edition_language else ""
        print(f"  {f.file}{where}: {f.rows} rows{edition}; questions matched: {', '.join(f.questions_matched)}")
        if f.unmatched_columns:
            more = "; …" if len(f.unmatched_columns) > 5 else ""
            print(f"    unmatched columns ({len(f.unmatched_columns)}): {'; '.join(f.unmatched_columns[:5])}{more}")
        if f.comment_columns:
            print(f"    comment columns: {'; '.join(f.comment_columns)}")
        if f.dropped_columns:
            print(f"    dropped on read (privacy / unused metadata): {', '.join(f.dropped_columns)}")
    print(f"respondents: read {acc['read']}, used {acc['used']} ({acc['complete']} complete, {acc['partial']} partial)")
    excl = ", ".join(f"{k} {v}" for k, v in acc["excluded"].items() if v) or "none"
    print(f"excluded: {excl}")
    if len(used):
        print("languages: " + ", ".join(f"{k} {v}" for k, v in used["language"].value_counts().sort_index().items()))
        print("collectors: " + ", ".join(f"{k or '-'} {v}" for k, v in used["collector_id"].value_counts().sort_index().items()))
        when = used["end"].dropna()
        if len(when):
            print(f"date range: {when.min():%Y-%m-%d} to {when.max():%Y-%m-%d}")
    for u in h.unknown_labels:
        print(f"unknown label (counted as missing): {u.file} {u.column} {u.label!r} x{u.count} (first row {u.first_row})")
    missing = key_questions_missing(codebook, year, h.files)  # what `agii run` refuses
    for w in h.warnings:
        if w not in missing:
            print(f"warning: {w}")
    if acc["used"] < Params.suppression_threshold:
        print(f"warning: only {acc['used']} respondent(s) used: `agii run` refuses fewer than the suppression "
              f"threshold ({Params.suppression_threshold} unless the params file sets suppression_threshold)")
    if missing:
        raise AgiiError(f"{missing[0]}; `agii run` refuses this" + (f" (and: {'; '.join(missing[1:])})" if missing[1:] else ""),
                        expected="an export with that question, or its changed text added to the codebook")
    return 0


def _cmd_inspect(args) -> int:
    from .codebook import LANGUAGES
    from .inspect_export import _export_year, detect_questions, draft_codebook
    from .reader import read_export

    if args.language is not None and args.language not in LANGUAGES:  # the draft would not load
        raise AgiiError(f"--language {args.language}: not a language the codebooks know",
                        expected=f"one of {', '.join(LANGUAGES)}")
    if args.draft_codebook and not Path(args.draft_codebook).parent.is_dir():
        raise AgiiError("the folder for the draft codebook does not exist", file=Path(args.draft_codebook).parent,
                        expected="an existing folder, normally agii_analysis/codebooks/")
    export = read_export(Path(args.export), sheet=args.sheet)
    meta = [c for c in ("respondent_id", "collector_id", "start", "end", "language") if export.meta[c].notna().any()]
    print(f"{args.export}: {len(export.meta)} respondents, {len(export.columns)} question columns")
    print(f"metadata found: {', '.join(meta)}")
    if export.dropped:
        print(f"dropped on read: {', '.join(export.dropped)}")
    def listed(values: list[str]) -> str:
        return "; ".join(values[:8]) + (f"; … ({len(values)} in all)" if len(values) > 8 else "")

    for q in detect_questions(export):
        extra = f" options: {listed(q.options)}" if q.options else ""
        items = f" items: {listed(q.items)}" if q.items else ""
        print(f"  [{q.type}] {q.text[:80]} ({len(q.columns)} col, {q.answered} answered){items}{extra}")
    for w in export.warnings:
        print(f"warning: {w}")
    if args.draft_codebook:
        out = Path(args.draft_codebook)
        survey = args.survey_id or out.stem
        if out.suffix != ".yaml" or survey != out.stem:
            raise AgiiError(f"the draft codebook {out.name} must be named after its survey id",
                            expected=f"{survey}.yaml (a codebook is found by its file name)")
        if out.exists() and not args.force:
            raise AgiiError("already exists: a draft would overwrite it", file=out,
                            expected="a new file name, or --force to overwrite")
        out.write_text(draft_codebook(export, survey, args.year, args.language), encoding="utf-8")
        print(f"draft codebook written to {out}")
        if args.year is None and _export_year(export) is None:
            print(f"note: no End Date or Start Date in the export: scale_by_year starts in {dt.date.today().year}, "
                  "the current year; give the survey's first year with --year")
    return 0


def _cmd_run(args) -> int:
    from .run import run_cli

    return run_cli(args)


def _cmd_audit(args) -> int:
    from .audit import audit_cli

    return audit_cli(args)


def _cmd_store_templates(args) -> int:
    from .templates import store_templates

    store_templates()
    return 0


def _cmd_check_templates(args) -> int:
    from .templates import check_templates

    return check_templates(args.notebooks)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="agii", description="AgII customer-satisfaction analysis (KTO).")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("demo", help="write the deterministic demo exports under data/raw/demo/")
    s.add_argument("--force", action="store_true", help="rewrite them even if they are up to date")
    s.set_defaults(func=_cmd_demo)

    s = sub.add_parser("validate", help="read and harmonise exports against a codebook and summarise")
    s.add_argument("exports", nargs="+", help="XLSX or CSV exports of one survey and year")
    s.add_argument("--survey", required=True, help="survey id (codebook name)")
    s.add_argument("--year", type=int, help="report year (default: the year most End Dates fall in)")
    s.add_argument("--sheet", help="sheet name (XLSX with several sheets)")
    s.add_argument("--numeric", action="store_true", help="the exports hold numerical values, not answer texts")
    s.add_argument("--unknown-labels", choices=("error", "missing"), default="error",
                   help="unknown answer labels: stop (default) or count as missing and report")
    s.set_defaults(func=_cmd_validate)

    s = sub.add_parser("inspect", help="describe an export without a codebook; draft a codebook")
    s.add_argument("export", help="an XLSX or CSV SurveyMonkey export")
    s.add_argument("--sheet", help="sheet name (XLSX with several sheets)")
    s.add_argument("--draft-codebook", metavar="OUT.yaml", help="write a draft codebook YAML (refused if it exists)")
    s.add_argument("--survey-id", help="survey id for the draft codebook (default: the file name of OUT.yaml)")
    s.add_argument("--year", type=int, help="first year in scale_by_year (default: the year of most End Dates)")
    s.add_argument("--language", help="the export's language code, e.g. en (default: that of the scale labels, else nl)")
    s.add_argument("--force", action="store_true", help="overwrite an existing OUT.yaml")
    s.set_defaults(func=_cmd_inspect)

    s = sub.add_parser("run", help="build reports: notebook, HTML, PDF, Excel appendix, overview")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--year", type=int, help="every survey with a params file for that year, then the overview")
    g.add_argument("--params", type=Path, help="one params file")
    g.add_argument("--all", action="store_true", help="every year under params/")
    s.add_argument("--survey", help="only this survey")
    s.add_argument("--formats", default="html,pdf,xlsx", help="comma-separated: html,pdf,xlsx (ipynb always)")
    s.add_argument("--jobs", type=int, default=1, help="surveys built in parallel processes (default 1)")
    s.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    s.add_argument("--reports-dir", type=Path, default=None, help="output folder (default reports/)")
    s.add_argument("--params-dir", type=Path, default=None,
                   help="folder of <year>/<survey>.yaml parameter files (default params/), e.g. outside the repository")
    s.add_argument("--cache-dir", type=Path, default=None,
                   help="folder for the harmonised Parquet cache (default data/processed/)")
    s.add_argument("--no-progress", action="store_true", help="no papermill progress bars (shown only on a terminal anyway)")
    s.set_defaults(func=_cmd_run)

    s = sub.add_parser("audit", help="scan built outputs for personal data and small groups")
    s.add_argument("paths", nargs="*", type=Path, default=[Path("reports")],
                   help="built outputs or folders of them (default reports/)")
    s.add_argument("--planted", type=Path, default=None, help="JSON of planted private values (default: the demo's)")
    s.set_defaults(func=_cmd_audit)

    s = sub.add_parser("store-templates", help="re-execute the notebook templates on the demo parameters")
    s.set_defaults(func=_cmd_store_templates)

    s = sub.add_parser("check-templates", help="refuse templates whose stored outputs are not from the demo")
    s.add_argument("notebooks", nargs="*", type=Path)
    s.set_defaults(func=_cmd_check_templates)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AgiiError as exc:
        print(f"agii: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("agii: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
