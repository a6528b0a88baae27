"""Executed notebook -> self-contained Dutch HTML report -> paginated A4 PDF.

HTML comes from an in-process nbconvert ``HTMLExporter`` with the package template
``templates/agii`` (extends ``lab``; no code, no prompts, no JavaScript, nothing fetched
from the internet). The PDF is made from that HTML by WeasyPrint with
``templates/agii/static/print.css``. Both exporter and WeasyPrint objects are built
once per process, so a long ``agii run`` renders many reports without paying start-up
costs again; WeasyPrint itself is imported only when a PDF is asked for.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from . import _fastimport  # noqa: F401  (before anything imports jsonschema)
from .files import atomic_write_bytes

if TYPE_CHECKING:
    import nbformat

TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "agii"
PRINT_CSS = TEMPLATES_DIR / TEMPLATE_NAME / "static" / "print.css"

#: Cell tags understood by the template (Jupyter Book names).
REMOVE_CELL_TAGS = frozenset({"remove-cell"})
HIDE_OUTPUT_TAGS = frozenset({"hide-output", "remove-output"})

# Columns from which a table gets a smaller font (PDF and screen).
WIDE_TABLE_COLUMNS = 8
VERY_WIDE_TABLE_COLUMNS = 12
# Tables up to this many rows are kept on one page in the PDF.
SHORT_TABLE_ROWS = 15

_AMOUNT = (r"[(\[]?[-+\u2212\u2013]?\s?(?:€\s?)?"
           r"(?:\d{1,3}(?:[.,\s\u00a0\u202f']\d{3})+|\d+)(?:[.,]\d+)?(?:[eE][-+]?\d+)?"
           r"\s?(?:%|‰|€|pp|p\.p\.|x|×)?[)\]]?")
# A number, or an interval "78,1 % – 85,9 %", optionally with a note mark "*" or "[b]".
_NUMBER = re.compile(rf"^{_AMOUNT}(?:\s?[-\u2013]\s?{_AMOUNT})?\s?(?:\*{{1,3}}|\[[a-z]\])?$")
_EMPTY_VALUES = frozenset({"", "nan", "NaN", "<NA>", "NaT", "None", "-", "–", "—", "nvt", "n.v.t.", "[c]"})
_RTL_BLOCKS = ("p", "li", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd",
               "blockquote", "figcaption", "caption")
_NBCONVERT_ALT = "No description has been provided for this image"
_DUTCH_ALT = "Figuur (geen beschrijving beschikbaar)"


# --------------------------------------------------------------------------- HTML


@functools.cache
def _exporter():
    """One exporter per process: building it (template lookup, Jinja env) costs ~0.4 s.

    Not thread-safe (nbconvert registers filters per call): render from one thread.
    """
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    config = Config()
    # JS and widget views first (nbconvert's default) would win over the HTML/PNG
    # fallback of the same output and then render as nothing.
    config.NbConvertBase.display_data_priority = [
        "text/html", "text/markdown", "image/svg+xml", "image/png", "image/jpeg",
        "text/latex", "text/plain",
    ]
    # The pygments CSS is only for code input, which is never shown.
    config.CSSHTMLHeaderPreprocessor.enabled = False
    exporter = HTMLExporter(
        config=config,
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
        language_code="nl",
    )
    exporter.register_preprocessor(
        TagRemovePreprocessor(
            remove_cell_tags=set(REMOVE_CELL_TAGS),
            remove_all_outputs_tags=set(HIDE_OUTPUT_TAGS),
            enabled=True,
        ),
        enabled=True,
    )
    return exporter


def render_html(nb: nbformat.NotebookNode, title: str) -> str:
    """Render an executed notebook as one self-contained Dutch HTML page.

    Same notebook and title -> byte-identical HTML (nothing time- or random-based), so
    reports can be hashed and diffed. The notebook is not modified.
    """
    body, _ = _exporter().from_notebook_node(nb, resources={"agii_title": title})
    return _postprocess(body, title)


def _postprocess(html: str, title: str) -> str:
    """Things the template cannot do: they need the rendered document as a whole."""
    from bs4 import BeautifulSoup  # nbconvert's HTMLExporter depends on it

    soup = BeautifulSoup(html, "html.parser")
    _strip_external(soup)
    main = soup.find("main")
    # Cell ids are random for cells papermill inserts (the parameters): without them two
    # runs of the same inputs give the same HTML. Nothing links to them.
    for cell in main.find_all(id=re.compile(r"^cell-id=")):
        del cell["id"]
    _drop_duplicate_title(main, title)
    _fix_heading_ids(soup, main)
    _fill_toc(soup, main)
    for table in main.find_all("table"):
        _mark_table(table)
    _mark_rtl(main)
    for img in soup.find_all("img", alt=_NBCONVERT_ALT):
        img["alt"] = _DUTCH_ALT
    return str(soup)


def _strip_external(soup) -> None:
    """The report must open offline and never load code: drop scripts and remote CSS."""
    for tag in soup.find_all(["script", "iframe", "object", "embed"]):
        tag.decompose()
    for link in soup.find_all("link"):
        link.decompose()
    for tag in soup.find_all(True):
        for attr in [a for a in tag.attrs if a.lower().startswith("on")]:
            del tag[attr]
    for style in soup.find_all("style"):
        if "@import" in (style.string or ""):
            style.string = re.sub(r"@import[^;]*;", "", style.string)


def _drop_duplicate_title(main, title: str) -> None:
    """The notebooks open with their own h1; the page header already shows the title."""
    first = main.find(["h1", "h2", "h3", "p", "table", "img"])
    if first is not None and first.name == "h1":
        text = _heading_text(first)
        if text and _norm(title).startswith(_norm(text)):
            first.decompose()


def _heading_text(tag) -> str:
    parts = (str(s) for s in tag.find_all(string=True) if "anchor-link" not in (s.parent.get("class") or []))
    return " ".join("".join(parts).split())


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-") or "sectie"


def _fix_heading_ids(soup, main) -> None:
    """Plain ASCII, unique heading ids.

    nbconvert's ids are percent-encoded text ("%C3%A9%C3%A9n") and repeat for repeated
    headings; WeasyPrint decodes the link but not the id, so such links break in the PDF.
    Links inside the notebook that used the old ids follow the rename.
    """
    headings = main.find_all(re.compile(r"^h[1-6]$"))
    heading_tags = {id(tag) for tag in headings}
    taken = {tag["id"] for tag in soup.find_all(id=True) if id(tag) not in heading_tags}
    renamed: dict[str, str] = {}
    for heading in headings:
        base = _slug(_heading_text(heading))
        new, n = base, 1
        while new in taken:
            n += 1
            new = f"{base}-{n}"
        taken.add(new)
        old = heading.get("id")
        if old is not None:
            renamed.setdefault(old, new)
            renamed.setdefault(_unquote(old), new)
        heading["id"] = new
        for anchor in heading.find_all("a", class_="anchor-link"):
            anchor["href"] = f"#{new}"
            anchor["aria-label"] = "Link naar deze sectie"
    for link in main.find_all("a", href=re.compile(r"^#")):
        target = link["href"][1:]
        new = renamed.get(target) or renamed.get(_unquote(target))
        if new and "anchor-link" not in (link.get("class") or []):
            link["href"] = f"#{new}"


def _unquote(text: str) -> str:
    from urllib.parse import unquote

    return unquote(text)


def _fill_toc(soup, main) -> None:
    """Table of contents from the h2/h3 headings of the report body; none without h2/h3."""
    nav = soup.find("nav", class_="report-toc")
    headings = main.find_all(["h2", "h3"])
    if not headings:
        nav.decompose()
        return
    top = soup.new_tag("ol")
    nav.append(top)
    current_sub = None
    last_item = None
    for heading in headings:
        item = soup.new_tag("li")
        link = soup.new_tag("a", href=f"#{heading['id']}")
        link.string = _heading_text(heading)
        item.append(link)
        if heading.name == "h3" and last_item is not None:
            if current_sub is None:
                current_sub = soup.new_tag("ol")
                last_item.append(current_sub)
            current_sub.append(item)
        else:
            top.append(item)
            last_item, current_sub = item, None


def _cell_text(cell) -> str:
    return cell.get_text(" ", strip=True).replace("\u00a0", " ").strip()


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text))


def _mark_table(table) -> None:
    """Right-align number columns and shrink wide tables.

    pandas does not say which cells hold numbers, and text columns (open answers,
    labels) read badly right-aligned, so the kind of each column is taken from its cells.
    """
    rows = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
    grid: list[list[tuple[object, int]]] = []  # per row: (cell, column)
    pending: dict[int, int] = {}  # column -> rows still covered by a rowspan
    width = 0
    for tr in rows:
        col, placed = 0, []
        for cell in tr.find_all(["td", "th"], recursive=False):
            while pending.get(col, 0) > 0:
                col += 1
            span = _int(cell.get("colspan"))
            rowspan = _int(cell.get("rowspan"))
            placed.append((cell, col if span == 1 else -1))
            for c in range(col, col + span):
                if rowspan > 1:
                    pending[c] = rowspan
            col += span
        for c in list(pending):
            pending[c] -= 1
        width = max(width, col)
        grid.append(placed)
    numeric: dict[int, bool] = {}
    for placed in grid:
        for cell, col in placed:
            if cell.name != "td" or col < 0:
                continue
            text = _cell_text(cell)
            if text in _EMPTY_VALUES:
                continue
            numeric[col] = numeric.get(col, True) and _is_number(text)
    for placed in grid:
        for cell, col in placed:
            # Row labels (th in the body) stay left, column headers follow their column.
            alignable = cell.name == "td" or cell.find_parent("thead") is not None
            if numeric.get(col) and alignable:
                cell["class"] = [*(cell.get("class") or []), "num"]
    if len(rows) <= SHORT_TABLE_ROWS:
        table["class"] = [*(table.get("class") or []), "short"]
    if width >= VERY_WIDE_TABLE_COLUMNS:
        table["class"] = [*(table.get("class") or []), "very-wide"]
    elif width >= WIDE_TABLE_COLUMNS:
        table["class"] = [*(table.get("class") or []), "wide"]


def _int(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def _mark_rtl(main) -> None:
    """``dir="rtl"`` on blocks that start in Arabic script.

    What ``dir="auto"`` does in a browser; WeasyPrint does not implement ``auto``, and
    without it an Arabic paragraph is laid out left-aligned with its punctuation on
    the wrong side.
    """
    for block in main.find_all(_RTL_BLOCKS):
        if block.has_attr("dir"):
            continue
        for char in block.get_text():
            kind = unicodedata.bidirectional(char)
            if kind == "L":
                break
            if kind in ("R", "AL"):
                block["dir"] = "rtl"
                break


def html_to_text(html: str) -> str:
    """Visible text of a rendered report (tests, quick checks): no tags, styles or alt text."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(["style", "script", "head"]):
        tag.decompose()
    return "\n".join(line.strip() for line in soup.get_text("\n").splitlines() if line.strip())


