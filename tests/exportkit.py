"""Tiny SurveyMonkey-style exports for tests, written as CSV text.

`export_csv(columns, rows)` takes the question columns as (row-1 text, row-2 label)
pairs and each respondent as (respondent id, end date, {column index: value}).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

META = ["Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address",
        "First Name", "Last Name", "Custom Data 1"]

VORMING = [
    ("Welke vorming volgde u?", "Response"),
    ("Hoe volgde u de vorming?", "Response"),
    ("Voor welk soort organisatie werkt u?", "Response"),
    ("Hoe tevreden bent u in het algemeen over de vorming?", "Response"),
    ("Hoe tevreden bent u over de volgende aspecten?", "De lesgever"),
    ("", "De inhoud"),
    ("", "De bruikbaarheid in de praktijk"),
    ("", "De organisatie en communicatie"),
    ("Hoe waarschijnlijk is het dat u deze vorming zou aanraden aan een collega?", "Response"),
    ("Wat kunnen we volgens u verbeteren?", "Open-Ended Response"),
]


def vorming_answers(tevreden="Tevreden", nps="9", vorm="Online", text="", aspect="Tevreden"):
    return ["Vreemdelingenrecht", vorm, "Lokaal bestuur", tevreden, aspect, aspect, aspect, aspect, nps, text]


def export_csv(path: Path, columns, rows, *, meta=None, language=None, encoding="utf-8", sep=",",
               newline="\n", private=None) -> Path:
    """Write an export; `rows` = [(rid, end 'MM/DD/YYYY hh:mm:ss AM', [values...])]."""
    meta = list(meta or META)
    head1 = meta + (["language"] if language is not None else []) + [c[0] for c in columns]
    head2 = [""] * (len(meta) + (1 if language is not None else 0)) + [c[1] for c in columns]
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator=newline)
    w.writerow(head1)
    w.writerow(head2)
    for i, (rid, end, values) in enumerate(rows):
        priv = (private or {}).get(rid, {})
        m = {"Respondent ID": rid, "Collector ID": "400000001", "Start Date": end, "End Date": end,
             "IP Address": priv.get("ip", ""), "Email Address": priv.get("email", ""),
             "First Name": priv.get("first", ""), "Last Name": priv.get("last", ""), "Custom Data 1": priv.get("custom", "")}
        lang = [language if isinstance(language, str) else language[i]] if language is not None else []
        w.writerow([m.get(k, "") for k in meta] + lang + list(values))
    Path(path).write_bytes(buf.getvalue().encode(encoding))
    return Path(path)


def rid(n: int) -> str:
    return str(11400000000 + n)
