r"""What an approximation construction returns: the network, its bound, and the evidence.

An :class:`Approximation` holds the network with exact weights, the claimed bound
:math:`\|f - f_n\|_\infty \le \text{bound}` on the domain, whether that bound is
``proved`` (an exact or interval-arithmetic argument, stated in the evidence) or only
``estimated``, and the check: the sup-norm of :math:`f - f_n` observed on a dense float64
grid and recomputed with mpmath at the worst grid points and at random points. An observed
error above a proved bound makes the verdict ``refuted`` — it would be a bug in symdl.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import mpmath
import numpy as np
import sympy as sp

from symdl.codegen import numpy_function
from symdl.derive.approximation_network import Network
from symdl.errors import ParseError, UnsupportedError
from symdl.parse import as_expression, parse
from symdl.shapes import Scope
from symdl.verify.precise import Evaluator, NotAdmissible
from symdl.verify.report import Evidence, Report

__all__ = [
    "Approximation",
    "Status",
    "domain_endpoints",
    "sup_error",
    "target",
    "values_at",
    "within",
]

Status = Literal["proved", "estimated"]
#: The most points the dense-grid check evaluates.
_MAX_GRID = 4_000_000


@dataclass(frozen=True)
class Approximation:
    """A network approximating ``target`` on ``domain``, with a bound and its evidence."""

    target: str
    construction: str
    domain: tuple[tuple[sp.Expr, sp.Expr], ...]
    network: Network
    bound: float
    status: Status
    evidence: tuple[Evidence, ...]
    observed: float  # sup |f − f_n| on the dense grid, float64
    observed_precise: float  # the same at the checked points, mpmath
    eps: float | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    exact_error: sp.Expr | None = None  # the sup error itself, when it is known exactly

    @property
    def verdict(self) -> str:
        """``refuted`` when the check contradicts the bound, else the bound's status."""
        if not (
            within(self.observed_precise, self.bound, 1e-20)
            and within(self.observed, self.bound, 1e-12)
        ):
            return "refuted"
        return self.status

    @property
    def neurons(self) -> int:
        return self.network.neurons

    def report(self) -> Report:
        """The certificate as a :class:`~symdl.verify.report.Report` (for the proof book).

        A proved bound the check agrees with is ``proved``; an estimated one is
        ``undecided`` (a bound symdl could not certify is never passed off as a proof).
        """
        verdict = {"proved": "proved", "estimated": "undecided"}.get(self.verdict, "refuted")
        where = " × ".join(f"[{a}, {b}]" for a, b in self.domain)
        return Report(
            verdict,  # type: ignore[arg-type]
            f"‖f − f_n‖∞ ≤ {self.bound:.6g} for f = {self.target} on {where} "
            f"({self.network.neurons} neurons)",
            self.construction,
            evidence=self.evidence,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "construction": self.construction,
            "domain": [[str(a), str(b)] for a, b in self.domain],
            "eps": self.eps,
            "bound": self.bound,
            "status": self.status,
            "verdict": self.verdict,
            "exact_error": None if self.exact_error is None else str(self.exact_error),
            "neurons": self.network.neurons,
            "observed_sup_error": self.observed,
            "observed_sup_error_precise": self.observed_precise,
            "parameters": {k: _jsonable(v) for k, v in self.parameters.items()},
            "evidence": [vars(e) for e in self.evidence],
            "network": self.network.to_dict(),
        }

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def __str__(self) -> str:
        where = " × ".join(f"[{a}, {b}]" for a, b in self.domain)
        lines = [
            f"{self.verdict}: ‖f − f_n‖∞ ≤ {self.bound:.4g} for f = {self.target} on {where}",
            f"  construction: {self.construction}",
            f"  network: {self.network.neurons} hidden neurons in {self.network.depth} "
            f"hidden layer(s), {self.network.nonzero} nonzero parameters",
        ]
        if self.parameters:
            shown = ", ".join(f"{k} = {_short(v)}" for k, v in self.parameters.items())
            lines.append(f"  parameters: {shown}")
        if self.exact_error is not None:
            lines.append(f"  exact sup error: {self.exact_error}")
        lines.append(
            f"  observed sup error: {self.observed:.4g} (float64 grid), "
            f"{self.observed_precise:.4g} (mpmath)"
        )
        for ev in self.evidence:
            lines.append(f"  - {ev.method}: {ev.outcome}; {ev.detail}")
        return "\n".join(lines)


def within(observed: float, bound: float, rounding: float) -> bool:
    """``observed <= bound`` up to the rounding of the evaluation that produced ``observed``."""
    return observed <= bound + rounding * max(1.0, bound)


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return str(v)


def target(text: str | sp.Basic, variables: Sequence[str] = ("x",)) -> sp.Expr:
    """The target function: input-language text (or SymPy) in the scalar ``variables``."""
    expr = as_expression(text, Scope())  # text through the whitelist parser, never sympify
    if not isinstance(expr, sp.Expr) or isinstance(expr, sp.MatrixExpr):
        raise ParseError(f"the target must be a scalar expression, got {expr}")
    allowed = {sp.Symbol(v, real=True) for v in variables}
    extra = sorted(str(s) for s in expr.free_symbols - allowed)
    if extra:
        names = ", ".join(variables)
        raise ParseError(
            f"the target may use only the variable(s) {names}; it also uses {', '.join(extra)}"
        )
    return expr


