"""House-style charts of a Results: matplotlib object API, Dutch labels, colour-blind safe.

Every chart function takes one `Results` table (results.py) and draws what it holds;
none computes a statistic, so a chart can never disagree with the tables and the
Excel appendix. Figures are built with `matplotlib.figure.Figure` (never pyplot), so
they render headless and in parallel worker processes without shared state, and
`to_png_bytes` gives identical bytes on every run (no timestamps, no version tag).

House style
- 16 cm wide (A4 text width), DejaVu Sans (covers Arabic and Cyrillic labels).
- Title top-left in bold; source line bottom-left ("Bron: AgII, <titel>, <jaar>; n = ..."),
  any notes on the chart (bases, suppression, intervals) just above it.
- Answer scale from red to blue with five clearly different lightness steps (CIE L*
  20-90, at least 15 apart) plus hatching on the dissatisfied side, so it survives
  greyscale printing and the common colour-vision deficiencies. Single-series bars in
  Okabe-Ito sky blue, lines and points in Okabe-Ito blue/vermillion/green.
- Values printed on or next to every bar in Dutch format ("95 %", "15 087",
  "3,5"); 95 % intervals as error bars (or a band on a line) wherever the table
  has lo/hi; suppressed groups as a labelled gap "[c]", never with a value.
- Artists carry a gid ("title", "source", "bar:<key>", "value:<key>",
  "suppressed:<key>", "point:<key>", ...) so tests and SVG output can find them.
"""

from __future__ import annotations

import io
import math
import os
import re
import textwrap
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import SimpleNamespace

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter
from matplotlib.transforms import Bbox

from .errors import AgiiError
from .files import atomic_write_bytes
from .results import MONTHS_NL, QUADRANTS
from .themes import NOTHING_THEME, UNCODED

__all__ = [
    "DUTCH", "FONT", "WIDTH_CM", "SCALE_COLOURS", "SCALE_HATCHES", "NPS_COLOURS", "OKABE_ITO",
    "fmt_num", "fmt_pct", "source_line", "lightness", "scale_colours",
    "distribution_chart", "nps_chart", "aspects_chart", "priority_chart", "breakdown_chart",
    "trend_chart", "themes_chart", "to_png_bytes", "save_png",
]

# ------------------------------------------------------------------ style constants

FONT = "DejaVu Sans"
WIDTH_CM = 16.0
CM = 1 / 2.54

INK = "#1A1A1A"
MUTED = "#4D4D4D"  # L* 33: source lines and secondary text, 8:1 contrast on white
GRID = "#D9D9D9"
NO_DATA = "#8C8C8C"

OKABE_ITO = {
    "orange": "#E69F00", "sky_blue": "#56B4E9", "bluish_green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermillion": "#D55E00", "reddish_purple": "#CC79A7", "black": "#000000",
}
BAR = OKABE_ITO["sky_blue"]  # L* 70: black values and error bars stay readable on it
LINE = OKABE_ITO["blue"]

# Heel ontevreden .. Heel tevreden. Lightness L* 38, 75, 90, 58, 20: every step >= 15,
# so the five points stay apart in greyscale; the two dissatisfied points are also hatched.
SCALE_COLOURS = ("#B2182B", "#F4A582", "#E3E3E3", "#4393C3", "#053061")
SCALE_HATCHES = ("////", "////", "", "", "")
SCALE_HATCH_COLOURS = ("#E8846F", "#C8503F", None, None, None)
# Criticasten, passief, promotors: the ends and the middle of the answer scale.
NPS_COLOURS = {"detractors": SCALE_COLOURS[0], "passives": SCALE_COLOURS[2], "promoters": SCALE_COLOURS[4]}
NPS_HATCHES = {"detractors": SCALE_HATCHES[0], "passives": "", "promoters": ""}
NPS_ORDER = ("detractors", "passives", "promoters")
# Quadrants of the priority matrix: colour and marker shape (shape carries it in greyscale).
QUADRANT_STYLE = {
    "Prioriteit verbeteren": (OKABE_ITO["vermillion"], "D"),
    "Sterkte behouden": (OKABE_ITO["blue"], "o"),
    "Mogelijk overinvestering": (OKABE_ITO["bluish_green"], "^"),
    "Secundair": ("#666666", "s"),
}

STYLE = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT],
    "font.size": 8.5,
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.edgecolor": MUTED,
    "axes.linewidth": 0.6,
    "axes.labelsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "axes.unicode_minus": True,
    "axes.formatter.use_locale": False,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelcolor": INK,
    "ytick.labelcolor": INK,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 8,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "hatch.linewidth": 0.9,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "pdf.fonttype": 42,
    "svg.fonttype": "none",
    "svg.hashsalt": "agii-kto",
}

TITLE_SIZE = 11
TITLE_WRAP, SOURCE_WRAP = 62, 100  # characters per line that fit 16 cm at 11 pt bold / 7 pt
SOURCE_SIZE = 7
SMALL = 7
INTERVAL_NOTE = "Foutbalken: 95 %-betrouwbaarheidsinterval."
SUPPRESSED_LABEL = "[c]"


@contextmanager
def _style():
    """House rcParams for building and drawing (rc_context restores them afterwards)."""
    with mpl.rc_context(STYLE):
        yield


# ------------------------------------------------------------------ Dutch numbers

NNBSP = "\u202f"  # narrow no-break space: thousands separator
NBSP = "\u00a0"  # no-break space between number and %
MINUS = "\u2212"


def _missing(x) -> bool:
    if x is None or x is pd.NA:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def _flag(v) -> bool:
    """A suppressed/boolean cell: missing counts as False (NaN would be truthy)."""
    return False if _missing(v) and not isinstance(v, (bool, np.bool_)) else bool(v)


def fmt_num(x, decimals: int = 0) -> str:
    """Dutch number: "15 087", "3,5", "−12"; halves away from zero like the published figures.

    Rounding matches stats.round_half_up (12 significant digits first), so a chart
    label always equals the whole number in the tables. Missing values give "–".
    """
    if _missing(x):
        return "–"
    d = Decimal(f"{float(x):.12g}").quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = MINUS if d < 0 else ""
    whole, _, frac = f"{abs(d):.{decimals}f}".partition(".")
    groups = []
    while len(whole) > 3:
        whole, tail = whole[:-3], whole[-3:]
        groups.insert(0, tail)
    text = NNBSP.join([whole, *groups])
    return sign + text + ("," + frac if frac else "")


