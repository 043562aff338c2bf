"""Spreadsheet cells that cannot become formulas (OWASP "CSV injection"): every export (the monthly report's
Excel, the assessment ranking) writes its cells through ``sheet_put``, ``sheet_row`` or ``sheet_text``.

openpyxl turns any string that starts with ``=`` into a formula cell, and Excel (or WPS) evaluates text
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return once the cell is edited or the sheet is
saved as CSV; a Chinese input method types the full-width forms (＝ ＋ － ＠), which spreadsheets may read the
same way, and leading blanks (also the full-width space) do not stop a formula. Here every string is stored
as a string cell (the text kept exactly), and one that starts with one of those characters, or with blanks
and then one of them, also carries Excel's quote prefix, so editing it keeps it text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.worksheet.worksheet import Worksheet

# The characters a spreadsheet reads as the start of a formula (OWASP CSV-injection list), and their
# full-width forms.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def formula_like(value: str) -> bool:
    """Whether a spreadsheet could read ``value`` as a formula: it starts with a trigger, or with blanks
    (spaces, the full-width space U+3000, line breaks) followed by one."""
    if value.startswith(FORMULA_TRIGGERS):
        return True
    return value[:1].isspace() and value.lstrip().startswith(FORMULA_TRIGGERS)


def sheet_text(cell: Cell, value: Any) -> Cell:
    """Set ``cell`` to ``value``; a string is always a string cell, never a formula.

    A carriage return is written as the line break it is ("\\n"): XML readers turn a raw CR into LF anyway."""
    if not isinstance(value, str):
        cell.value = value
        return cell
    cell.value = value.replace("\r\n", "\n").replace("\r", "\n")
    cell.data_type = "s"  # openpyxl made '=…' a formula ('f'): it is text here
    if formula_like(value):
        cell.quotePrefix = True
    return cell


def sheet_put(ws: Worksheet, row: int, column: int, value: Any) -> Cell:
    """``ws.cell(row, column, value)`` with the text kept text."""
    return sheet_text(ws.cell(row=row, column=column), value)


def sheet_row(ws: Worksheet, row: int, values: Iterable[Any]) -> list[Cell]:
    """Write ``values`` into ``row`` from column A, the text kept text."""
    return [sheet_put(ws, row, column, value) for column, value in enumerate(values, start=1)]


def sheet_values(ws: Worksheet, values: Iterable[Any]) -> list[Any]:
    """One row for a write-only sheet (``ws.append``), as fast as a plain row: a string that could be read as
    a formula becomes a text cell with the quote prefix (``sheet_text``), any other string is appended as
    it is (openpyxl writes it as a string cell; only a leading ``=`` would make it a formula), with its
    carriage returns made line breaks; numbers and dates as they are."""
    row: list[Any] = []
    for value in values:
        if isinstance(value, str):
            if formula_like(value):
                row.append(sheet_text(WriteOnlyCell(ws), value))
                continue
            if "\r" in value:
                value = value.replace("\r\n", "\n").replace("\r", "\n")
        row.append(value)
    return row
