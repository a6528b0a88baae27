"""One error type for everything a researcher can get wrong in an input.

Every message is a single line that says where (file, sheet, column, row) and what
was expected, so a bad export never surfaces as a traceback from inside pandas.
"""

from __future__ import annotations

from pathlib import Path


class AgiiError(Exception):
    """A problem with an input (export, codebook, parameter file) or a run."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        sheet: str | None = None,
        column: str | None = None,
        row: int | None = None,
        expected: str | None = None,
    ):
        self.problem = " ".join(str(problem).split())
        self.file = str(file) if file is not None else None
        self.sheet = sheet
        self.column = column
        self.row = row
        self.expected = " ".join(str(expected).split()) if expected else None
        super().__init__(self.message)

    @property
    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(Path(self.file).name if len(self.file) > 60 else self.file)
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        if self.column:
            parts.append(f"column {self.column}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        return ", ".join(parts)

    @property
    def message(self) -> str:
        text = f"{self.where}: {self.problem}" if self.where else self.problem
        if self.expected:
            text += f" (expected {self.expected})"
        return text

    def __str__(self) -> str:
        return self.message


def column_letter(index: int) -> str:
    """Spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