def fmt_pct(x, decimals: int = 0) -> str:
    """Dutch percentage of a value in percent (95 -> "95 %", 95.25, 1 -> "95,3 %")."""
    if _missing(x):
        return "–"
    return fmt_num(x, decimals) + NBSP + "%"


def _pct_small(x) -> str:
    """Like fmt_pct, but a share that rounds to 0 while above it reads "< 1 %"."""
    if not _missing(x) and 0 < float(x) < 0.5:
        return "<" + NBSP + "1" + NBSP + "%"
    return fmt_pct(x)


def source_line(title: str, year: int, n=None) -> str:
    """The house source line: "Bron: AgII, <title>, <year>; n = 1 234"."""
    text = f"Bron: AgII, {title}, {year}"
    return text if _missing(n) else f"{text}; n = {fmt_num(n)}"


DUTCH = SimpleNamespace(fmt_num=fmt_num, fmt_pct=fmt_pct, source_line=source_line, months=tuple(MONTHS_NL))


# ------------------------------------------------------------------ colour checks

def lightness(colour) -> float:
    """CIE L* (0 black .. 100 white) of a colour: what is left of it in greyscale."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in to_rgb(colour)]
    y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    return 116 * y ** (1 / 3) - 16 if y > (6 / 29) ** 3 else (29 / 3) ** 3 * y


_SCALE_PICK = {1: (4,), 2: (0, 4), 3: (0, 2, 4), 4: (0, 1, 3, 4), 5: (0, 1, 2, 3, 4)}


def scale_colours(n_points: int) -> list[tuple[str, str, str | None]]:
    """(colour, hatch, hatch colour) per scale point; a 4-point scale drops the neutral middle."""
    if n_points not in _SCALE_PICK:
        raise AgiiError(f"a scale with {n_points} points cannot be charted", expected="1 to 5 scale points")
    return [(SCALE_COLOURS[i], SCALE_HATCHES[i], SCALE_HATCH_COLOURS[i]) for i in _SCALE_PICK[n_points]]


def _text_on(colour) -> str:
    """Black or white text, whichever reads better on the fill."""
    return "white" if lightness(colour) < 55 else INK


# ------------------------------------------------------------------ frame helpers

def _figure(height_cm: float, layout: str | None = "constrained") -> Figure:
    """A16 cm wide figure with its own Agg canvas (no pyplot, no global figure manager)."""
    fig = Figure(figsize=(WIDTH_CM * CM, height_cm * CM), layout=layout, dpi=100)
    FigureCanvasAgg(fig)
    if layout == "constrained":
        fig.get_layout_engine().set(w_pad=0.06, h_pad=0.06, hspace=0.04, wspace=0.02)
    return fig


def _wrap(text: str, width: int, max_lines: int | None = None) -> str:
    """Wrap at ordinary spaces only: no-break spaces ("95 %", "1 234") stay unbroken."""
    flat = re.sub(r"[ \t\r\n]+", " ", str(text)).strip()
    lines = textwrap.wrap(flat, width, break_long_words=True) or [""]
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: width - 1].rstrip() + "…"
    return "\n".join(lines)


def _require_text(title: str, source: str) -> None:
    if not str(title or "").strip():
        raise AgiiError("a chart needs a title", expected="a non-empty title")
    if not str(source or "").strip():
        raise AgiiError("a chart needs a source line",
                        expected="e.g. source_line(results.short_title, results.year, n)")


def _frame(fig: Figure, title: str, source: str, notes=()):
    """Title top-left, notes and then the source line bottom-left; returns both Text artists."""
    head = fig.suptitle(_wrap(title, TITLE_WRAP), x=0.012, ha="left", fontsize=TITLE_SIZE, fontweight="bold",
                        color=INK, gid="title")
    lines = [_wrap(n, SOURCE_WRAP) for n in notes if n] + [_wrap(source, SOURCE_WRAP)]
    foot = fig.supxlabel("\n".join(lines), x=0.012, ha="left", fontsize=SOURCE_SIZE, color=MUTED,
                         linespacing=1.35, gid="source")
    return head, foot


def _n_lines(title: str, source: str, notes=()) -> int:
    text = [_wrap(title, TITLE_WRAP)] + [_wrap(n, SOURCE_WRAP) for n in notes if n] + [_wrap(source, SOURCE_WRAP)]
    return sum(t.count("\n") + 1 for t in text)


def _finish(fig: Figure) -> Figure:
    """Create the tick labels now, under the house style, so a later draw keeps it."""
    for ax in fig.axes:
        ax.xaxis.get_major_ticks()
        ax.yaxis.get_major_ticks()
    return fig


def _columns(df: pd.DataFrame, needed, table: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise AgiiError(f"{table} is not a table", expected="a pandas DataFrame from Results")
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise AgiiError(f"{table} lacks column(s) {', '.join(missing)}",
                        expected=f"the columns results.py writes: {', '.join(needed)}")


def _pct_axis(ax, axis: str = "x", lo: float = 0, hi: float = 100, step: float = 20) -> None:
    """0-100 % axis with Dutch tick labels; the spine stops at 100 % (room for labels beyond)."""
    ticks = np.arange(lo, hi + step / 2, step)
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(ticks))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_pct(v)))
    ax.spines["bottom" if axis == "x" else "left"].set_bounds(lo, hi)


def _num_axis(ax, axis: str, ticks) -> None:
    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(FixedLocator(list(ticks)))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: fmt_num(v)))


def _bare_y(ax) -> None:
    ax.spines["left"].set_visible(False)
    ax.tick_params(axis="y", length=0, pad=4)


def _column(ax, y, text, offset=5.0, gid=None, **kw) -> None:
    """Text in a column `offset` points right of the plot area (n, NvT): off the bars' scale.

    Offsets are in points, not axes fractions, so the space the column needs does not
    depend on the axes width and the layout is the same however often it is drawn.
    """
    kw = {"ha": "left", "va": "center", "fontsize": SMALL, "color": MUTED, **kw}
    ax.annotate(text, xy=(1, y), xycoords=("axes fraction", "data"), xytext=(offset, 0),
                textcoords="offset points", annotation_clip=False, gid=gid, **kw)


def _column_header(ax, text, offset=5.0) -> None:
    ax.annotate(text, xy=(1, 1), xycoords="axes fraction", xytext=(offset, 0), textcoords="offset points",
                ha="left", va="bottom", fontsize=SMALL, color=MUTED, fontweight="bold",
                annotation_clip=False, gid=f"header:{text}")


KEY_CM = 0.75  # height of the colour-key row under the title


def _figure_with_key(height_cm: float):
    """A figure whose top row (a subfigure) holds the colour key, left-aligned under the title.

    The key lives outside the plot's axes, so long row labels cannot push it off the
    page and the layout does not depend on where the axes end up (same bytes every draw).
    """
    fig = _figure(height_cm)
    key, body = fig.subfigures(2, 1, height_ratios=[KEY_CM, height_cm - KEY_CM])
    return fig, key, body


def _key(key, handles, labels, **kw) -> None:
    key.legend(handles, labels, loc="center left", bbox_to_anchor=(0.004, 0.5), handlelength=1.3,
               handleheight=1.0, handletextpad=0.4, borderaxespad=0.0, **kw)


def _error_bars(ax, x, y, lo, hi, key, horizontal=True, colour=INK) -> None:
    """Draw [lo, hi] around the value as an error bar; nothing when the interval is missing."""
    v = x if horizontal else y
    if _missing(lo) or _missing(hi) or _missing(v):
        return
    err = [[max(0.0, v - lo)], [max(0.0, hi - v)]]
    kw = {"fmt": "none", "ecolor": colour, "elinewidth": 0.9, "capsize": 2.5, "capthick": 0.9, "zorder": 3}
    cont = ax.errorbar([x], [y], xerr=err, **kw) if horizontal else ax.errorbar([x], [y], yerr=err, **kw)
    for art in (*cont.lines[1], *cont.lines[2]):
        art.set_gid(f"interval:{key}")


def _rows_height(n_rows: int, per_row: float, extra: float, lines: int) -> float:
    return extra + n_rows * per_row + 0.42 * lines


# ------------------------------------------------------------------ distribution

_SPECIAL = {"no_opinion": "GM", "not_applicable": "NvT", "missing": "NB"}
_OUTSIDE_CHAR = 2.2  # generous width of one 7 pt character in % of a bar (the bar spans 9-14 cm)


def distribution_chart(dist: pd.DataFrame, question: str, item: str | None = "", title: str = "",
                       source: str = "") -> Figure:
    """100 % stacked bar(s) of the scale points of one question (item=None: every matrix item).

    Percentages are on the answers on the scale (the top-2 box base); Geen mening,
    Niet van toepassing and Niet beantwoord stay outside that base and are listed as
    counts in a column right of the bar, so no one reads them as part of the 100 %.
    """
    _require_text(title, source)
    _columns(dist, ["question", "item", "item_label", "code", "label", "kind", "count", "share"], "distributions")
    sel = dist[dist["question"] == question]
    if item is not None:
        sel = sel[sel["item"] == item]
    if sel.empty:
        raise AgiiError(f"no distribution rows for question {question!r}" + (f", item {item!r}" if item else ""),
                        expected="a question (and item) present in Results.distributions")
    items = list(dict.fromkeys(sel["item"]))
    scale_rows = sel[sel["kind"] == "scale"]
    if scale_rows.empty:
        raise AgiiError(f"question {question!r} has no scale answers to chart",
                        expected="rows with kind == 'scale' (use another chart for choice or NPS questions)")
    first = scale_rows[scale_rows["item"] == items[0]]
    labels = list(first["label"])
    colours = scale_colours(len(labels))
    multi = len(items) > 1 or bool(items[0])

    notes = ["Percentages op de antwoorden op de schaal (n)."]
    hidden_items = {it for it in items if _any_flag(scale_rows[scale_rows["item"] == it])}
    if hidden_items:
        notes.append(_suppression_note(None, "antwoorden op de schaal"))
    abbrevs = {}
    for kind, abbr in _SPECIAL.items():
        rows = sel[(sel["kind"] == kind) & (sel["count"] > 0)]
        if len(rows):
            abbrevs[abbr] = rows["label"].iloc[0]
    if not multi:
        rows = sel[sel["kind"].isin(list(_SPECIAL))]
        single_specials = [f"{r.label} {fmt_num(r.count)}" for r in rows.itertuples() if r.count > 0]
        if single_specials:
            notes.append("Niet in de percentages: " + ", ".join(single_specials) + ".")
    elif abbrevs:
        notes.append("Niet in de percentages: " + ", ".join(f"{a} = {lab}" for a, lab in abbrevs.items()) + ".")
    height = _rows_height(len(items), 1.3, 3.2, _n_lines(title, source, notes))

    with _style():
        fig, keyrow, body = _figure_with_key(height)
        ax = body.subplots()
        ticks = []
        for y, it in enumerate(items):
            rows = sel[sel["item"] == it]
            scale = rows[rows["kind"] == "scale"]
            it_label = rows["item_label"].iloc[0] if it else ""
            ticks.append(_wrap(it_label or "", 30, 3))
            if it in hidden_items:  # too few answers: neither bar nor n
                ax.text(1, y, SUPPRESSED_LABEL, va="center", ha="left", fontsize=8, color=MUTED,
                        style="italic", gid=f"suppressed:{it}")
                _column(ax, y, SUPPRESSED_LABEL, gid=f"n:{it}")
                continue
            base = int(scale["count"].sum())
            left = 0.0
            if base == 0 or scale["share"].isna().all():
                ax.text(1, y, "geen antwoorden op de schaal", va="center", ha="left", fontsize=SMALL,
                        color=MUTED, gid=f"nodata:{it}")
            else:
                ends = {-1: -math.inf, 1: -math.inf}  # right end of the last outside label above / below
                for (colour, hatch, hcol), r in zip(colours, scale.itertuples()):
                    pct = 100 * float(r.share)
                    key = f"{it}:{r.code:g}" if it else f"{r.code:g}"
                    bar = ax.barh(y, pct, left=left, height=0.56, color=colour, edgecolor="white",
                                  linewidth=0.8, hatch=hatch or None, hatchcolor=hcol or colour)
                    bar.patches[0].set_gid(f"bar:{key}")
                    if pct > 0:
                        centre = left + pct / 2
                        if pct >= 6.5:
                            ax.text(centre, y, fmt_pct(pct), ha="center", va="center", fontsize=7.5,
                                    color=_text_on(colour), gid=f"value:{key}",
                                    bbox={"facecolor": colour, "edgecolor": "none", "pad": 0.6} if hatch else None)
                        else:  # too narrow: above or below the bar, wherever the last label leaves room
                            text = fmt_pct(pct)
                            half = _OUTSIDE_CHAR * len(text) / 2
                            side = min((-1, 1), key=lambda sd: (centre - half < ends[sd] + 1.5, sd))
                            x = max(centre, ends[side] + 1.5 + half)
                            ends[side] = x + half
                            ax.text(x, y + 0.31 * side, text, ha="center", va="bottom" if side < 0 else "top",
                                    fontsize=SMALL, color=INK, gid=f"value:{key}")
                    left += pct
            extra = [f"n = {fmt_num(base)}"]
            if multi:
                specials = [f"{_SPECIAL[k.kind]} {fmt_num(k.count)}" for k in rows.itertuples()
                            if k.kind in _SPECIAL and k.count > 0]
                if specials:
                    extra.append(" · ".join(specials))
            _column(ax, y, "\n".join(extra), gid=f"n:{it}")
        ax.set_yticks(range(len(items)), ticks)
        ax.set_ylim(len(items) - 0.45, -0.55)
        ax.set_xlim(0, 100)
        _pct_axis(ax, "x", 0, 100, 25)
        ax.xaxis.grid(False)
        _bare_y(ax)
        handles = [Patch(facecolor=c, edgecolor=MUTED, linewidth=0.4, hatch=h or None, hatchcolor=hc or c)
                   for c, h, hc in colours]
        _key(keyrow, handles, labels, ncol=len(labels), columnspacing=1.0)
        _frame(fig, title, source, notes)
        return _finish(fig)


# ------------------------------------------------------------------ NPS

def nps_chart(nps_table: pd.DataFrame, title: str, source: str) -> Figure:
    """Criticasten / passief / promotors as one 100 % bar, the score with its interval below it.

    The score sits on its own -100..100 axis: it is a difference of two shares, not a
    share, so it must not be read off the percentage bar.
    """
    _require_text(title, source)
    _columns(nps_table, ["component", "label", "count", "share", "lo", "hi"], "nps")
    if nps_table.empty:
        raise AgiiError("the NPS table is empty", expected="a survey with an NPS question")
    by = nps_table.set_index("component")
    missing = [c for c in (*NPS_ORDER, "score") if c not in by.index]
    if missing:
        raise AgiiError(f"the NPS table lacks row(s) {', '.join(missing)}",
                        expected="components promoters, passives, detractors and score")
    shares = by.loc[list(NPS_ORDER), "share"].astype(float)
    if (shares.dropna() > 1.0 + 1e-9).any():
        raise AgiiError("NPS component shares above 1", expected="shares as fractions 0..1 (results.py)")
    score = by.loc["score"]
    intervals = [f"{by.loc[c, 'label']} {fmt_pct(100 * by.loc[c, 'lo'])} tot {fmt_pct(100 * by.loc[c, 'hi'])}"
                 for c in reversed(NPS_ORDER) if not _missing(by.loc[c, "lo"])]
    notes = ["NPS = % promotors − % criticasten, in punten van −100 tot +100."]
    if intervals:
        notes.append("95 %-betrouwbaarheidsintervallen: " + "; ".join(intervals) + ".")
    height = 5.4 + 0.42 * _n_lines(title, source, notes)

    with _style():
        fig, keyrow, body = _figure_with_key(height)
        ax, sx = body.subplots(2, 1, height_ratios=[1.25, 1.0])
        left = 0.0
        handles, names = [], []
        for comp in NPS_ORDER:
            share = float(by.loc[comp, "share"])
            pct = 0.0 if _missing(share) else 100 * share
            colour, hatch = NPS_COLOURS[comp], NPS_HATCHES[comp]
            hcol = SCALE_HATCH_COLOURS[0] if hatch else colour
            bar = ax.barh(0, pct, left=left, height=0.6, color=colour, edgecolor="white", linewidth=0.8,
                          hatch=hatch or None, hatchcolor=hcol)
            bar.patches[0].set_gid(f"bar:{comp}")
            if pct > 0:
                fits = pct >= 6.5
                ax.text(left + pct / 2, 0 if fits else -0.36, fmt_pct(pct), ha="center",
                        va="center" if fits else "bottom", fontsize=8 if fits else SMALL,
                        color=_text_on(colour) if fits else INK, gid=f"value:{comp}",
                        bbox={"facecolor": colour, "edgecolor": "none", "pad": 0.6} if hatch and fits else None)
            handles.append(Patch(facecolor=colour, edgecolor=MUTED, linewidth=0.4, hatch=hatch or None,
                                 hatchcolor=hcol))
            names.append(str(by.loc[comp, "label"]))
            left += pct
        ax.set_xlim(0, 100)
        ax.set_ylim(0.55, -0.55)
        ax.set_yticks([0], ["Aandeel"])
        _pct_axis(ax, "x", 0, 100, 25)
        _bare_y(ax)
        _column(ax, 0, f"n = {fmt_num(score['count'])}", gid="n:nps")
        _key(keyrow, handles, names, ncol=3, columnspacing=1.4)

        s, lo, hi = (float(score[c]) if not _missing(score[c]) else math.nan for c in ("share", "lo", "hi"))
        sx.axvline(0, color=GRID, linewidth=0.8, zorder=1)
        sx.set_xlim(-100, 100)
        sx.set_ylim(-1, 1)
        _num_axis(sx, "x", range(-100, 101, 25))
        sx.set_yticks([0], ["NPS"])
        _bare_y(sx)
        sx.xaxis.grid(True, color=GRID, linewidth=0.5)
        if not _missing(s):
            _error_bars(sx, s, 0, lo, hi, "score")
            sx.plot([s], [0], marker="o", markersize=6.5, color=LINE, markeredgecolor="white",
                    markeredgewidth=0.8, linestyle="none", zorder=4, gid="point:score")
            label = f"NPS {fmt_num(s)}"
            sx.annotate(label, xy=(s, 0), xytext=(0, 7), textcoords="offset points", ha="center",
                        va="bottom", fontsize=10, fontweight="bold", color=INK, gid="value:score")
            if not (_missing(lo) or _missing(hi)):
                sx.annotate(f"95 %-betrouwbaarheidsinterval {fmt_num(lo)} tot {fmt_num(hi)}", xy=(s, 0),
                            xytext=(0, -8), textcoords="offset points", ha="center", va="top",
                            fontsize=SMALL, color=MUTED, gid="interval_label:score")
        else:
            sx.text(0, 0, "geen NPS-antwoorden", ha="center", va="center", fontsize=SMALL, color=MUTED)
        _frame(fig, title, source, notes)
        return _finish(fig)


# ------------------------------------------------------------------ ranked bars

def _ranked_bars(ax, keys, values, labels, los, his, *, bar_colours=None, xmax: float = 100) -> None:
    """Horizontal 0-xmax % bars, first row on top, value printed right of the interval."""
    for y, (key, v, lab, lo, hi) in enumerate(zip(keys, values, labels, los, his)):
        if _missing(v):
            ax.text(1, y, "geen antwoorden", va="center", ha="left", fontsize=SMALL, color=MUTED,
                    gid=f"nodata:{key}")
            continue
        colour = BAR if bar_colours is None else bar_colours[y]
        bar = ax.barh(y, v, height=0.62, color=colour, edgecolor="none", zorder=2)
        bar.patches[0].set_gid(f"bar:{key}")
        _error_bars(ax, v, y, lo, hi, key)
        end = max(v, hi) if not _missing(hi) else v
        ax.text(end + 0.015 * xmax, y, lab, va="center", ha="left", fontsize=8, color=INK, gid=f"value:{key}")
    n = len(keys)
    ax.set_ylim(n - 0.4, -0.6)
    ax.set_xlim(0, 1.18 * xmax)
    _pct_axis(ax, "x", 0, xmax, 10 if xmax <= 50 else 20)
    ax.xaxis.grid(True, color=GRID, linewidth=0.5)
    _bare_y(ax)


def aspects_chart(aspects: pd.DataFrame, title: str, source: str, question: str | None = None) -> Figure:
    """Aspects ranked by % (heel) tevreden with intervals; n and the NvT share beside each bar.

    Niet van toepassing is outside the percentage base; its share is shown so a high
    score on an aspect few people used is not over-read.
    """
    _require_text(title, source)
    _columns(aspects, ["question", "item", "label", "n", "pct_satisfied", "lo", "hi", "share_not_applicable"],
             "aspects")
    sel = aspects if question is None else aspects[aspects["question"] == question]
    if sel.empty:
        raise AgiiError("no aspects to chart" + (f" for question {question!r}" if question else ""),
                        expected="a survey with matrix questions")
    sel = sel.sort_values("pct_satisfied", ascending=False, kind="stable", na_position="last")
    keys = [f"{q}:{i}" if question is None else str(i) for q, i in zip(sel["question"], sel["item"])]
    rounded = sel["pct_rounded"] if "pct_rounded" in sel.columns else sel["pct_satisfied"]
    labels = [fmt_pct(r if not _missing(r) else v) for r, v in zip(rounded, sel["pct_satisfied"])]
    nvt = sel["share_not_applicable"].astype(float)
    has_nvt = bool((nvt.fillna(0) > 0).any())
    notes = [INTERVAL_NOTE, "n = antwoorden op de schaal (zonder Geen mening en Niet van toepassing)."]
    if has_nvt:
        notes.append("NvT = aandeel ‘Niet van toepassing’ onder wie de vraag beantwoordde; niet in de percentages.")
    height = _rows_height(len(sel), 0.78, 2.4, _n_lines(title, source, notes))

    with _style():
        fig = _figure(height)
        ax = fig.subplots()
        _ranked_bars(ax, keys, sel["pct_satisfied"].astype(float).tolist(), labels,
                     sel["lo"].astype(float).tolist(), sel["hi"].astype(float).tolist())
        ax.set_yticks(range(len(sel)), [_wrap(t, 34, 3) for t in sel["label"]])
        _column_header(ax, "n")
        if has_nvt:
            _column_header(ax, "NvT", offset=36)
        for y, (key, n, share) in enumerate(zip(keys, sel["n"], nvt)):
            _column(ax, y, fmt_num(n), gid=f"n:{key}")
            if not _missing(share) and share > 0:
                _column(ax, y, _pct_small(100 * share), offset=36, gid=f"nvt:{key}")
        ax.set_xlabel("% (heel) tevreden")
        _frame(fig, title, source, notes)
        return _finish(fig)


def themes_chart(themes: pd.DataFrame, title: str, source: str) -> Figure:
    """Themes in the improvement suggestions, most frequent first; uncoded answers last, in grey.

    Shares are of all answers and one answer can name several themes, so the bars do
    not add up to 100 %; the note says so.
    """
    _require_text(title, source)
    count_col = "n" if "n" in themes.columns else "count"
    _columns(themes, ["theme", "label", count_col, "share"], "themes")
    if themes.empty:
        raise AgiiError("the themes table is empty", expected="coded open answers")
    shares = themes["share"].astype(float)
    if (shares.dropna() > 1.0 + 1e-9).any():
        raise AgiiError("theme shares above 1", expected="shares as fractions 0..1 (themes.theme_table)")
    apart = (NOTHING_THEME, UNCODED)  # no improvement points: below the ranked ones, muted (as in the text)
    coded = themes[~themes["theme"].isin(apart)].copy()
    coded = coded.sort_values("share", ascending=False, kind="stable", na_position="last")
    sel = pd.concat([coded, *(themes[themes["theme"] == t] for t in apart)], ignore_index=True)
    has_ci = "lo" in sel.columns and "hi" in sel.columns
    pct = (100 * sel["share"].astype(float)).tolist()
    los = (100 * sel["lo"].astype(float)).tolist() if has_ci else [math.nan] * len(sel)
    his = (100 * sel["hi"].astype(float)).tolist() if has_ci else [math.nan] * len(sel)
    notes = ["Aandeel van alle antwoorden op de open vraag; één antwoord kan meer thema’s noemen, "
             "dus de aandelen tellen niet op tot 100 %."]
    if has_ci and any(not _missing(v) for v in los):
        notes.append(INTERVAL_NOTE)
    height = _rows_height(len(sel), 0.7, 2.4, _n_lines(title, source, notes))

    with _style():
        fig = _figure(height)
        ax = fig.subplots()
        colours = [NO_DATA if t in apart else BAR for t in sel["theme"]]
        # Theme shares are often small: zoom the axis to the largest bar or interval (in steps of 10 %).
        top = max([v for v in pct + his if not _missing(v)] or [0])
        xmax = min(100.0, max(20.0, 10 * math.ceil(top / 10 + 0.05)))
        _ranked_bars(ax, [str(t) for t in sel["theme"]], pct, [fmt_pct(v) for v in pct], los, his,
                     bar_colours=colours, xmax=xmax)
        ax.set_yticks(range(len(sel)), [_wrap(t, 34, 2) for t in sel["label"]])
        _column_header(ax, "aantal")
        for y, (key, n) in enumerate(zip(sel["theme"], sel[count_col])):
            _column(ax, y, fmt_num(n), gid=f"n:{key}")
        ax.set_xlabel("% van de antwoorden")
        _frame(fig, title, source, notes)
        return _finish(fig)


# ------------------------------------------------------------------ breakdowns

_MEASURES = {
    "pct_satisfied": ("pct_satisfied", "lo", "hi", "pct_rounded", "n_satisfaction", "% (heel) tevreden"),
    "nps": ("nps", "nps_lo", "nps_hi", "nps_rounded", "n_nps", "Net Promoter Score (punten)"),
}


def _suppressed_column(df: pd.DataFrame, measure: str) -> str:
    """The flag of the measure: a group's NPS can be hidden on its own (few NPS answers)."""
    return "nps_suppressed" if measure == "nps" and "nps_suppressed" in df.columns else "suppressed"


