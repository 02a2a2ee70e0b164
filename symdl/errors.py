"""The exception hierarchy: one root, leaves that also subclass the builtin they refine."""

from __future__ import annotations

__all__ = [
    "BudgetExceeded",
    "ParseError",
    "PrecisionWarning",
    "ShapeError",
    "SymdlError",
    "UnknownNameError",
    "UnsupportedError",
    "with_caret",
]


class SymdlError(Exception):
    """Root of every error symdl raises on purpose."""


def with_caret(message: str, text: str, col: int | None) -> str:
    """``message`` followed by ``text`` and a caret under column ``col``."""
    if not text or col is None:
        return message
    # one printable character per column, so the caret stays aligned and no control
    # sequence from the input reaches the user's terminal
    line = "".join(c if c.isprintable() else "?" for c in text)
    start = max(0, col - 60) if len(line) > 120 else 0
    shown = line[start : start + 120]
    prefix = "..." if start else ""
    caret = " " * (len(prefix) + min(col - start, len(shown))) + "^"
    return f"{message}\n  {prefix}{shown}\n  {caret}"


class ParseError(SymdlError, ValueError):
    """Input text that is not in the input language.

    The message shows the text with a caret under the offending column.
    """

    def __init__(self, message: str, text: str = "", col: int | None = None) -> None:
        self.reason = message
        self.text = text
        self.col = col
        super().__init__(with_caret(message, text, col))


class ShapeError(SymdlError, ValueError):
    """Operands whose shapes do not fit together (reported before any mathematics)."""


class UnknownNameError(SymdlError, KeyError):
    """A name not found in a registry; the message suggests close matches."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnsupportedError(SymdlError, NotImplementedError):
    """A well-formed request outside what symdl can evaluate."""


class PrecisionWarning(UserWarning):
    """Inputs were upcast to float64 for finite differences (float32/float16 given)."""


class BudgetExceeded(SymdlError, TimeoutError):
    """Symbolic work that did not finish within its time budget."""
