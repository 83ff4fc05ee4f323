"""CSV that is safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is
read as a formula by Excel, LibreOffice and Google Sheets (CSV injection):
`=HYPERLINK(...)` in a client's name would run in the customer's
spreadsheet. As OWASP advises, every CSV Mailsite writes prefixes such a
cell with a single quote, which spreadsheets show as text; the import drops
that quote again, so an export imports back unchanged.
"""

import csv
from collections.abc import Iterator

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe_cell(value) -> str:
    """`value` as text that no spreadsheet reads as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_unescape_cell(text: str) -> str:
    """Undo `csv_safe_cell` on a cell read back from one of our files."""
    if len(text) > 1 and text[0] == "'" and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text


class SafeCSVWriter:
    """`csv.writer` whose every cell goes through `csv_safe_cell`; use it for
    every CSV file the site writes."""

    def __init__(self, file, **kwargs):
        self._writer = csv.writer(file, **kwargs)

    def writerow(self, row):
        return self._writer.writerow([csv_safe_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


class _Echo:
    """A file that hands back what is written to it."""

    def write(self, value):
        return value


def csv_stream(rows) -> Iterator[str]:
    """Each of `rows` as a line of safe CSV text, one at a time: the body
    of a StreamingHttpResponse."""
    writer = SafeCSVWriter(_Echo())
    for row in rows:
        yield writer.writerow(row)
