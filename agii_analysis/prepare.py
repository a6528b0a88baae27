"""Params -> harmonised responses, cached as Parquet under data/processed/.

The cache key covers every input file's bytes, the codebooks, the harmonising options
and the code of the modules that shape the table, so a stale table is never reused.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from . import __version__
from .codebook import CODEBOOK_DIR, load_codebook
from .errors import AgiiError
from .files import atomic_write, atomic_write_text, display_names
from .harmonise import FileSummary, Harmonised, UnknownLabel, harmonise
from .params import REPO_ROOT, Params, load_params
from .reader import read_export

PROCESSED_DIR = REPO_ROOT / "data" / "processed"
CACHE_ENV = "AGII_CACHE_DIR"  # another cache folder (agii run --cache-dir), e.g. beside real data
_CODE_FILES = ("reader.py", "harmonise.py", "codebook.py", "prepare.py", "themes.py")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def code_hash() -> str:
    """Hash of the package code that shapes harmonised data (stands in for the version)."""
    h = hashlib.sha256(__version__.encode())
    here = Path(__file__).parent
    for name in _CODE_FILES:
        p = here / name
        if p.exists():
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def package_hash() -> str:
    """Hash of the whole package (code, codebooks, templates): what every output depends on."""
    h = hashlib.sha256(code_hash().encode())
    here = Path(__file__).parent
    for p in sorted(here.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".j2", ".css", ".json", ".yaml") and "__pycache__" not in p.parts:
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def input_hashes(params: Params) -> dict[str, str]:
    return {str(i.file): file_sha256(i.file) for i in params.inputs}


def hashes_by_name(hashes: dict[str, str]) -> dict[str, str]:
    """The inputs' hashes under their display names (two Vorming.csv in other folders stay two)."""
    return dict(zip(display_names(list(hashes)), hashes.values()))


def cache_key(params: Params, hashes: dict[str, str] | None = None) -> str:
    hashes = hashes or input_hashes(params)
    cb = load_codebook(params.survey)
    h = hashlib.sha256()
    h.update(json.dumps(sorted(hashes.values())).encode())
    for p in (cb.path, CODEBOOK_DIR / "_common.yaml", CODEBOOK_DIR / "_themes.yaml"):
        if p.exists():
            h.update(p.read_bytes())
    opts = [params.survey, params.year, params.unknown_labels, str(params.report_period),
            [(i.values, i.sheet, i.language, i.collector) for i in params.inputs]]
    h.update(json.dumps(opts, default=str).encode())
    h.update(code_hash().encode())
    return h.hexdigest()[:24]


def _paths(survey: str, year: int, root: Path) -> dict[str, Path]:
    base = root / f"{survey}_{year}"
    return {
        "responses": base.with_name(base.name + ".parquet"),
        "respondents": base.with_name(base.name + "_respondents.parquet"),
        "accounting": base.with_name(base.name + "_accounting.json"),
    }


def _redactor():
    try:
        from .themes import redact
    except ImportError:  # pragma: no cover - themes is part of the package
        return None
    return redact


def harmonise_params(params: Params) -> Harmonised:
    """Read every export of a survey-year and harmonise them (no cache)."""
    codebook = load_codebook(params.survey)
    exports = []
    for spec in params.inputs:
        if not spec.file.exists():
            raise AgiiError("export not found", file=spec.file, expected=f"the file named in {params.path.name}")
        exports.append((read_export(spec.file, sheet=spec.sheet), spec))
    return harmonise(exports, codebook, params.year, period=params.report_period,
                     unknown_labels=params.unknown_labels, redact=_redactor())


def prepare(params: Params | str | Path, root: Path | None = None, use_cache: bool = True) -> Harmonised:
    """Harmonised responses for a survey-year, from the Parquet cache when still valid."""
    if not isinstance(params, Params):
        params = load_params(params)
    root = Path(root or os.environ.get(CACHE_ENV) or PROCESSED_DIR)
    paths = _paths(params.survey, params.year, root)
    hashes = input_hashes(params)
    key = cache_key(params, hashes)
    if use_cache and all(p.exists() for p in paths.values()):
        try:
            meta = json.loads(paths["accounting"].read_text(encoding="utf-8"))
            if meta.get("cache_key") == key:
                return Harmonised(
                    params.survey, params.year,
                    pd.read_parquet(paths["responses"]), pd.read_parquet(paths["respondents"]),
                    [FileSummary(**f) for f in meta["files"]],
                    [UnknownLabel(**u) for u in meta["accounting"]["unknown_labels"]],
                    meta["warnings"], hashes_by_name(hashes),
                )
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache is rebuilt
    h = harmonise_params(params)
    h.inputs = hashes_by_name(hashes)  # the provenance takes them from here: each input hashed once
    save(h, root, key, hashes)
    return h


def save(h: Harmonised, root: Path, key: str, hashes: dict[str, str]) -> None:
    """Write the three cache files atomically (temp file + rename each)."""
    root.mkdir(parents=True, exist_ok=True)
    paths = _paths(h.survey, h.year, root)
    meta = {
        "survey": h.survey, "year": h.year, "cache_key": key,
        "inputs": hashes_by_name(hashes),
        "accounting": h.accounting,
        "files": [f.to_dict() for f in h.files],
        "warnings": h.warnings,
    }
    atomic_write(paths["responses"], lambda t: h.responses.to_parquet(t, index=False))
    atomic_write(paths["respondents"], lambda t: h.respondents.to_parquet(t, index=False))
    atomic_write_text(paths["accounting"], json.dumps(meta, indent=1, default=str, ensure_ascii=False))
