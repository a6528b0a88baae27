"""Parameter files: one YAML per survey and year (`params/<year>/<survey>.yaml`).

They say which exports make up a survey-year, how many people were invited, and the
report options. Validated on load; every message names the file and the key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .codebook import available_surveys, load_codebook
from .errors import AgiiError
from .files import same_file

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_EXPORTS = REPO_ROOT / "data" / "raw" / "demo"  # where `agii demo` writes the invented exports
PARAMS_DIR = REPO_ROOT / "params"

_KEYS = {
    "survey", "year", "inputs", "invited", "invited_source", "invited_by",
    "previous", "period", "suppression_threshold", "quotes", "max_quotes",
    "unknown_labels", "contact", "demo", "note",
}
_INPUT_KEYS = {"file", "sheet", "values", "collector", "language"}
_PREVIOUS_KEYS = {"year", "pct_satisfied", "nps", "scale", "source"}


@dataclass(frozen=True)
class InputFile:
    file: Path
    sheet: str | None = None
    values: str = "text"  # text | numeric ("numerical value" export)
    collector: str | None = None  # label for the collector(s) in this file
    language: str | None = None  # language edition, when the file does not say


@dataclass(frozen=True)
class Previous:
    """Published figures of the previous year, used when its raw data is not available."""

    year: int
    pct_satisfied: float | None
    nps: float | None
    scale: str | None
    source: str


@dataclass(frozen=True)
class Params:
    survey: str
    year: int
    inputs: tuple[InputFile, ...]
    invited: int | None
    path: Path
    invited_source: str = ""
    invited_by: dict[str, int] = field(default_factory=dict)
    previous: Previous | None = None
    period: tuple[dt.date, dt.date] | None = None
    suppression_threshold: int = 10
    quotes: bool = False
    max_quotes: int = 5
    unknown_labels: str = "error"
    contact: str = "Dienst Data en Kwaliteit, Agentschap Integratie en Inburgering"
    demo: bool = False
    note: str = ""

    @property
    def report_period(self) -> tuple[dt.date, dt.date]:
        """Responses count for the year of their End Date unless a period is given."""
        return self.period or (dt.date(self.year, 1, 1), dt.date(self.year, 12, 31))

    def to_dict(self) -> dict:
        return {
            "survey": self.survey,
            "year": self.year,
            "inputs": [
                {"file": _rel(i.file), "sheet": i.sheet, "values": i.values,
                 "collector": i.collector, "language": i.language}
                for i in self.inputs
            ],
            "invited": self.invited,
            "invited_source": self.invited_source,
            "invited_by": dict(self.invited_by),
            "previous": None if self.previous is None else vars(self.previous).copy(),
            "period": None if self.period is None else [d.isoformat() for d in self.period],
            "suppression_threshold": self.suppression_threshold,
            "quotes": self.quotes,
            "max_quotes": self.max_quotes,
            "unknown_labels": self.unknown_labels,
            "demo": self.demo,
            "contact": self.contact,
            "note": self.note,
            "params_file": _rel(self.path),
        }


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _fail(path: Path, key: str, problem: str, expected: str | None = None):
    raise AgiiError(f"{key}: {problem}", file=_rel(path), expected=expected)


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping (PyYAML keeps the last)."""


