"""``check_identity`` and ``check_derivative``: the verification pipeline and its verdict.

For each instance (concrete sizes) of a claim:

1. **shapes** — a claim of the wrong shape is refuted with that reason, before any maths;
2. **high precision** — both sides at ``points`` random admissible points with mpmath at
   ``precision`` digits; a mismatch is confirmed at twice the precision (the difference
   must persist, unchanged) before anything is refuted;
3. **symbolic** — the entrywise difference is simplified under a time budget; a difference
   that reduces to zero proves the claim;
4. **finite differences** — for derivatives, the generated NumPy code of the function is
   differentiated numerically (complex step where the expression is analytic, Richardson
   extrapolation otherwise) and compared with the true gradient within the error bound of
   the method; for identities, the generated code of both sides is compared in float64.

Verdicts: ``refuted`` needs a confirmed counterexample; ``proved`` a symbolic zero at every
instance with all dimensions concrete (with symbolic dimensions, the entrywise proof at
the two sizes makes the claim ``verified`` — evidence, not a proof for every size);
``verified`` needs agreement in high precision *and* by finite differences; anything else
is ``undecided``, with the reason.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import sympy as sp

from symdl.budget import DEFAULT_TIMEOUT
from symdl.errors import UnsupportedError
from symdl.verify.admissible import (
    NoAdmissiblePoint,
    conditions,
    off_kinks_somewhere,
    sample_points,
    satisfied,
)
from symdl.verify.claims import (
    Problem,
    Side,
    derivative_problem,
    identity_problem,
    point_arrays,
    residual_matrix,
    shape_reason,
)
from symdl.verify.diagnose import diagnose
from symdl.verify.kinks import kinks_of, region_points
from symdl.verify.matrix_every_size import matrix_calculus
from symdl.verify.numeric_code import code_agreement, fd_agreement
from symdl.verify.overall import overall
from symdl.verify.report import Entry, Evidence, Kink, Report
from symdl.verify.sides import (
    DEEPEST,
    Unevaluable,
    digits_lost,
    evaluate,
    first_mismatch,
    relative,
    to_float,
    worst_entries,
)
from symdl.verify.symbolic import decide_zero

__all__ = ["check_derivative", "check_identity"]

_TINY = 1e-300


def check_identity(
    lhs: object,
    rhs: object,
    *,
    shapes: Mapping[str, Any] | None = None,
    assume: Mapping[str, str] | None = None,
    points: int = 8,
    precision: int = 30,
    timeout: float = DEFAULT_TIMEOUT,
    seed: int = 0,
    kinks: Literal["included", "excluded"] = "included",
) -> Report:
    """Check ``lhs == rhs`` for all admissible values of the variables.

    ``lhs`` and ``rhs`` are input-language text or SymPy expressions; ``shapes`` declares
    matrix shapes (``{"X": "3x3"}``) and ``assume`` their kinds (``{"A": "symmetric"}``).
    ``kinks="excluded"`` claims the identity only away from the kinks — where no argument
    of ``abs``, ``sign``, ``maximum``, ``minimum`` or ``heaviside`` is zero — as for two
    derivatives of a kinked function, whose values at a kink are conventions. A proof may
    then leave the kinks out, and its evidence and method say so; the numerical checks
    sample away from kinks in either case.

    >>> check_identity("tanh(x)", "2*sigmoid(2*x) - 1").verdict
    'proved'
    """
    with overall(timeout, f"{lhs} == {rhs}") as outcome:
        if kinks not in ("included", "excluded"):
            raise ValueError(f'kinks must be "included" or "excluded", got {kinks!r}')
        problem = identity_problem(lhs, rhs, shapes=shapes, assume=assume)
        check = _Check(problem, points, precision, timeout, seed, at_kinks=kinks == "included")
        outcome.report = check.run()
    assert outcome.report is not None
    return outcome.report


def check_derivative(
    f: object,
    wrt: object,
    claimed: object,
    *,
    shapes: Mapping[str, Any] | None = None,
    assume: Mapping[str, str] | None = None,
    points: int = 8,
    precision: int = 30,
    timeout: float = DEFAULT_TIMEOUT,
    seed: int = 0,
) -> Report:
    r"""Check that ``claimed`` is the derivative of ``f`` with respect to ``wrt``.

    The claim is in denominator layout: :math:`\partial f/\partial W` has the shape of
    ``W`` for a scalar ``f``; for a vector ``f`` and a vector ``wrt`` it is the Jacobian
    :math:`J_{ij} = \partial f_i/\partial w_j`.

    >>> check_derivative("sigmoid(x)", "x", "sigmoid(x)*(1 - sigmoid(x))").verdict
    'proved'
    >>> r = check_derivative("relu(x)", "x", "1")
    >>> r.verdict, r.counterexample["x"] < 0
    ('refuted', True)
    """
    with overall(timeout, f"d/d{wrt} {f} == {claimed}") as outcome:
        problem = derivative_problem(f, wrt, claimed, shapes=shapes, assume=assume)
        outcome.report = _Check(problem, points, precision, timeout, seed).run()
    assert outcome.report is not None
    return outcome.report


@dataclass
class _Mismatch:
    side: Side
    point: dict[sp.Symbol, float]
    index: tuple[int, ...]
    true: float
    claimed: float
    confirmed: bool


@dataclass
class _Numeric:
    """What the high-precision step found on every instance."""

    entries: list[Entry] = field(default_factory=list)
    worst: float = 0.0
    mismatch: _Mismatch | None = None
    values: list[tuple[Side, list[dict[sp.Symbol, float]], list[np.ndarray], list[np.ndarray]]] = (
        field(default_factory=list)
    )
    problem: str = ""


class _Check:
    def __init__(
        self,
        problem: Problem,
        points: int,
        precision: int,
        timeout: float,
        seed: int,
        *,
        at_kinks: bool = True,
    ):
        if points < 1:
            raise ValueError(f"points must be at least 1, got {points}")
        if precision < 15:
            raise ValueError(f"precision must be at least 15 digits, got {precision}")
        self.problem = problem
        self.points = points
        self.precision = precision
        self.timeout = timeout
        self.seed = seed
        self.at_kinks = at_kinks
        self.deadline = time.monotonic() + timeout
        self.evidence: list[Evidence] = []
        self.notes: list[str] = []

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def report(self, verdict: str, method: str, **kwargs: Any) -> Report:
        return Report(
            verdict=verdict,  # type: ignore[arg-type]
            claim=self.problem.text,
            method=method,
            evidence=tuple(self.evidence),
            notes=tuple(self.notes),
            **kwargs,
        )

    def run(self) -> Report:
        p = self.problem
        if not p.sides:
            self.evidence.append(Evidence("shape", "differ", shape_reason(p)))
            return self.report("refuted", "shape", diagnosis=(shape_reason(p),))
        sizes = "; ".join(s.instance.describe() for s in p.sides)
        if any(s.instance.sizes for s in p.sides):
            self.notes.append(
                f"symbolic dimensions were instantiated at {len(p.sides)} sizes: {sizes}"
            )
        try:
            numeric = self.high_precision()
        except NoAdmissiblePoint as err:
            self.evidence.append(Evidence("high-precision", "inconclusive", str(err)))
            return self.without_points(sizes)
        except UnsupportedError as err:
            self.evidence.append(Evidence("high-precision", "inconclusive", str(err)))
            return self.report("undecided", "none")
        kinks = kinks_of(p, precision=self.precision, timeout=min(5.0, self.remaining()))
        if numeric.mismatch is not None and numeric.mismatch.confirmed:
            return self.refuted(numeric, kinks)
        outside = [k for k in kinks if k.inside is False]
        symbolic = decide_zero(
            [t - c for s in p.sides for t, c in zip(s.true, s.claimed)],
            timeout=max(0.5, self.remaining() * 0.8),
            kinks=self.at_kinks,
        )
        off_kinks = symbolic.away_from_kinks
        if symbolic.zero:
            self.evidence.append(_proved(symbolic.method, sizes, off_kinks))
        elif symbolic.zero is None:
            self.evidence.append(Evidence("symbolic", "timeout", symbolic.reason, sizes=sizes))
        else:
            self.evidence.append(
                Evidence(
                    "symbolic",
                    "inconclusive",
                    "the difference did not simplify to 0 (this alone refutes nothing)",
                    sizes=sizes,
                )
            )
        codes = self.generated_code(numeric)
        if outside:
            k = outside[0]
            return self.report(
                "refuted",
                "one-sided derivatives at a kink",
                counterexample={p.wrt or "x": k.at if k.at is not None else k.location},
                kinks=tuple(kinks),
                diagnosis=(
                    f"at the kink {k.location} the claim gives {k.claimed:.6g}, outside the "
                    f"one-sided derivatives [{min(k.left, k.right):.6g}, "  # type: ignore[type-var]
                    f"{max(k.left, k.right):.6g}]",  # type: ignore[type-var]
                ),
            )
        if numeric.mismatch is not None:
            self.notes.append("a high-precision mismatch vanished at higher precision (rounding)")
        method = "high-precision evaluation"
        if codes is not None and codes.outcome == "differ":
            self.notes.append(
                "the generated code disagrees with the high-precision values; no verdict is "
                "given until that is explained"
            )
            return self.report("undecided", method, kinks=tuple(kinks))
        if symbolic.zero:
            if any(s.instance.sizes for s in p.sides):
                every_size = matrix_calculus(p, min(5.0, self.remaining()))
                if every_size is not None:
                    self.evidence.insert(0, every_size)
                    return self.report(
                        "proved",
                        "matrix calculus for every size, confirmed entrywise at concrete sizes",
                        kinks=tuple(kinks),
                    )
                return self.report(
                    "verified", "symbolic, entrywise at concrete sizes", kinks=tuple(kinks)
                )
            if off_kinks:
                self.notes.append(
                    "proved where no argument of abs, sign, maximum, minimum or heaviside is "
                    "zero, as asked (kinks excluded); nothing is claimed at the kinks"
                )
                return self.report("proved", "symbolic, away from kinks", kinks=tuple(kinks))
            return self.report("proved", "symbolic", kinks=tuple(kinks))
        if codes is None or codes.outcome != "agree":
            self.notes.append("finite differences could not corroborate the high-precision check")
            return self.report("undecided", method, kinks=tuple(kinks))
        return self.report("verified", f"{method} and {codes.method}", kinks=tuple(kinks))

    def without_points(self, sizes: str) -> Report:
        """No admissible point (every point a kink): only the symbolic step can decide."""
        p = self.problem
        if any(s.instance.sizes for s in p.sides) or not self.domain_met():
            return self.report("undecided", "none")  # an empty domain proves nothing
        symbolic = decide_zero(
            [t - c for s in p.sides for t, c in zip(s.true, s.claimed)],
            timeout=max(0.5, self.remaining() * 0.8),
            kinks=self.at_kinks,
        )
        if not symbolic.zero or symbolic.away_from_kinks:
            return self.report("undecided", "none")  # off the kinks is nowhere here
        self.evidence.append(_proved(symbolic.method, sizes, off_kinks=False))
        self.notes.append("no admissible point to sample: the proof is symbolic only")
        return self.report("proved", "symbolic")

    def domain_met(self) -> bool:
        """Points exist where every condition but the kinks' holds (``log(x)`` with
        ``x`` negative meets none)."""
        rng = np.random.default_rng(self.seed)
        return all(
            off_kinks_somewhere(s.instance, [*s.true, *s.claimed, *([s.f] if s.f else [])], rng)
            for s in self.problem.sides
        )

    # -- high precision --------------------------------------------------------------

    def high_precision(self) -> _Numeric:
        p = self.problem
        rng = np.random.default_rng(self.seed)
        out = _Numeric()
        total = 0
        for side in p.sides:
            exprs = [*side.true, *side.claimed] + ([side.f] if side.f is not None else [])
            entry_syms = set(side.instance.free_symbols())
            scalars = {
                s for e in exprs for s in e.free_symbols if isinstance(s, sp.Symbol)
            } - entry_syms
            if p.wrt is not None and not p.scope.shape(p.wrt):
                scalars.add(p.scope.symbol(p.wrt))  # sampled even where f does not involve it
            conds = conditions(exprs)
            pts = sample_points(side.instance, scalars, conds, points=self.points, rng=rng)
            if len(scalars) == 1 and not entry_syms:
                (var,) = scalars
                budget = min(3.0, max(0.5, self.remaining() / 4))
                for v in region_points(exprs, var, rng, timeout=budget):
                    if satisfied(conds, {var: v}):
                        pts.append({var: v})
            trues, claims, used = [], [], []
            unusable: list[str] = []
            for round_ in range(_DRAWS):
                for point in pts:
                    try:
                        t, c, bad = self.compare(side, point, self.precision)
                    except Unevaluable as err:
                        unusable.append(str(err))
                        continue
                    used.append(point)
                    trues.append(t)
                    claims.append(c)
                    total += 1
                    if bad is not None and _better(bad, out.mismatch):
                        out.mismatch = bad
                missing = self.points - len(used)
                if missing <= 0 or round_ == _DRAWS - 1:
                    break
                # a point where a side is too large for mpmath (exp(exp(exp(exp(30))))) is
                # dropped, and as many new points are drawn
                pts = sample_points(side.instance, scalars, conds, points=missing, rng=rng)
            if len(used) < self.points:
                raise UnsupportedError(
                    f"{len(used)} of the sample points could be evaluated, fewer than the "
                    f"{self.points} needed; {unusable[0]}"
                )
            if unusable:
                self.notes.append(f"{len(unusable)} sample points were dropped: {unusable[0]}")
            out.values.append((side, used, trues, claims))
        tol = 10.0 ** (-(self.precision // 2))
        entries = worst_entries(out.values, tol)
        out.entries = entries
        out.worst = max((e.rel_error for e in entries), default=0.0)
        confirmed = out.mismatch is not None and out.mismatch.confirmed
        self.evidence.append(
            Evidence(
                "high-precision",
                "differ" if confirmed else "agree",
                f"mpmath at {self.precision} digits"
                + (f", mismatch confirmed at {2 * self.precision}" if confirmed else ""),
                points=total,
                sizes="; ".join(s.instance.describe() for s in p.sides),
                worst_error=out.worst,
                tolerance=tol,
            )
        )
        return out

    def compare(
        self, side: Side, point: dict[sp.Symbol, float], dps: int
    ) -> tuple[np.ndarray, np.ndarray, _Mismatch | None]:
        t, c = evaluate(side, point, dps)
        shape = side.true.shape
        bad = first_mismatch(t, c, dps)
        mismatch = None
        if bad is not None:
            t2, c2 = evaluate(side, point, 2 * dps)
            i = bad
            d1, d2 = t[i] - c[i], t2[i] - c2[i]
            still = first_mismatch(t2, c2, 2 * dps) is not None
            stable = abs(d1 - d2) <= 1e-6 * abs(d2)
            lost = digits_lost(side, point, i, t2[i], c2[i])
            if still and lost > dps // 2:
                # the values are far below the size of the terms that cancel in them
                # ((1 + erf(−16))/2 is 1e−58 from terms of size 1): doubling the precision
                # does not recover them, so evaluate again with the lost digits added
                deep = min(2 * dps + lost, DEEPEST)
                t3, c3 = evaluate(side, point, deep)
                still = first_mismatch(t3, c3, deep) is not None
                stable = abs(d2 - (t3[i] - c3[i])) <= 1e-6 * abs(t3[i] - c3[i])
                t, c, t2, c2 = t3, c3, t3, c3
            mismatch = _Mismatch(
                side, point, _unflat(i, shape), float(t2[i]), float(c2[i]), still and stable
            )
        return (
            np.array([to_float(v) for v in t], dtype=float).reshape(shape),
            np.array([to_float(v) for v in c], dtype=float).reshape(shape),
            mismatch,
        )

    # -- finite differences / generated code -----------------------------------------

    def generated_code(self, numeric: _Numeric) -> Evidence | None:
        p = self.problem
        try:
            if p.kind == "derivative":
                ev = fd_agreement(p, numeric.values)
            else:
                ev = code_agreement(p, numeric.values)
        except (UnsupportedError, FloatingPointError) as err:
            ev = Evidence("finite-differences", "inconclusive", str(err))
        self.evidence.append(ev)
        return ev

    # -- refutation ---------------------------------------------------------------------

    def refuted(self, numeric: _Numeric, kinks: list[Kink]) -> Report:
        p = self.problem
        m = numeric.mismatch
        assert m is not None
        side = m.side
        counterexample = point_arrays(side, m.point, p)
        values = next(v for v in numeric.values if v[0] is side)
        _, pts, trues, claims = values
        inputs = [point_arrays(side, pt, p) for pt in pts]
        findings = diagnose(
            [_squeeze(c, p) for c in claims],
            [_squeeze(t, p) for t in trues],
            inputs=[{k: np.asarray(v, dtype=float) for k, v in i.items()} for i in inputs],
            rtol=1e-9,
        )
        diagnosis = tuple(f.message for f in findings)
        difference = None
        outcome = decide_zero(
            [t - c for t, c in zip(side.true, side.claimed)], timeout=min(5.0, self.remaining())
        )
        if outcome.zero is False and outcome.residuals:
            residual = residual_matrix(side, outcome.residuals)
            text = str(residual)
            difference = text if len(text) <= 400 else None
        idx = ",".join(map(str, m.index))
        rel = relative(m.true, m.claimed)
        lead = (
            f"at the counterexample, claimed[{idx}]={m.claimed:.6g} but the true value is "
            f"{m.true:.6g} (rel err {rel:.2g})"
        )
        return self.report(
            "refuted",
            "high-precision evaluation",
            counterexample=counterexample,
            entries=tuple(numeric.entries),
            diagnosis=(lead, *diagnosis),
            kinks=tuple(kinks),
            difference=difference,
        )


def _proved(method: str, sizes: str, off_kinks: bool) -> Evidence:
    where = " away from the kinks" if off_kinks else ""
    detail = f"every entry of the difference reduces to 0{where} ({method})"
    return Evidence("symbolic", "proved", detail, sizes=sizes)


def _better(new: _Mismatch, old: _Mismatch | None) -> bool:
    """Keep the first confirmed mismatch, preferring one whose values fit in a float."""
    if old is None or not old.confirmed:
        return True
    finite = math.isfinite(new.true) and math.isfinite(new.claimed)
    return new.confirmed and finite and not (math.isfinite(old.true) and math.isfinite(old.claimed))


#: Rounds of drawing new sample points to replace ones where a side cannot be evaluated.
_DRAWS = 4


def _unflat(i: int, shape: tuple[int, int]) -> tuple[int, ...]:
    return (i // shape[1], i % shape[1])


def _squeeze(a: np.ndarray, p: Problem) -> np.ndarray:
    return a.reshape(()) if not p.expected else a
