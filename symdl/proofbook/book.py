"""Proofs as data: the :func:`proof` decorator, discovery in files, and selection.

A proof is a function in a ``.py`` file, decorated with :func:`proof`, that takes no
arguments and returns a :class:`~symdl.verify.report.Report` or a
:class:`~symdl.derivation.Derivation` (or a sequence of them, all of which must hold),
with any :class:`~symdl.proofbook.figure.Figure` it draws among them.
Files are imported by path, in sorted order; a file whose name starts with ``_`` is a
shared module of the proofs folder, not a topic.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symdl.derivation import Derivation
from symdl.proofbook.figure import Figure
from symdl.verify.report import Report

__all__ = ["DerivationRecord", "Proof", "ProofResult", "discover", "proof", "select"]

#: Verdicts from weakest to strongest; a proof's verdict is the weakest of its reports.
ORDER = ("error", "refuted", "undecided", "verified", "proved")


@dataclass(frozen=True)
class Proof:
    """A proof's metadata and the function that carries it out.

    ``topic`` is the stem of the file it was found in, ``name`` the function's name,
    ``path`` the file (empty for a proof that was not discovered in a file) and
    ``introduction`` the file's docstring, which opens the topic's chapter of the report.
    """

    title: str
    statement: str
    fn: Callable[[], Report | Derivation | Sequence[Report | Derivation | Figure]]
    references: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    topic: str = ""
    name: str = ""
    path: str = ""
    introduction: str = ""

    @property
    def key(self) -> str:
        """``topic::name``, unique within a book."""
        return f"{self.topic}::{self.name}"


@dataclass(frozen=True)
class ProofResult:
    """What running one proof gave: its verdict, the reports, and how long it took.

    ``verdict`` is a Report verdict, or ``error`` for a proof that raised (``error``
    then holds the exception). ``note`` explains an ``undecided`` that no report gave
    (the proof's time budget ran out); ``cached`` marks a result read from the cache.
    ``derivations`` are the step-by-step derivations the proof returned, checked and
    rendered; the check of each one's final claim is among ``reports``. ``figures`` are
    the pictures the proof returned, in its order.
    """

    proof: Proof
    verdict: str
    reports: tuple[Report, ...] = ()
    error: str = ""
    seconds: float = 0.0
    note: str = ""
    cached: bool = False
    derivations: tuple[DerivationRecord, ...] = ()
    figures: tuple[Figure, ...] = ()

    @property
    def ok(self) -> bool:
        return self.verdict in ("proved", "verified")


@dataclass(frozen=True)
class DerivationRecord:
    """A checked step-by-step derivation as the report shows it: its verdict, the sentence
    on its standing, and its steps as Markdown, as a LaTeX ``align*`` environment and as
    the bare ``aligned`` block that KaTeX typesets in the HTML report.

    Derivations hold SymPy objects that do not all cross process boundaries; records are
    plain text, so workers can return them and the cache can keep them.
    """

    verdict: str
    sentence: str
    markdown: str
    latex: str
    align: str

    @classmethod
    def of(cls, derivation: Derivation) -> DerivationRecord:
        """The record of ``derivation``, checked first if it was not."""
        from symdl.render.latex import align_block, verdict_sentence

        d = derivation if derivation.checked else derivation.verify()
        return cls(d.verdict, verdict_sentence(d), d.markdown(), d.latex(), align_block(d))


def proof(
    title: str,
    *,
    statement: str,
    references: Sequence[str] = (),
    tags: Sequence[str] = (),
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Mark a function as a proof (it is only *marked*; nothing is registered).

    >>> @proof("Square", statement="d/dx x² = 2x", tags=["demo"])
    ... def square():
    ...     return check_derivative("x**2", "x", "2*x")
    >>> square.__symdl_proof__.title
    'Square'
    """

    def mark(fn: Callable[[], Any]) -> Callable[[], Any]:
        fn.__symdl_proof__ = Proof(  # type: ignore[attr-defined]
            title, statement, fn, tuple(references), tuple(tags), name=fn.__name__
        )
        return fn

    return mark


def discover(*paths: str | Path) -> list[Proof]:
    """Every proof in the given folders and ``.py`` files, file by file in sorted order."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files += [p for p in sorted(path.glob("*.py")) if not p.name.startswith("_")]
        elif path.is_file() and path.suffix == ".py":
            files.append(path)
        else:
            raise FileNotFoundError(f"no proofs folder or .py file at {path}")
    found: list[Proof] = []
    for path in dict.fromkeys(p.resolve() for p in files):
        found += _proofs_in(path)
    return found


def _proofs_in(path: Path) -> list[Proof]:
    module_name = f"symdl_proofs_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        return []
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # a broken file is one failed entry, the book goes on
        return [_unreadable(path, f"{type(err).__name__}: {err}")]
    found = []
    for value in vars(module).values():
        marked = getattr(value, "__symdl_proof__", None)
        if isinstance(marked, Proof) and getattr(value, "__module__", "") == module_name:
            found.append(
                Proof(
                    marked.title,
                    marked.statement,
                    marked.fn,
                    marked.references,
                    marked.tags,
                    topic=path.stem,
                    name=marked.name,
                    path=str(path),
                    introduction=inspect.cleandoc(module.__doc__ or ""),
                )
            )
    return found


def _unreadable(path: Path, error: str) -> Proof:
    """A stand-in for the proofs of a file that does not import: running it fails."""

    def fail() -> Report:
        raise ImportError(f"{path.name} could not be imported: {error}")

    return Proof(
        f"{path.name} could not be imported",
        f"The proofs of {path.name} were not run: {error}",
        fail,
        topic=path.stem,
        name="<import>",
        path=str(path),
    )


def select(proofs: Sequence[Proof], pattern: str) -> list[Proof]:
    """The proofs whose key (``topic::name``), title or a tag contains ``pattern``
    (case-insensitive)."""
    needle = pattern.lower()
    return [p for p in proofs if any(needle in text.lower() for text in (p.key, p.title, *p.tags))]


def weakest(verdicts: Sequence[str]) -> str:
    """The weakest of the verdicts (``error`` < ``refuted`` < ``undecided`` < …)."""
    return min(verdicts, key=ORDER.index)
