"""No published figure is typed into the analysis code (they may appear only in tests and data)."""

import io
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "agii_analysis"
# instrument.md §4 and seed/: figures, invited counts and x-1 values (small numbers
# such as 3, 5, 6 and 10 are too common in code to say anything and are left out)
PUBLISHED = {72, 95, 90, 41, 83, 13, 81, 70, 98, 88, 91, 67, 87, 27, 15087, 6133, 10614, 2133, 1203}
# twelve months; a line that must hold such a number for another reason says so
ALLOWED = {"range(1, 13)", "# not-a-published-figure"}


def _numbers(path: Path):
    src = path.read_text(encoding="utf-8")
    lines = src.splitlines()
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type == tokenize.NUMBER:
            try:
                value = float(tok.string.replace("_", ""))
            except ValueError:
                continue
            line = lines[tok.start[0] - 1]
            if value in PUBLISHED and not any(a in line for a in ALLOWED):
                yield tok.start[0], tok.string, line.strip()


def test_no_published_number_in_the_package():
    hits = [f"{p.name}:{ln}: {s} in {line!r}" for p in sorted(PACKAGE.rglob("*.py")) for ln, s, line in _numbers(p)]
    assert not hits, "published figures typed into code:\n" + "\n".join(hits)


def test_the_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("PCT = 95\n", encoding="utf-8")
    assert list(_numbers(bad))