def _suppression_note(threshold, what: str = "respondenten") -> str:
    why = f"minder dan {threshold} {what}" if threshold else f"te weinig {what}"
    return (f"{SUPPRESSED_LABEL} = niet getoond om de anonimiteit te beschermen ({why}, "
            "of af te leiden uit de andere groepen).")


def _any_flag(rows: pd.DataFrame, flag: str = "suppressed") -> bool:
    return flag in rows.columns and any(_flag(v) for v in rows[flag])


def breakdown_chart(breakdowns: pd.DataFrame, question: str, title: str, source: str,
                    measure: str = "pct_satisfied", threshold: int | None = None) -> Figure:
    """One bar per group of a breakdown, in codebook order, with intervals.

    A suppressed group keeps its row (so readers see it exists) but gets only "[c]":
    its bar, value and n are never drawn, whatever the table holds. `threshold` only
    words the note.
    """
    _require_text(title, source)
    if measure not in _MEASURES:
        raise AgiiError(f"unknown measure {measure!r}", expected=" or ".join(_MEASURES))
    col, lo_c, hi_c, rnd_c, n_c, axis_label = _MEASURES[measure]
    _columns(breakdowns, ["question", "group", "suppressed", col, lo_c, hi_c], "breakdowns")
    sel = breakdowns[breakdowns["question"] == question].reset_index(drop=True)
    if sel.empty:
        raise AgiiError(f"no breakdown rows for question {question!r}",
                        expected="a question present in Results.breakdowns")
    hidden = [_flag(v) for v in sel[_suppressed_column(sel, measure)]]
    is_nps = measure == "nps"
    notes = [INTERVAL_NOTE, "n = antwoorden " + ("op de NPS-vraag." if is_nps else "op de schaal.")]
    if any(hidden):
        notes.append(_suppression_note(threshold, "antwoorden op de NPS-vraag" if is_nps else "respondenten"))
    height = _rows_height(len(sel), 0.75, 2.4, _n_lines(title, source, notes))

    with _style():
        fig = _figure(height)
        ax = fig.subplots()
        _column_header(ax, "n")
        gap_x = -96 if is_nps else 1  # where "[c]" and "geen antwoorden" start
        for y, r in sel.iterrows():
            key = str(r.get("group_code", r["group"]))
            if hidden[y]:
                ax.text(gap_x, y, SUPPRESSED_LABEL, va="center", ha="left", fontsize=8,
                        color=MUTED, style="italic", gid=f"suppressed:{key}")
                continue
            v = float(r[col]) if not _missing(r[col]) else math.nan
            n = r[n_c] if n_c in sel.columns else r.get("n")
            if not _missing(n):
                _column(ax, y, fmt_num(n), gid=f"n:{key}")
            if _missing(v):
                ax.text(gap_x, y, "geen antwoorden", va="center", ha="left", fontsize=SMALL,
                        color=MUTED, gid=f"nodata:{key}")
                continue
            bar = ax.barh(y, v, height=0.62, color=BAR, edgecolor="none", zorder=2)
            bar.patches[0].set_gid(f"bar:{key}")
            lo, hi = r[lo_c], r[hi_c]
            _error_bars(ax, v, y, lo, hi, key)
            shown = r[rnd_c] if rnd_c in sel.columns and not _missing(r[rnd_c]) else v
            text = fmt_num(shown) if is_nps else fmt_pct(shown)
            if is_nps and v < 0:
                end = min(v, lo) if not _missing(lo) else v
                ax.text(end - 2.5, y, text, va="center", ha="right", fontsize=8, gid=f"value:{key}")
            else:
                end = max(v, hi) if not _missing(hi) else v
                ax.text(end + (2.5 if is_nps else 1.5), y, text, va="center", ha="left", fontsize=8,
                        gid=f"value:{key}")
        ax.set_yticks(range(len(sel)), [_wrap(g, 30, 2) for g in sel["group"]])
        ax.set_ylim(len(sel) - 0.4, -0.6)
        if is_nps:
            ax.set_xlim(-118, 118)
            _num_axis(ax, "x", range(-100, 101, 50))
            ax.spines["bottom"].set_bounds(-100, 100)
            ax.axvline(0, color=MUTED, linewidth=0.8, zorder=2.5)
        else:
            ax.set_xlim(0, 118)
            _pct_axis(ax, "x", 0, 100, 20)
        ax.xaxis.grid(True, color=GRID, linewidth=0.5)
        _bare_y(ax)
        ax.set_xlabel(axis_label)
        _frame(fig, title, source, notes)
        return _finish(fig)


