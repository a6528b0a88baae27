"""render.py: a small executed notebook -> HTML (no code, offline, TOC) -> PDF read back with poppler."""

from __future__ import annotations

import base64
import copy
import io
import re
import shutil
import subprocess
import sys
from collections import Counter

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from matplotlib.figure import Figure
from pypdf import PdfReader

from agii_analysis import render

TITLE = "Bevraging klanttevredenheid — 2024"
ARABIC = "رضا العملاء"
UKRAINIAN = "Задоволений"
SECRET = "GEHEIM-7f3a"  # output of a remove-cell cell
HIDDEN = "VERBORGEN-91c2"  # output of a hide-output cell
CODE = "make_chart_for_report(results)"  # source of a code cell, never shown


def _png() -> str:
    fig = Figure(figsize=(6.4, 3.2), dpi=100)
    ax = fig.subplots()
    ax.barh(["Telefoon", "E-mail", "Loket"], [82, 74, 91])
    ax.set_xlabel("% (heel) tevreden")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _code(source, *outputs, tags=None, n=1):
    cell = nbformat.v4.new_code_cell(source, outputs=list(outputs), execution_count=n)
    if tags:
        cell.metadata["tags"] = tags
    return cell


def _display(data):
    return nbformat.v4.new_output("display_data", data=data)


def _stdout(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


@pytest.fixture(scope="module")
def nb():
    table = pd.DataFrame({
        "Kanaal": ["Telefoon", "E-mail", "Loket"],
        "n": [1234, 56, 789],
        "% tevreden": ["82,0 %", "74,1 %", "91,3 %"],
    })
    md = nbformat.v4.new_markdown_cell
    book = nbformat.v4.new_notebook()
    book.metadata["language_info"] = {"name": "python"}
    book.cells = [
        md("# Bevraging klanttevredenheid\n\nInleiding van het rapport."),
        _code('params_file = "params/2024/demo.yaml"', tags=["parameters"]),
        md("## Samenvatting\n\néén op vijf klanten betaalt € 5. Zie [Methode](#Methode)."),
        _code(CODE, _display({"image/png": _png(), "text/plain": "<Figure size 640x320>"}), n=2),
        md("## Methode\n\n### Respons per kanaal"),
        _code("table", nbformat.v4.new_output(
            "execute_result", data={"text/html": table._repr_html_(), "text/plain": repr(table)},
            execution_count=3), n=3),
        _code("print(secret)", _stdout(SECRET), tags=["remove-cell"], n=4),
        _code("print(hidden)", _stdout(HIDDEN), tags=["hide-output"], n=5),
        # What a plotting library would emit: must not pull code from a CDN.
        _code("widget", _display({
            "text/html": '<script src="https://cdn.example.org/lib.js"></script>'
                         '<p onclick="go()">interactief</p>',
            "application/javascript": "console.log(1)",
        }), n=6),
        _code("import warnings", nbformat.v4.new_output("stream", name="stderr", text="FutureWarning"), n=7),
        md(f"## Open antwoorden\n\n### {ARABIC}\n\n{ARABIC}\n\n"
           f"Oekraïense respondenten: {UKRAINIAN}.\n\n## Methode\n\nDezelfde kop een tweede keer."),
    ]
    return book


@pytest.fixture(scope="module")
def html(nb):
    return render.render_html(nb, TITLE)


@pytest.fixture(scope="module")
def soup(html):
    return BeautifulSoup(html, "html.parser")


@pytest.fixture(scope="module")
def pdf(html, tmp_path_factory):
    path = tmp_path_factory.mktemp("pdf") / "rapport.pdf"
    render.render_pdf(html, path)
    return path


@pytest.fixture(scope="module")
def pdf_text(pdf):
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is missing: run `bash scripts/system-deps.sh`")
    return subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout


# --------------------------------------------------------------------------- HTML


def test_html_shows_no_code_and_no_prompts(html):
    text = render.html_to_text(html)
    assert CODE not in html
    assert "params_file" not in html
    assert "<pre" not in html
    assert "In&nbsp;[" not in html and "Out[" not in html
    assert "FutureWarning" not in text  # stderr is not report content
    assert "Inleiding van het rapport." in text


def test_html_is_offline_and_has_no_scripts(html):
    assert "<script" not in html.lower()
    assert "<link" not in html.lower() and "onclick" not in html
    assert "http://" not in html and "https://" not in html
    assert "interactief" in html  # the HTML part of that output stays


def test_images_are_inline_png(soup):
    images = soup.find_all("img")
    assert len(images) == 1
    src = images[0]["src"]
    assert src.startswith("data:image/png;base64,")
    assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert images[0]["alt"]


def test_image_alt_text_from_output_metadata():
    book = nbformat.v4.new_notebook()
    out = _display({"image/png": _png()})
    out.metadata["image/png"] = {"alt": "Staafdiagram: 82 % tevreden"}
    book.cells = [_code("chart", out)]
    soup = BeautifulSoup(render.render_html(book, "T"), "html.parser")
    assert soup.find("img")["alt"] == "Staafdiagram: 82 % tevreden"


def test_toc_links_point_to_existing_unique_ids(soup):
    ids = [tag["id"] for tag in soup.find_all(id=True)]
    assert len(ids) == len(set(ids))
    links = soup.select("nav.report-toc a")
    main_headings = soup.find("main").find_all(["h2", "h3"])
    assert [a.get_text() for a in links] == [
        "Samenvatting", "Methode", "Respons per kanaal", "Open antwoorden", ARABIC, "Methode"]
    assert [a["href"] for a in links] == [f"#{h['id']}" for h in main_headings]
    for a in soup.find_all("a", href=re.compile("^#")):
        target = a["href"][1:]
        assert re.fullmatch(r"[a-z0-9-]+", target), target  # survives WeasyPrint's link decoding
        assert soup.find(id=target) is not None, target
    # The markdown link written against nbconvert's id follows the rename.
    assert soup.find("main").find("a", string="Methode")["href"] == "#methode"


def test_dutch_page_with_title_header(soup):
    assert soup.html["lang"] == "nl"
    assert soup.title.get_text() == TITLE
    assert soup.select_one("header .report-title").get_text() == TITLE
    # The notebook's own h1 repeats the title; the header already shows it.
    assert soup.find("main").find("h1") is None


def test_cell_tags_remove_cell_and_hide_output(html):
    assert SECRET not in html and "print(secret)" not in html
    assert HIDDEN not in html


def test_numbers_right_aligned_text_left(soup):
    table = soup.find("main").find("table")
    cells = {td.get_text(strip=True): td.get("class") or [] for td in table.find_all("td")}
    assert "num" in cells["1234"] and "num" in cells["82,0 %"]
    assert "num" not in cells["Telefoon"]
    headers = {th.get_text(strip=True): th.get("class") or [] for th in table.thead.find_all("th")}
    assert "num" in headers["n"] and "num" not in headers["Kanaal"]


def test_arabic_blocks_are_right_to_left(soup):
    rtl = [tag.get_text(strip=True) for tag in soup.find_all(dir="rtl")]
    assert ARABIC in rtl
    assert not any("Oekraïense" in text for text in rtl)


def test_same_notebook_gives_identical_html_and_is_not_modified(nb, html):
    before = copy.deepcopy(nb)
    assert render.render_html(nb, TITLE) == html
    assert nb == before


def test_html_does_not_depend_on_cell_ids(nb, html):
    other = copy.deepcopy(nb)
    for i, cell in enumerate(other.cells):
        cell.id = f"anders-{i}"  # papermill gives its injected cell a random id
    assert render.render_html(other, TITLE) == html


def test_warm_up_changes_no_report(nb, html, pdf_text, tmp_path):
    """`agii run --jobs N` renders a tiny report before forking its workers: the shared
    exporter and WeasyPrint objects must give the same HTML and PDF text afterwards."""
    render.warm_up()
    assert render.render_html(nb, TITLE) == html
    render.render_pdf(html, tmp_path / "na.pdf")
    again = subprocess.run(["pdftotext", str(tmp_path / "na.pdf"), "-"], check=True,
                           capture_output=True, text=True).stdout
    assert again == pdf_text


def test_exporter_is_built_once():
    assert render._exporter() is render._exporter()


def test_weasyprint_is_imported_lazily():
    code = "import sys, agii_analysis.render; assert 'weasyprint' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_notebook_without_sections_has_no_empty_toc():
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_markdown_cell("Alleen tekst.")]
    soup = BeautifulSoup(render.render_html(book, "Kort"), "html.parser")
    assert soup.find("nav") is None


