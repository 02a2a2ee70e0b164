"""What a check returns: a frozen :class:`Report` with its evidence, entries and diagnosis."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

__all__ = ["Entry", "Evidence", "Kink", "Report", "Verdict", "worst_entries"]

Verdict = Literal["proved", "verified", "refuted", "undecided"]
VERDICTS: tuple[Verdict, ...] = ("proved", "verified", "refuted", "undecided")


@dataclass(frozen=True)
class Evidence:
    """One method's contribution: what was done, where, and how close the sides came."""

    method: str  # "shape", "symbolic", "high-precision", "finite-differences", …
    outcome: str  # "agree", "differ", "proved", "inconclusive", "timeout", "skipped"
    detail: str
    points: int = 0
    sizes: str = ""
    worst_error: float | None = None
    tolerance: float | None = None


@dataclass(frozen=True)
class Entry:
    """One entry of a compared array at one point."""

    index: tuple[int, ...]
    claimed: float
    true: float
    abs_error: float
    rel_error: float
    tolerance: float  # absolute, comparable with abs_error
    point: int = 0  # which sample point (0-based)


def worst_entries(claimed: Any, true: Any, tolerance: float, *, count: int = 5) -> list[Entry]:
    """The ``count`` entries where two same-shaped arrays differ most, largest first."""
    err = np.abs(claimed - true)
    order = sorted(np.ndindex(err.shape), key=lambda i: -err[i])[:count]
    return [
        Entry(
            tuple(int(j) for j in i),
            float(claimed[i]),
            float(true[i]),
            float(err[i]),
            float(err[i] / max(abs(claimed[i]), abs(true[i]), 1e-300)),
            tolerance,
        )
        for i in order
    ]


@dataclass(frozen=True)
class Kink:
    """A point where the function is not differentiable, with its one-sided derivatives."""

    location: str
    left: float | None
    right: float | None
    claimed: float | None
    inside: bool | None  # the claim lies in [min(left, right), max(left, right)]
    at: float | None = None  # the kink's coordinate, when it is a point of one variable


@dataclass(frozen=True)
class Report:
    """The answer to a check.

    ``verdict`` is ``proved`` (a symbolic computation showed the difference is zero),
    ``verified`` (no symbolic proof, but high-precision evaluation at random admissible
    points and finite differences agree), ``refuted`` (a confirmed counterexample), or
    ``undecided`` (out of budget or out of reach — never a silent pass).
    """

    verdict: Verdict
    claim: str
    method: str
    evidence: tuple[Evidence, ...] = ()
    counterexample: dict[str, Any] | None = None
    entries: tuple[Entry, ...] = ()
    diagnosis: tuple[str, ...] = ()
    kinks: tuple[Kink, ...] = ()
    notes: tuple[str, ...] = ()
    difference: str | None = None

    @property
    def ok(self) -> bool:
        """True for ``proved`` and ``verified``."""
        return self.verdict in ("proved", "verified")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), default=_jsonable, **kwargs)

    def __str__(self) -> str:
        lines = [f"{self.verdict}: {self.claim}", f"  method: {self.method}"]
        for ev in self.evidence:
            extra = ""
            if ev.worst_error is not None:
                extra = f" (worst rel err {ev.worst_error:.2e}"
                extra += f", tolerance {ev.tolerance:.1e})" if ev.tolerance is not None else ")"
            lines.append(f"  - {ev.method}: {ev.outcome}; {ev.detail}{extra}")
        if self.counterexample:
            lines.append("  counterexample:")
            for name, value in self.counterexample.items():
                lines.append(f"    {name} = {_short(value)}")
        if self.entries:
            lines.append("  worst entries:")
            multi = len({e.point for e in self.entries}) > 1
            for e in self.entries:
                idx = ",".join(map(str, e.index)) or "-"
                at = f" at point {e.point + 1}" if multi else ""
                lines.append(
                    f"    [{idx}]{at} claimed={e.claimed:.6g} true={e.true:.6g} "
                    f"abs err {e.abs_error:.2e} (tolerance {e.tolerance:.1e}), "
                    f"rel err {e.rel_error:.2e}"
                )
        for k in self.kinks:
            side = ""
            if k.left is not None and k.right is not None:
                side = f": one-sided derivatives {k.left:.6g} (left), {k.right:.6g} (right)"
            verdict = ""
            if k.inside is not None:
                where = "inside" if k.inside else "OUTSIDE"
                verdict = f"; the claim gives {k.claimed:.6g}, {where} that bracket"
            lines.append(f"  kink at {k.location}{side}{verdict}")
        if self.difference:
            lines.append(f"  true − claimed = {self.difference}")
        for d in self.diagnosis:
            lines.append(f"  diagnosis: {d}")
        for n in self.notes:
            lines.append(f"  note: {n}")
        return "\n".join(lines)


def _short(value: Any) -> str:
    text = json.dumps(value, default=_jsonable)
    return text if len(text) < 300 else text[:297] + "..."


def _jsonable(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