# ------------------------------------------------------------------ trend

_PERIODS = {
    "month": (list(range(1, 13)), MONTHS_NL, "Maand", "elke maand", "Een lege maand"),
    "quarter": ([1, 2, 3, 4], ["K1", "K2", "K3", "K4"], "Kwartaal", "elk kwartaal", "Een leeg kwartaal"),
}


def trend_chart(trend: pd.DataFrame, period_type: str, title: str, source: str,
                measure: str = "pct_satisfied", threshold: int | None = None) -> Figure:
    """The measure per month or quarter as points on a line with a 95 % band.

    Every period of the year gets a tick; suppressed periods and periods without
    answers are gaps in the line (a suppressed one marked "[c]"), never values.
    """
    _require_text(title, source)
    if period_type not in _PERIODS:
        raise AgiiError(f"unknown period type {period_type!r}", expected="month or quarter")
    if measure not in _MEASURES:
        raise AgiiError(f"unknown measure {measure!r}", expected=" or ".join(_MEASURES))
    col, lo_c, hi_c, rnd_c, n_c, axis_label = _MEASURES[measure]
    _columns(trend, ["period_type", "period", "suppressed", col, lo_c, hi_c], "trend")
    sel = trend[trend["period_type"] == period_type]
    flag = _suppressed_column(sel, measure)
    if sel.empty:
        raise AgiiError(f"no trend rows for {period_type!r}", expected="a continuous survey (Results.trend)")
    codes, default_labels, x_label, every, empty = _PERIODS[period_type]
    by = {int(p): r for p, r in zip(sel["period"], sel.to_dict(orient="records"))}
    xs = np.array(codes, dtype=float)
    ys, los, his, ticks, hidden, absent = [], [], [], [], [], []
    for code, dlabel in zip(codes, default_labels):
        r = by.get(code)
        sup = r is not None and _flag(r[flag])
        ok = r is not None and not sup and not _missing(r[col])
        ys.append(float(r[col]) if ok else math.nan)
        los.append(float(r[lo_c]) if ok and not _missing(r[lo_c]) else math.nan)
        his.append(float(r[hi_c]) if ok and not _missing(r[hi_c]) else math.nan)
        hidden.append(sup)
        absent.append(r is None)
        n = r.get(n_c, r.get("n")) if ok else None
        label = str(r.get("period_label", dlabel)) if r is not None else dlabel
        ticks.append(f"{label}\n{fmt_num(n)}" if not _missing(n) else f"{label}\n")
    ys, los, his = np.array(ys), np.array(los), np.array(his)
    is_nps = measure == "nps"
    notes = [f"Band (of foutbalk bij een losse periode): 95 %-betrouwbaarheidsinterval. Onder {every}: "
             "aantal antwoorden (n)" + (" op de NPS-vraag." if is_nps else " op de schaal.")]
    if any(hidden):
        notes.append(_suppression_note(threshold, "antwoorden op de NPS-vraag" if is_nps else "respondenten"))
    if any(absent):
        notes.append(f"{empty} zonder {SUPPRESSED_LABEL}: geen antwoorden in die periode.")
    height = 7.2 + 0.42 * _n_lines(title, source, notes)

    with _style():
        fig = _figure(height)
        ax = fig.subplots()
        ax.fill_between(xs, los, his, color=LINE, alpha=0.16, linewidth=0, zorder=1, gid="band")
        line = ax.plot(xs, ys, color=LINE, linewidth=1.6, marker="o", markersize=5, markeredgecolor="white",
                       markeredgewidth=0.8, zorder=3)[0]
        line.set_gid("line")
        alone = [not np.isnan(ys[i]) and (i == 0 or np.isnan(ys[i - 1]))
                 and (i == len(codes) - 1 or np.isnan(ys[i + 1])) for i in range(len(codes))]
        for i, code in enumerate(codes):  # a point with no neighbour has no band: give it a bar
            if alone[i]:
                _error_bars(ax, xs[i], ys[i], los[i], his[i], code, horizontal=False, colour=LINE)
        for i, (x, code, y, r) in enumerate(zip(xs, codes, ys, (by.get(c) for c in codes))):
            if _missing(y):
                continue
            shown = r.get(rnd_c) if not _missing(r.get(rnd_c)) else y
            ax.annotate(fmt_num(shown) if is_nps else fmt_pct(shown), xy=(x, y),
                        xytext=(6, 0) if alone[i] else (0, 6), textcoords="offset points",
                        ha="left" if alone[i] else "center", va="center" if alone[i] else "bottom", fontsize=SMALL,
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.85},
                        zorder=4, gid=f"value:{code}")
        lo_y = -100 if is_nps else 0
        for x, code, sup in zip(xs, codes, hidden):
            if sup:
                ax.annotate(SUPPRESSED_LABEL, xy=(x, lo_y), xytext=(0, 4), textcoords="offset points",
                            ha="center", va="bottom", fontsize=8, style="italic", color=MUTED,
                            gid=f"suppressed:{code}")
        ax.set_xlim(xs[0] - 0.5, xs[-1] + 0.5)
        ax.set_xticks(xs, ticks)
        ax.tick_params(axis="x", length=0, pad=3)
        if is_nps:
            ax.set_ylim(-105, 105)
            _num_axis(ax, "y", range(-100, 101, 50))
            ax.axhline(0, color=MUTED, linewidth=0.6, zorder=1)
        else:
            ax.set_ylim(0, 108)
            _pct_axis(ax, "y", 0, 100, 20)
        ax.yaxis.grid(True, color=GRID, linewidth=0.5)
        ax.set_ylabel(axis_label)
        _frame(fig, title, source, notes)
        return _finish(fig)


