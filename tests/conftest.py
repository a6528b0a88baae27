import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> Path:
    """Every demo report of 2021-2023 built once per test session (all formats)."""
    from agii_analysis.params import find_params
    from agii_analysis.run import run

    reports = tmp_path_factory.mktemp("reports")
    by_year: dict[int, list[Path]] = {}
    for p in find_params():
        by_year.setdefault(int(p.parent.name), []).append(p.resolve())
    outcomes = run(by_year, ("html", "pdf", "xlsx"), jobs=2, reports_dir=reports, progress=False, echo=lambda *_: None)
    failed = [f"{o.survey} {o.year}: {o.message}" for o in outcomes if o.status == "failed"]
    assert not failed, failed
    return reports
