"""Figures a proof attaches to its result: a picture of what the checks established.

A proof returns :class:`Figure` records beside its reports (a figure alone proves
nothing, so a proof still needs at least one Report or Derivation). A figure is plain
data — a title, a caption and the PNG's bytes — so it crosses the worker pool's pipes,
a dask cluster's network and the result cache unchanged. :meth:`Figure.draw` makes one
from any plotter that writes a PNG to a path (the plotters of :mod:`symdl.render`).
matplotlib is an optional extra: without it :meth:`Figure.draw` returns a figure with
no picture and a ``note`` saying why, which the report shows in the picture's place.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PNG_SIGNATURE", "Figure"]

#: The eight bytes every PNG file starts with (PNG specification, §5.2).
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Figure:
    """A titled picture with a caption: ``png`` holds a PNG file's bytes, or is empty and
    ``note`` says why there is no picture (matplotlib absent, the plotter failed).

    >>> Figure("Variance through depth", "q_l against l", note="not drawn: an example").drawn
    False
    """

    title: str
    caption: str = ""
    png: bytes = b""
    note: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not self.title.strip():
            raise ValueError("a figure needs a title")
        if not isinstance(self.caption, str) or not isinstance(self.note, str):
            raise TypeError("a figure's caption and note are text")
        if not isinstance(self.png, bytes):
            raise TypeError(f"a figure's png is bytes, got {type(self.png).__name__}")
        if self.png and not self.png.startswith(PNG_SIGNATURE):
            raise ValueError("a figure's png does not start with the PNG signature")
        if not self.png and not self.note.strip():
            raise ValueError("a figure without a picture needs a note saying why")

    @property
    def drawn(self) -> bool:
        """Whether the figure has a picture."""
        return bool(self.png)

    @classmethod
    def draw(cls, title: str, plot: Callable[[Path], object], *, caption: str = "") -> Figure:
        """The figure that ``plot(path)`` writes as a PNG at ``path``.

        Without matplotlib the plotter is not called and the figure carries a note
        instead; a plotter that raises gives a figure whose note is the error, so that a
        broken picture shows in the report without changing the proof's verdict.
        """
        try:
            import matplotlib  # noqa: F401  (only whether it is there)
        except ImportError:
            note = "not drawn: matplotlib is not installed (pip install 'symdl[plot]')"
            return cls(title, caption, note=note)
        with tempfile.TemporaryDirectory(prefix="symdl-figure-") as scratch:
            path = Path(scratch) / "figure.png"
            try:
                plot(path)
                png = path.read_bytes()
            except Exception as err:  # the picture is illustration; the report says why
                return cls(title, caption, note=f"not drawn: {type(err).__name__}: {err}")
        if not png.startswith(PNG_SIGNATURE):
            return cls(title, caption, note="not drawn: the plotter did not write a PNG file")
        return cls(title, caption, png=png)