# ------------------------------------------------------------------ priority matrix

_CANDIDATES = [  # (dx, dy) in points, ha, va: right, left, above, below, then farther out
    (6, 3, "left", "bottom"), (6, -3, "left", "top"), (-6, 3, "right", "bottom"), (-6, -3, "right", "top"),
    (0, 7, "center", "bottom"), (0, -7, "center", "top"),
    (14, 12, "left", "bottom"), (14, -12, "left", "top"), (-14, 12, "right", "bottom"),
    (-14, -12, "right", "top"), (0, 18, "center", "bottom"), (0, -18, "center", "top"),
    (24, 0, "left", "center"), (-24, 0, "right", "center"),
]


def _overlap(a, others) -> float:
    total = 0.0
    for b in others:
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        if w > 0 and h > 0:
            total += w * h
    return total


def _outside(a, box) -> float:
    """Area of bbox a that falls outside box."""
    w = min(a.x1, box.x1) - max(a.x0, box.x0)
    h = min(a.y1, box.y1) - max(a.y0, box.y0)
    return a.width * a.height - (max(w, 0) * max(h, 0))


def placed_aspects(priority: pd.DataFrame) -> pd.DataFrame:
    """The aspects the priority matrix can place: an importance and a performance."""
    return priority.dropna(subset=["importance", "performance"]) if len(priority) else priority