# --------------------------------------------------------------------------- PDF


@functools.cache
def _weasy():
    """Import WeasyPrint once, quiet its loggers, and build the objects every PDF shares."""
    for name in ("weasyprint", "weasyprint.progress", "fontTools"):
        logger = logging.getLogger(name)
        # It warns about every CSS property it does not know (pandas' and matplotlib's
        # HTML bring some) and fontTools about subsetting; keep what the user configured.
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    # Only inline data and local files: a report must not depend on the network.
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data", "file"})
    return weasyprint, font_config, fetcher, PRINT_CSS.read_text(encoding="utf-8")


# A forked child makes its own: Pango's font map may keep a thread, which a fork does not copy.
os.register_at_fork(after_in_child=_weasy.cache_clear)


def render_pdf(html: str, path: Path, base_url=None) -> None:
    """Render report HTML to an A4 PDF at ``path``, replacing it atomically.

    The print stylesheet is added as the document's last author stylesheet (WeasyPrint's
    ``stylesheets=`` are user-origin and would lose against the page's own CSS).
    A crash or interrupt leaves either the old PDF or none, never half a file.
    """
    weasyprint, font_config, fetcher, print_css = _weasy()
    path = Path(path)
    pdf = weasyprint.HTML(
        string=_with_print_css(html, print_css), base_url=base_url, url_fetcher=fetcher,
    ).write_pdf(
        font_config=font_config,
        # Tagged PDF: screen readers and reflow need the structure (public-sector
        # documents fall under the accessibility rules); costs no render time.
        pdf_tags=True,
    )
    _atomic_write_bytes(path, pdf)


def warm_up() -> None:
    """Build the exporter and render a tiny report once (the templates compile on first
    use, ~0.25 s): `agii run --jobs N` does it while its kernel starts, before forking the
    workers, which inherit it. WeasyPrint is only imported: its font map is made per
    process (see below)."""
    import nbformat

    render_html(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# .\n\n.")]), ".")


def _with_print_css(html: str, css: str) -> str:
    style = f'<style media="print">\n{css}\n</style>\n'
    match = re.search(r"</head\s*>", html, flags=re.IGNORECASE)
    if match is None:
        return style + html
    return html[: match.start()] + style + html[match.start():]


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
