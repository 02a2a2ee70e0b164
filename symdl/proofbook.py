"""The proof book: discover the proofs in a folder, run them, and write the report.

A proof is a function in a ``.py`` file of the proofs folder, decorated with
:func:`proof`, that takes no arguments and returns a :class:`~symdl.verify.report.Report`
(or a sequence of them, all of which must hold). Files are imported by path, in sorted
order; a proof that raises is recorded as an error, not allowed to stop the run.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symdl.verify.report import Report

__all__ = ["Proof", "ProofResult", "discover", "proof", "render_markdown", "run_proofs"]


@dataclass(frozen=True)
class Proof:
    """A proof's metadata and the function that carries it out."""

    title: str
    statement: str
    fn: Callable[[], Report | Sequence[Report]]
    references: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    topic: str = ""
    name: str = ""


@dataclass(frozen=True)
class ProofResult:
    proof: Proof
    verdict: str  # a Report verdict, or "error"
    reports: tuple[Report, ...] = ()
    error: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.verdict in ("proved", "verified")


def proof(
    title: str,
    *,
    statement: str,
    references: Sequence[str] = (),
    tags: Sequence[str] = (),
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Mark a function as a proof (it is only *marked*; nothing is registered)."""

    def mark(fn: Callable[[], Any]) -> Callable[[], Any]:
        fn.__symdl_proof__ = Proof(  # type: ignore[attr-defined]
            title, statement, fn, tuple(references), tuple(tags), name=fn.__name__
        )
        return fn

    return mark


def discover(directory: str | Path) -> list[Proof]:
    """Every proof in the ``.py`` files of ``directory``, file by file in sorted order."""
    folder = Path(directory)
    if not folder.is_dir():
        raise FileNotFoundError(f"no proofs folder at {folder}")
    found: list[Proof] = []
    for path in sorted(folder.glob("*.py")):
        if path.name.startswith("_"):
            continue
        module_name = f"symdl_proofs_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
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
                    )
                )
    return found


def _verdict(reports: Sequence[Report]) -> str:
    order = ("refuted", "undecided", "verified", "proved")
    return min((r.verdict for r in reports), key=order.index)


def run_proofs(proofs: Sequence[Proof]) -> list[ProofResult]:
    """Run each proof; the weakest verdict of its reports is the proof's verdict."""
    results = []
    for p in proofs:
        start = time.perf_counter()
        try:
            out = p.fn()
            reports = (out,) if isinstance(out, Report) else tuple(out)
            if not reports or not all(isinstance(r, Report) for r in reports):
                raise TypeError("a proof must return a Report or a sequence of Reports")
            results.append(
                ProofResult(p, _verdict(reports), reports, seconds=time.perf_counter() - start)
            )
        except Exception as err:  # a broken proof is reported, the book goes on
            results.append(
                ProofResult(
                    p,
                    "error",
                    error=f"{type(err).__name__}: {err}",
                    seconds=time.perf_counter() - start,
                )
            )
    return results


def render_markdown(results: Sequence[ProofResult]) -> str:
    """The proof book as Markdown: a summary table, then each proof with its evidence."""
    counts: dict[str, int] = {}
    for r in results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
    lines = ["# The symdl proof book", "", f"{len(results)} proofs: {summary}.", ""]
    lines += ["| topic | proof | verdict | method | seconds |", "|---|---|---|---|---|"]
    for r in results:
        method = "; ".join(sorted({rep.method for rep in r.reports})) or r.error
        lines.append(
            f"| {r.proof.topic} | {r.proof.title} | **{r.verdict}** | {method} | {r.seconds:.2f} |"
        )
    topic = None
    for r in results:
        if r.proof.topic != topic:
            topic = r.proof.topic
            lines += ["", f"## {topic}"]
        lines += ["", f"### {r.proof.title} — {r.verdict}", "", r.proof.statement, ""]
        if r.proof.tags:
            lines.append(f"Tags: {', '.join(r.proof.tags)}.")
        for ref in r.proof.references:
            lines.append(f"- Reference: {ref}")
        if r.error:
            lines += ["", f"Error: `{r.error}`"]
        for rep in r.reports:
            lines += ["", "```", str(rep), "```"]
    return "\n".join(lines) + "\n"