def priority_chart(priority: pd.DataFrame, title: str, source: str) -> Figure:
    """Importance (x) against performance (y) with the median cross and the four quadrants.

    Quadrant membership comes from the table's `quadrant` column and the cross from its
    medians; item labels are placed greedily at the first of a few offsets that does
    not collide with another label, point or corner name.
    """
    _require_text(title, source)
    _columns(priority, ["item", "label", "importance", "performance", "importance_median",
                        "performance_median", "quadrant"], "priority")
    unknown = sorted(set(priority["quadrant"].dropna()) - set(QUADRANT_STYLE))
    if unknown:
        raise AgiiError(f"unknown quadrant(s) {', '.join(map(str, unknown))}",
                        expected=", ".join(QUADRANT_STYLE))
    valid = placed_aspects(priority).reset_index(drop=True)
    if valid.empty:
        raise AgiiError("no aspect has both an importance and a performance",
                        expected="at least one aspect with a correlation (3 or more paired answers)")
    imp_mid, perf_mid = float(valid["importance_median"].iloc[0]), float(valid["performance_median"].iloc[0])
    dropped = len(priority) - len(valid)
    notes = ["Belang: rangcorrelatie (Spearman) van het aspect met de algemene tevredenheid. "
             "Stippellijnen: medianen van belang en tevredenheid."]
    if dropped:
        notes.append(f"{dropped} aspect(en) zonder belangscore of tevredenheidscijfer (te weinig antwoorden) "
                     "niet getoond.")
    lines = _n_lines(title, source, notes)
    title_lines = _wrap(title, TITLE_WRAP).count("\n") + 1
    height = 10.5 + 0.42 * lines

    with _style():
        fig = _figure(height, layout=None)
        w_cm, h_cm = WIDTH_CM, height
        left, right = 1.9, 0.5
        top, bottom = 0.45 + 0.5 * title_lines, 1.4 + 0.32 * (lines - title_lines)
        ax = fig.add_axes([left / w_cm, bottom / h_cm, 1 - (left + right) / w_cm, 1 - (bottom + top) / h_cm])
        x, y = valid["importance"].astype(float), valid["performance"].astype(float)
        xr = max(float(max(x.max(), imp_mid) - min(x.min(), imp_mid)), 0.1)
        yr = max(float(max(y.max(), perf_mid) - min(y.min(), perf_mid)), 5.0)
        ax.set_xlim(min(x.min(), imp_mid) - 0.14 * xr, max(x.max(), imp_mid) + 0.14 * xr)
        ax.set_ylim(max(min(y.min(), perf_mid) - 0.22 * yr, -2), min(max(y.max(), perf_mid) + 0.22 * yr, 110))
        ax.axvline(imp_mid, color=MUTED, linestyle=(0, (4, 3)), linewidth=0.8, zorder=1, gid="median:importance")
        ax.axhline(perf_mid, color=MUTED, linestyle=(0, (4, 3)), linewidth=0.8, zorder=1, gid="median:performance")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_pct(v)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: fmt_num(v, 2)))
        ax.grid(True, color=GRID, linewidth=0.4)
        ax.set_xlabel("Belang (samenhang met de algemene tevredenheid, Spearman ρ)")
        ax.set_ylabel("Tevredenheid (% (heel) tevreden)")

        renderer = fig.canvas.get_renderer()
        obstacles = []
        corners = {(True, True): (0.985, 0.975, "right", "top"), (True, False): (0.985, 0.025, "right", "bottom"),
                   (False, False): (0.015, 0.025, "left", "bottom"), (False, True): (0.015, 0.975, "left", "top")}
        for key, name in QUADRANTS.items():
            cx, cy, ha, va = corners[key]
            colour = QUADRANT_STYLE[name][0]
            t = ax.text(cx, cy, name, transform=ax.transAxes, ha=ha, va=va, fontsize=8, fontweight="bold",
                        color=colour, gid=f"quadrant:{name}",
                        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1.0, "alpha": 0.9})
            obstacles.append(t.get_window_extent(renderer).expanded(1.05, 1.2))
        for r in valid.itertuples():
            colour, marker = QUADRANT_STYLE.get(r.quadrant, (NO_DATA, "o"))
            ax.plot([r.importance], [r.performance], linestyle="none", marker=marker, markersize=6.5,
                    color=colour, markeredgecolor="white", markeredgewidth=0.7, zorder=4, gid=f"point:{r.item}")
            px, py = ax.transData.transform((r.importance, r.performance))
            rad = renderer.points_to_pixels(5)
            obstacles.append(Bbox([[px - rad, py - rad], [px + rad, py + rad]]))
        axbox = ax.get_window_extent(renderer)
        placed = []
        for r in valid.itertuples():
            label = _wrap(r.label, 22, 2)
            best = None
            for dx, dy, ha, va in _CANDIDATES:
                far = abs(dx) > 10 or abs(dy) > 10
                ann = ax.annotate(label, xy=(r.importance, r.performance), xytext=(dx, dy),
                                  textcoords="offset points", ha=ha, va=va, fontsize=SMALL, color=INK,
                                  linespacing=1.1, zorder=5, gid=f"label:{r.item}",
                                  arrowprops={"arrowstyle": "-", "color": MUTED, "linewidth": 0.5,
                                              "shrinkA": 0, "shrinkB": 3} if far else None)
                box = ann.get_window_extent(renderer)
                cost = _overlap(box, obstacles + placed) + 4 * _outside(box, axbox)
                if best is None or cost < best[0]:
                    if best is not None:
                        best[1].remove()
                    best = (cost, ann, box)
                else:
                    ann.remove()
                if cost == 0:
                    break
            placed.append(best[2])
        head, foot = _frame(fig, title, source, notes)
        # Without a layout engine the title and source keep their default y: pin them in cm.
        head.set_y(1 - 0.35 / h_cm)
        foot.set_y(0.2 / h_cm)
        foot.set_va("bottom")
        return _finish(fig)


# ------------------------------------------------------------------ output

def to_png_bytes(fig: Figure, dpi: int = 150) -> bytes:
    """The figure as PNG bytes, identical on every run (no Software tag, no timestamp)."""
    buf = io.BytesIO()
    with _style():
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, facecolor="white")
    return buf.getvalue()


def save_png(fig: Figure, path: str | os.PathLike, dpi: int = 150) -> Path:
    """Write the PNG atomically (temp file in the same folder, then os.replace).

    A report build that is interrupted, or two processes writing the same chart, can
    never leave a half-written image behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_bytes(path, to_png_bytes(fig, dpi))
