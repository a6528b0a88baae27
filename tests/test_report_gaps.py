"""Valid data with a gap: a key question or the aspect matrix that nobody answered.

The figure is "niet beschikbaar" and says why; every other section of the report still
shows. Each template's cells are called as the notebook calls them, on results computed
from the demo's harmonised data with the answers of one question taken out.
"""

from __future__ import annotations

import dataclasses

import nbformat
import pytest

from agii_analysis import report
from agii_analysis.codebook import load_codebook
from agii_analysis.params import PARAMS_DIR, load_params
from agii_analysis.prepare import prepare
from agii_analysis.results import compute

pytestmark = pytest.mark.skipif(not (PARAMS_DIR / "2022" / "vorming.yaml").exists(),
                                reason="demo parameters missing: run `agii demo` (make test does)")

SURVEYS = ["na_aanbod_mo", "na_test_mo", "na_traject", "vorming", "lokale_besturen"]


def _cells(survey: str) -> list[str]:
    nb = nbformat.read(report.REPO_ROOT / "notebooks" / f"{survey}.ipynb", as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code" and c.source.startswith("report.")]


def _without(survey: str, question: str):
    """The 2022 results with every answer to `question` removed (as if left blank)."""
    params = load_params(PARAMS_DIR / "2022" / f"{survey}.yaml")
    h = prepare(params)
    gap = dataclasses.replace(h, responses=h.responses[h.responses["question"] != question].reset_index(drop=True))
    return compute(params, harmonised=gap)


def _shown(res, survey: str) -> str:
    out = []
    for call in _cells(survey):
        shown = eval(call, {"report": report, "res": res})  # a template cell is one call
        out.append(shown.data if isinstance(shown.data, str) else "<image>")
    return "\n".join(out)


def _gaps():
    for survey in SURVEYS:
        book = load_codebook(survey)
        yield survey, book.headline, "niemand koos een punt van de schaal"
        if book.nps:
            yield survey, book.nps, "niemand beantwoordde de aanbevelingsvraag"
        matrix = [q.id for q in book.questions.values() if q.type == "matrix" and q.asked_in(2022)]
        if matrix:
            yield survey, matrix[0], "Geen beoordelingen van de onderdelen"


@pytest.mark.parametrize("survey, question, says", list(_gaps()))
def test_unanswered_question_is_not_available_and_the_rest_shows(survey, question, says):
    res = _without(survey, question)
    text = _shown(res, survey)
    assert says in text
    if question == load_codebook(survey).headline:
        assert res.figure("pct_satisfied")["n"] == 0
        assert report.NO_PRIORITY in text or res.priority.empty  # importance needs the headline
    assert "<image>" in text and " nan" not in text.lower()  # no NaN printed as a figure
    assert "Uit de exports werden" in text  # the response section is still there