def _unique_mapping(loader, node, deep=False):
    seen = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults`: a local key may override those
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, f"a key cannot be a list or a mapping ({key!r})",
                                                    key_node.start_mark) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} given twice (first at line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def _text(path, key, value, allow_none=True) -> str | None:
    """A text setting: a string (or a bare number, as YAML reads 412345678), never a list."""
    if value is None and allow_none:
        return None
    if isinstance(value, dt.date):  # YAML reads 2023-05-01 as a date
        return value.isoformat()
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        _fail(path, key, f"{value!r} is not a text", "a single value, e.g. \"...\"")
    return str(value)


def _bool(path, key, value) -> bool:
    if not isinstance(value, bool):
        _fail(path, key, f"{value!r}", "true or false")
    return value


def _int(path, key, value, minimum=0):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(path, key, f"{value!r} is not a whole number >= {minimum}")
    return value


def load_params(path: str | Path, check_files: bool = True) -> Params:
    """Load and validate one parameter file. Relative input paths are relative to the repository root."""
    path = Path(path)
    try:
        return _load_params(path, check_files)
    except AgiiError:
        raise
    except Exception as exc:  # a shape not foreseen below: still one line, never a traceback
        raise AgiiError(f"cannot be read as a parameter file ({type(exc).__name__}: {exc})",
                        file=_rel(path)) from exc


def _load_params(path: Path, check_files: bool) -> Params:
    if not path.exists():
        raise AgiiError("parameter file not found", file=_rel(path))
    if path.is_dir():
        raise AgiiError("is a folder, not a parameter file", file=_rel(path),
                        expected="params/<year>/<survey>.yaml")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except OSError as exc:
        raise AgiiError(f"cannot read parameter file ({exc.strerror})", file=_rel(path)) from None
    except UnicodeDecodeError as exc:
        line = exc.object.count(b"\n", 0, exc.start) + 1
        raise AgiiError(f"not UTF-8 text at line {line} (byte {exc.start})", file=_rel(path),
                        expected="a UTF-8 YAML file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise AgiiError(f"invalid YAML{where}: {getattr(exc, 'problem', exc)}", file=_rel(path)) from None
    if not isinstance(data, dict):
        raise AgiiError("a parameter file must be a mapping of keys to values", file=_rel(path))
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        _fail(path, unknown[0], "unknown key", f"one of {', '.join(sorted(_KEYS))}")
    for key in ("survey", "year", "inputs"):
        if key not in data:
            _fail(path, key, "missing")
    survey = data["survey"]
    if survey not in available_surveys():
        _fail(path, "survey", f"unknown survey {survey!r}", f"one of {', '.join(available_surveys())}")
    year = _int(path, "year", data["year"], 1990)
    codebook = load_codebook(survey)
    raw_inputs = data["inputs"]
    if not isinstance(raw_inputs, list) or not raw_inputs:
        _fail(path, "inputs", "must be a non-empty list of export files")
    inputs = []
    for i, entry in enumerate(raw_inputs):
        key = f"inputs[{i}]"
        if isinstance(entry, str):
            entry = {"file": entry}
        if not isinstance(entry, dict) or "file" not in entry:
            _fail(path, key, "needs a file", "{file: data/raw/...}")
        bad = sorted(set(entry) - _INPUT_KEYS)
        if bad:
            _fail(path, f"{key}.{bad[0]}", "unknown key", f"one of {', '.join(sorted(_INPUT_KEYS))}")
        if not isinstance(entry["file"], str) or not entry["file"].strip():
            _fail(path, f"{key}.file", f"{entry['file']!r} is not a file path", "data/raw/<year>/<export>.xlsx")
        file = Path(entry["file"])
        if not file.is_absolute():
            file = REPO_ROOT / file
        if check_files and not file.exists():
            beside = path.parent / entry["file"]
            hint = (f"; {_rel(beside)} is there: a relative path is read from the repository folder, not the "
                    "params file's" if not Path(entry["file"]).is_absolute() and beside.is_file() else "")
            _fail(path, f"{key}.file", f"export not found: {_rel(file)}{hint}", "an existing XLSX or CSV export")
        if check_files and file.is_dir():
            _fail(path, f"{key}.file", f"{_rel(file)} is a folder", "an XLSX or CSV export file")
        values = entry.get("values", "text")
        if values not in ("text", "numeric"):
            _fail(path, f"{key}.values", f"{values!r}", "text or numeric")
        language = _text(path, f"{key}.language", entry.get("language"))
        if language is not None and language not in codebook.languages:
            _fail(path, f"{key}.language", f"{language!r} is not a language of survey {survey!r}",
                  f"one of {', '.join(codebook.languages)} (codebook {codebook.path.name})")
        # a sheet is named (YAML reads a sheet called 2023 as a number): never a position
        sheet = _text(path, f"{key}.sheet", entry.get("sheet"))
        twin = next((k for k, other in enumerate(inputs) if other.sheet == sheet and same_file(other.file, file)),
                    None)
        if twin is not None:  # its respondents would all be dropped as duplicates of themselves
            _fail(path, f"{key}.file", f"{_rel(file)} is already inputs[{twin}]", "each export once")
        inputs.append(InputFile(file, sheet, values, _text(path, f"{key}.collector", entry.get("collector")), language))
    invited = data.get("invited")
    if invited is not None:
        invited = _int(path, "invited", invited, 1)
    invited_by = {}
    if not isinstance(data.get("invited_by") or {}, dict):
        _fail(path, "invited_by", "must map collector ids or language codes to invited counts",
              '{"412345678": 1200} or {nl: 900, en: 120}')
    for name, count in (data.get("invited_by") or {}).items():
        if str(name) in invited_by:  # 412345678 and "412345678"
            _fail(path, f"invited_by.{name}", "given twice (once as a number, once as a text)")
        invited_by[str(name)] = _int(path, f"invited_by.{name}", count, 1)
    for dimension, names in (("languages", [k for k in invited_by if k in codebook.languages]),
                             ("collectors", [k for k in invited_by if k not in codebook.languages])):
        total = sum(invited_by[k] for k in names)
        if invited is not None and total > invited:
            _fail(path, "invited_by", f"the {dimension} {', '.join(names)} add up to {total} invited, "
                  f"more than invited: {invited}", f"at most {invited} in all")
    previous = None
    if data.get("previous") is not None:
        prev = data["previous"]
        if not isinstance(prev, dict):
            _fail(path, "previous", "must be a mapping")
        bad = sorted(set(prev) - _PREVIOUS_KEYS)
        if bad:
            _fail(path, f"previous.{bad[0]}", "unknown key", f"one of {', '.join(sorted(_PREVIOUS_KEYS))}")
        if not prev.get("source"):
            _fail(path, "previous.source", "missing: say where the published figure comes from")
        for k, lo, hi in (("pct_satisfied", 0, 100), ("nps", -100, 100)):
            v = prev.get(k)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                _fail(path, f"previous.{k}", f"{v!r} is not a number")
            if v is not None and not lo <= v <= hi:
                _fail(path, f"previous.{k}", f"{v!r} is out of range", f"a number from {lo} to {hi}")
        prev_year = _int(path, "previous.year", prev.get("year", year - 1), 1990)
        if prev_year >= year:
            _fail(path, "previous.year", f"{prev_year} is not before {year}", f"a year before {year}")
        scale = _text(path, "previous.scale", prev.get("scale"))
        if scale is not None and scale not in codebook.scales:
            _fail(path, "previous.scale", f"unknown scale {scale!r}", f"one of {', '.join(codebook.scales)}")
        previous = Previous(prev_year, prev.get("pct_satisfied"), prev.get("nps"), scale,
                            _text(path, "previous.source", prev["source"]))
    period = None
    if data.get("period") is not None:
        p = data["period"]
        try:
            start, end = (p["start"], p["end"]) if isinstance(p, dict) else p
            start = start if isinstance(start, dt.date) else dt.date.fromisoformat(str(start))
            end = end if isinstance(end, dt.date) else dt.date.fromisoformat(str(end))
        except (TypeError, ValueError, KeyError):
            _fail(path, "period", f"{p!r}", "{start: YYYY-MM-DD, end: YYYY-MM-DD}")
        if end < start:
            _fail(path, "period", "ends before it starts")
        period = (start, end)
    threshold = _int(path, "suppression_threshold", data.get("suppression_threshold", Params.suppression_threshold), 1)
    quotes = _bool(path, "quotes", data.get("quotes", False))
    unknown_labels = data.get("unknown_labels", "error")
    if unknown_labels not in ("error", "missing"):
        _fail(path, "unknown_labels", f"{unknown_labels!r}", "error or missing")
    demo = _bool(path, "demo", data.get("demo", False))
    invented = next((k for k, i in enumerate(inputs) if is_demo_export(i.file)), None)
    if not demo and invented is not None:  # invented answers would be reported as real ones
        _fail(path, f"inputs[{invented}].file", f"{_rel(inputs[invented].file)} is a demo export (invented answers), "
              "and the params file does not say demo: true", "demo: true, or a real export")
    return Params(
        survey=survey,
        year=year,
        inputs=tuple(inputs),
        invited=invited,
        path=path,
        invited_source=_text(path, "invited_source", data.get("invited_source")) or "",
        invited_by=invited_by,
        previous=previous,
        period=period,
        suppression_threshold=threshold,
        quotes=quotes,
        max_quotes=_int(path, "max_quotes", data.get("max_quotes", 5), 0),
        unknown_labels=unknown_labels,
        contact=_text(path, "contact", data.get("contact")) or Params.contact,
        demo=demo,
        note=_text(path, "note", data.get("note")) or "",
    )


def is_demo_export(path: str | Path) -> bool:
    """An export `agii demo` wrote (under data/raw/demo/): invented answers."""
    try:
        Path(path).resolve().relative_to(DEMO_EXPORTS.resolve())
    except ValueError:
        return False
    return True


def check_placement(path: str | Path, params: Params) -> None:
    """A file found under params/<year>/ must be `<survey>.yaml` of that year: `agii run`
    files a survey-year by the file's place, so a copy or a wrong year would overwrite
    another survey-year's reports."""
    path = Path(path)
    if path.stem != params.survey:
        _fail(path, "survey", f"{params.survey!r} does not match the file name {path.name!r}",
              f"params/<year>/{params.survey}.yaml: one file per survey and year, named after its survey")
    folder = path.parent.name
    if folder.isdigit() and int(folder) != params.year:
        _fail(path, "year", f"{params.year} does not match the folder {folder}/ the file is in",
              f"year: {folder}, or the file under params/{params.year}/")


def params_path(survey: str, year: int, directory: Path | None = None) -> Path:
    return Path(directory or PARAMS_DIR) / str(year) / f"{survey}.yaml"


def find_params(year: int | None = None, survey: str | None = None, directory: Path | None = None) -> list[Path]:
    """Parameter files under params/, in a stable order (year, survey)."""
    root = Path(directory or PARAMS_DIR)
    years = [root / str(year)] if year else sorted(p for p in root.iterdir() if p.is_dir() and p.name.isdigit())
    out = []
    for ydir in years:
        for f in sorted(ydir.glob("*.yaml")):
            if survey is None or f.stem == survey:
                out.append(f)
    return out
