"""Two exports with the same file name in different folders (two downloads both called
Vorming.csv): told apart in messages, accounting and the incremental build's manifest."""

import pytest

from agii_analysis.errors import AgiiError
from agii_analysis.files import display_names
from agii_analysis.params import load_params
from agii_analysis.run import fingerprint
from exportkit import VORMING, export_csv, rid, vorming_answers
from test_harmonise import D, _h


def test_display_names(tmp_path):
    assert display_names([tmp_path / "a.csv", tmp_path / "b.csv"]) == ["a.csv", "b.csv"]
    assert display_names([tmp_path / "x" / "v.csv", tmp_path / "y" / "v.csv", tmp_path / "w.csv"]) == [
        "x/v.csv", "y/v.csv", "w.csv"]
    assert display_names([tmp_path / "a" / "x" / "v.csv", tmp_path / "b" / "x" / "v.csv"]) == [
        "a/x/v.csv", "b/x/v.csv"]
    assert display_names([tmp_path / "v.csv", tmp_path / "v.csv"]) == ["v.csv", "v.csv"]


def _folders(tmp_path, *names):
    for name in names:
        (tmp_path / name).mkdir()


def test_harmonise_tells_same_named_exports_apart(tmp_path):
    _folders(tmp_path, "jan", "feb", "mar")
    a = export_csv(tmp_path / "jan" / "Vorming.csv", VORMING, [(rid(1), D, vorming_answers("Tevreden")),
                                                                (rid(2), D, vorming_answers("Tevreden"))])
    b = export_csv(tmp_path / "feb" / "Vorming.csv", VORMING, [(rid(3), D, vorming_answers("Neutraal"))])
    h = _h([a, b])
    assert [f.file for f in h.files] == ["jan/Vorming.csv", "feb/Vorming.csv"]
    assert h.respondents.groupby("source").size().to_dict() == {"feb/Vorming.csv": 1, "jan/Vorming.csv": 2}

    c = export_csv(tmp_path / "mar" / "Vorming.csv", VORMING, [(rid(1), D, vorming_answers("Ontevreden"))])
    with pytest.raises(AgiiError) as e:
        _h([a, c])
    msg = str(e.value)
    assert "jan/Vorming.csv row 3" in msg and "mar/Vorming.csv row 3" in msg, msg


def _params(tmp_path, files: list) -> object:
    path = tmp_path / "params" / "2022" / "vorming.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("survey: vorming\nyear: 2022\ninputs:\n" + "".join(f"  - file: {f}\n" for f in files)
                    + "invited: 100\n", encoding="utf-8")
    return path


def test_a_change_to_either_same_named_export_rebuilds(tmp_path):
    """The manifest keyed both files by their base name: only one hash was kept, so a
    change to the other left the survey-year 'up to date'."""
    _folders(tmp_path, "jan", "feb")
    a = export_csv(tmp_path / "jan" / "Vorming.csv", VORMING, [(rid(1), D, vorming_answers("Tevreden"))])
    b = export_csv(tmp_path / "feb" / "Vorming.csv", VORMING, [(rid(2), D, vorming_answers("Neutraal"))])
    params = _params(tmp_path, [a, b])
    before = fingerprint(params, ("html",))
    assert sorted(before["inputs"]) == ["feb/Vorming.csv", "jan/Vorming.csv"]
    for changed in (a, b):
        export_csv(changed, VORMING, [(rid(9), D, vorming_answers("Ontevreden"))])
        after = fingerprint(params, ("html",))
        assert after["key"] != before["key"], changed
        before = after


@pytest.mark.parametrize("second", ["spelling", "link"])
def test_the_same_export_listed_twice_is_refused(tmp_path, second):
    a = export_csv(tmp_path / "Vorming.csv", VORMING, [(rid(1), D, vorming_answers("Tevreden"))])
    other = tmp_path / "." / "Vorming.csv"
    if second == "link":
        other = tmp_path / "kopie.csv"
        other.symlink_to(a)
    with pytest.raises(AgiiError) as e:
        load_params(_params(tmp_path, [a, other]))
    msg = str(e.value)
    assert "inputs[1].file" in msg and "already inputs[0]" in msg, msg


def test_provenance_and_cache_name_both_same_named_exports(tmp_path):
    import json

    from agii_analysis.prepare import prepare
    from agii_analysis.results import compute

    _folders(tmp_path, "jan", "feb")
    rows = [(rid(i), D, vorming_answers("Tevreden")) for i in range(1, 13)]
    a = export_csv(tmp_path / "jan" / "Vorming.csv", VORMING, rows[:6])
    b = export_csv(tmp_path / "feb" / "Vorming.csv", VORMING, rows[6:])
    params = load_params(_params(tmp_path, [a, b]))
    prepare(params, root=tmp_path / "cache")
    saved = json.loads((tmp_path / "cache" / "vorming_2022_accounting.json").read_text(encoding="utf-8"))
    assert sorted(saved["inputs"]) == ["feb/Vorming.csv", "jan/Vorming.csv"]
    res = compute(params, harmonised=prepare(params, root=tmp_path / "cache"))
    assert [i["file"] for i in res.provenance["inputs"]] == ["jan/Vorming.csv", "feb/Vorming.csv"]


def test_compute_hashes_each_input_once(monkeypatch, tmp_path):
    """The provenance's hashes come from prepare(), which hashed the inputs for its cache
    key: hashing every export again (it was, twice per compute) is repeated I/O."""
    from collections import Counter

    from agii_analysis import prepare
    from agii_analysis.params import PARAMS_DIR
    from agii_analysis.results import compute

    monkeypatch.setattr(prepare, "PROCESSED_DIR", tmp_path / "processed")
    seen = Counter()
    real = prepare.file_sha256

    def counted(path):
        seen[str(path)] += 1
        return real(path)
    monkeypatch.setattr(prepare, "file_sha256", counted)
    params = load_params(PARAMS_DIR / "2022" / "vorming.yaml")
    res = compute(params)
    mine = [str(i.file) for i in params.inputs]
    assert [seen[f] for f in mine] == [1, 1], seen
    assert [i["sha256"] for i in res.provenance["inputs"]] == [real(f) for f in mine]