# --------------------------------------------------------------------------- PDF


def test_pdf_is_a_pdf_with_pages(pdf):
    assert pdf.read_bytes()[:5] == b"%PDF-"
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 1
    assert reader.metadata.title == TITLE


def test_pdf_text_has_accents_euro_cyrillic_and_arabic(pdf_text):
    assert "één" in pdf_text
    assert "€ 5" in pdf_text
    assert UKRAINIAN in pdf_text
    # poppler may give Arabic in another order (and splits the lam-alef ligature
    # differently), so compare letters, not the string.
    arabic = Counter(c for c in pdf_text if "\u0600" <= c <= "\u06ff")
    wanted = Counter(c for c in ARABIC if c != " ")
    assert all(arabic[c] >= n for c, n in wanted.items()), (wanted, arabic)


def test_pdf_footer_and_running_header(pdf, pdf_text):
    pages = len(PdfReader(pdf).pages)
    assert f"pagina 1 van {pages}" in pdf_text
    assert pdf_text.count(TITLE) >= pages  # big title on page 1, running header after


def test_pdf_internal_links_resolve(pdf):
    reader = PdfReader(pdf)
    names = set(reader.named_destinations)
    dests = [annot.get_object()["/Dest"] for page in reader.pages
             for annot in page.get("/Annots", []) if "/Dest" in annot.get_object()]
    assert "samenvatting" in dests and "methode-2" in dests
    assert set(dests) <= names
    titles = [item["/Title"] for item in reader.outline if isinstance(item, dict)]
    assert titles == [TITLE]


def test_render_pdf_replaces_atomically(html, tmp_path):
    target = tmp_path / "uit" / "rapport.pdf"
    render.render_pdf(html, target)
    first = target.read_bytes()
    render.render_pdf(html, target)
    assert target.read_bytes()[:5] == b"%PDF-" and len(first) > 1000
    assert [p.name for p in target.parent.iterdir()] == ["rapport.pdf"]
    assert target.stat().st_mode & 0o077 != 0o000  # not the 0600 of a temp file


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "rapport.pdf"
    target.write_bytes(b"oud")

    def boom(src, dst):
        raise OSError("schijf vol")

    from agii_analysis import files

    monkeypatch.setattr(files.os, "replace", boom)
    with pytest.raises(OSError, match="schijf vol"):
        render._atomic_write_bytes(target, b"%PDF-nieuw")
    assert target.read_bytes() == b"oud"
    assert [p.name for p in tmp_path.iterdir()] == ["rapport.pdf"]


def test_pdf_fetches_only_inline_and_local_resources():
    fetcher = render._weasy()[2]
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher("https://cdn.example.org/lib.css")
    assert fetcher("data:text/plain,ok").read() == b"ok"