def values_at(expr: sp.Expr, points: Sequence[sp.Expr], var: sp.Symbol) -> list[sp.Expr]:
    """``expr`` at each point, exactly: evaluated for rational functions, otherwise left as
    an unevaluated tree (``sin(pi/36)``), since SymPy's search for special values of
    ``sin(k·pi/n)`` costs milliseconds per point and adds nothing to the exactness."""
    if expr.is_rational_function(var) and all(p.is_Rational for p in points):
        return [expr.subs(var, p) for p in points]
    with sp.evaluate(False):
        return [expr.xreplace({var: p}) for p in points]


def domain_endpoints(a: object, b: object) -> tuple[sp.Expr, sp.Expr]:
    """Exact finite real endpoints ``a < b`` (numbers or input-language text like ``pi``)."""
    ends = []
    for v in (a, b):
        e = parse(v) if isinstance(v, str) else _exact(v)
        if not (isinstance(e, sp.Expr) and e.is_number and e.is_real and e.is_finite):
            raise ParseError(f"an interval endpoint must be a finite real number, got {v!r}")
        ends.append(e)
    if not bool(ends[0] < ends[1]):
        raise ValueError(f"an interval needs a < b, got [{ends[0]}, {ends[1]}]")
    return ends[0], ends[1]


def _exact(v: object) -> sp.Expr:
    if isinstance(v, float):
        return sp.Rational(repr(v)) if math.isfinite(v) else sp.nan  # 0.1 → 1/10
    if isinstance(v, str):  # text goes through the whitelist parser, never sympify
        raise TypeError(f"a number or a SymPy expression, not the text {v!r}")
    if isinstance(v, numbers.Integral) and not isinstance(v, bool):
        return sp.Integer(int(v))
    if isinstance(v, sp.Expr):
        return v
    raise TypeError(f"a number or a SymPy expression, not {type(v).__name__}")


def sup_error(
    expr: sp.Expr,
    network: Network,
    domain: Sequence[tuple[sp.Expr, sp.Expr]],
    *,
    bound: float,
    points: int,
    precise_points: int = 40,
    dps: int = 30,
    seed: int = 0,
    extra: Sequence[float] = (),
) -> tuple[float, float, Evidence, Evidence]:
    """``sup |f − f_n|`` on a dense grid (float64) and at the worst grid points (mpmath).

    ``points`` grid points per axis, plus the ``extra`` abscissae (1-D). The mpmath check
    recomputes the error at the ``precise_points`` worst grid points and as many uniform
    random points, at ``dps`` digits. Returns both maxima and their evidence, whose outcome
    says whether the maximum stays within ``bound`` (up to float64 rounding on the grid,
    :math:`10^{-20}` relative at high precision).
    """
    if points < 2 or points ** len(domain) > _MAX_GRID:
        raise ValueError(f"points must be at least 2 and give at most {_MAX_GRID} grid points")
    names = [str(v) for v in network.inputs]
    symbols = [sp.Symbol(n, real=True) for n in names]
    axes = [np.linspace(float(a), float(b), points) for a, b in domain]
    if len(axes) == 1 and extra:
        axes[0] = np.unique(np.concatenate([axes[0], np.asarray(extra, dtype=float)]))
    mesh = [m.ravel() for m in np.meshgrid(*axes, indexing="ij")]
    f = numpy_function(expr, names)
    with np.errstate(all="raise", under="ignore"):  # tiny weights times tiny values
        wanted = np.broadcast_to(np.asarray(f(*mesh), dtype=float), mesh[0].shape)
        got = network.forward(*mesh)
        err = np.abs(wanted - got)
    worst = float(np.max(err))
    grid = Evidence(
        "dense grid",
        "agree" if within(worst, bound, 1e-12) else "differ",
        f"float64 sup |f − f_n| = {worst:.6g} over {err.size} grid points",
        points=int(err.size),
        worst_error=worst,
    )
    rng = np.random.default_rng(seed)
    order = np.argsort(err)[::-1][:precise_points]
    chosen = [tuple(m[i] for m in mesh) for i in order]
    chosen += [
        tuple(rng.uniform(float(a), float(b)) for a, b in domain) for _ in range(precise_points)
    ]
    best = mpmath.mpf(0)
    for pt in chosen:
        values = {s: mpmath.mpf(v) for s, v in zip(symbols, pt)}
        try:
            fx = Evaluator(values, dps=dps)(expr)
        except (NotAdmissible, UnsupportedError) as err_:
            raise UnsupportedError(f"cannot evaluate {expr} at {pt}: {err_}") from err_
        best = max(best, abs(fx - network.precise([values[s] for s in symbols], dps=dps)))
    high = float(best)
    precise = Evidence(
        "high precision",
        "agree" if within(high, bound, 1e-20) else "differ",
        f"mpmath at {dps} digits: sup |f − f_n| = {high:.6g} at the {len(order)} worst grid "
        f"points and {precise_points} random points",
        points=len(chosen),
        worst_error=high,
    )
    return worst, high, grid, precise
