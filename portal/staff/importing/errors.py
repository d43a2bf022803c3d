"""How the import refuses: a whole file (`SheetError`), or a cell by its row and column letter
(`CellError`); values are quoted in messages without ever repeating a long one (it may be a token)."""

from dataclasses import dataclass

from django.utils.translation import gettext as _

QUOTE_CHARS = 40
# A single word longer than this is not quoted at all (it would fill the message), only described.
QUOTE_WORD_MAX = 80


def quote_value(value: str, limit: int = QUOTE_CHARS) -> str:
    """`value` for a message, between “ ”: whole, or cut at a word boundary with "…", never mid-word."""
    text = " ".join(value.split())
    if len(text) <= limit:
        return f"“{text}”"
    cut = text.rfind(" ", 0, limit + 1)
    if cut > 0:
        return f"“{text[:cut].rstrip(' ,;&')}…”"
    first = text.split(" ", 1)[0]
    if len(first) <= QUOTE_WORD_MAX:
        return f"“{first}”" + ("" if first == text else "…")
    return _("a value of %(count)s characters") % {"count": len(text)}


class SheetError(Exception):
    """The file as a whole cannot be used (not a spreadsheet, too big, wrong columns, empty)."""


@dataclass(frozen=True)
class CellError:
    row: int
    column: str  # spreadsheet letter, e.g. "C"; empty for a whole-row error
    header: str
    message: str

    def __str__(self) -> str:
        if self.column:
            return _("Row %(row)s, column %(column)s (%(header)s): %(message)s") % {
                "row": self.row, "column": self.column, "header": self.header, "message": self.message}
        return _("Row %(row)s: %(message)s") % {"row": self.row, "message": self.message}


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
