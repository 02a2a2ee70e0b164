r"""Assertions for your own test suite: your derivatives and layers against symdl's truth.

Each assertion returns the :class:`~symdl.verify.report.Report` when the code is right and
raises :class:`Mismatch` — an :class:`AssertionError` whose message is symdl's report
(counterexample, worst entries, diagnosis) — when it is wrong, so it works in pytest,
unittest or a plain script. This module does not import pytest; :func:`check_layer` uses
hypothesis (through :mod:`symdl.strategies`) only when it is called.

>>> import numpy as np
>>> assert_derivative_matches(lambda x: 1 / (1 + np.exp(-x)) ** 2 * np.exp(-x), "sigmoid").verdict
'verified'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from symdl.catalog.activations import ACTIVATIONS
from symdl.catalog.entry import Activation
from symdl.derive.layers.base import Block
from symdl.verify.diagnose import diagnose
from symdl.verify.gradcheck import gradcheck
from symdl.verify.layer import LayerProblem, LayerSpec, Outcome
from symdl.verify.layer_block import BlockProblem, block_report
from symdl.verify.precise import Evaluator
from symdl.verify.report import Entry, Evidence, Report
from symdl.verify.safe_regions import safe_regions, univariate

__all__ = [
    "LayerSpec",
    "Mismatch",
    "assert_derivative_matches",
    "assert_gradient_matches",
    "check_layer",
]


class Mismatch(AssertionError):
    """Your code disagrees with symdl's truth; ``str(err)`` is the report, ``err.report``
    the :class:`~symdl.verify.report.Report` itself."""

    def __init__(self, report: Report) -> None:
        super().__init__(str(report))
        self.report = report


def assert_derivative_matches(
    numpy_fn: Callable[[np.ndarray], Any],
    reference: object,
    *,
    points: int = 64,
    min_value: float = -20.0,
    max_value: float = 20.0,
    rtol: float = 1e-7,
    atol: float = 1e-12,
    margin: float = 0.05,
    seed: int = 0,
) -> Report:
    r"""Assert that ``numpy_fn(x)`` is the derivative of ``reference`` at ``points`` points.

    ``reference`` is the *function*: a catalogue activation (or its name), input-language
    text in one variable, or a SymPy expression. The truth is its derivative (the
    catalogue's canonical form for an activation, SymPy's otherwise) in 30-digit mpmath.
    Points lie in ``[min_value, max_value]``, inside the domain and at least ``margin``
    from every kink (:func:`symdl.verify.safe_regions.safe_regions`): the ends of every
    safe interval, then random points (uniform and log-uniform in magnitude). Each must
    satisfy :math:`|c - t| \le \mathrm{atol} + \mathrm{rtol}\,|t|`; ``atol`` is the
    absolute floor for values float64 cannot resolve from 0 (``1 − tanh²(20)``).
    ``numpy_fn`` is called once on the array of points (elementwise, as NumPy code is).
    """
    if not isinstance(points, int) or points < 1:
        raise ValueError(f"points must be a positive int, got {points!r}")
    regions = safe_regions(reference, min_value=min_value, max_value=max_value, margin=margin)
    if not regions.intervals:
        raise ValueError(f"no safe point of {regions.expr} in [{min_value}, {max_value}]")
    expr, var = univariate(reference)
    name = reference if isinstance(reference, str) else str(expr)
    entry = (
        ACTIVATIONS.get(reference)
        if isinstance(reference, str) and reference in ACTIVATIONS
        else reference
    )
    derivative = entry.at()[1] if isinstance(entry, Activation) else sp.diff(expr, var)
    xs = _sample(regions.intervals, points, np.random.default_rng(seed))
    with mpmath.workdps(30):
        true = np.array([float(Evaluator({var: x}, dps=30)(derivative)) for x in xs])
    with np.errstate(all="ignore"):
        claimed = np.asarray(numpy_fn(xs.copy()), dtype=np.float64)
    if claimed.shape != xs.shape:
        claimed = np.broadcast_to(claimed, xs.shape) if claimed.size == 1 else claimed
    title = f"d/d{var} {name} == {getattr(numpy_fn, '__name__', 'numpy_fn')}"
    if claimed.shape != xs.shape:
        reason = f"numpy_fn returned shape {claimed.shape} for {xs.size} points"
        raise Mismatch(Report("refuted", title, "shape", (Evidence("shape", "differ", reason),)))
    with np.errstate(all="ignore"):
        err = np.abs(claimed - true)
        rel = err / np.maximum(np.maximum(np.abs(claimed), np.abs(true)), 1e-300)
    tol = atol + rtol * np.abs(true)
    bad = ~(err <= tol)  # nan counts as bad
    rel = np.where(np.isfinite(rel), rel, np.inf)
    span = f"{xs.size} points in [{min_value}, {max_value}] away from {_avoided(regions)}"
    if not bad.any():
        ev = Evidence(
            "high-precision",
            "agree",
            f"mpmath at 30 digits; {span}",
            points=xs.size,
            worst_error=float(np.max(rel)),
            tolerance=rtol,
        )
        return Report("verified", title, "high-precision reference at sample points", (ev,))
    order = np.argsort(-np.where(bad, rel, -1.0))[:5]
    entries = tuple(
        Entry(
            (int(i),),
            float(claimed[i]),
            float(true[i]),
            float(err[i]),
            float(rel[i]),
            float(tol[i]),
        )
        for i in order
        if bad[i]
    )
    worst = int(order[0])
    lead = (
        f"at {var} = {xs[worst]!r}: claimed {claimed[worst]:.6g}, true {true[worst]:.6g} "
        f"({int(bad.sum())} of {xs.size} points outside the tolerance)"
    )
    findings = diagnose([claimed], [true], inputs=[{str(var): xs}], rtol=rtol, atol=atol)
    ev = Evidence(
        "high-precision",
        "differ",
        f"mpmath at 30 digits; {span}",
        points=xs.size,
        worst_error=float(rel[worst]),
        tolerance=rtol,
    )
    raise Mismatch(
        Report(
            "refuted",
            title,
            "high-precision reference at sample points",
            (ev,),
            counterexample={str(var): float(xs[worst])},
            entries=entries,
            diagnosis=(lead, *(f.message for f in findings)),
        )
    )


def _sample(
    intervals: Sequence[tuple[float | None, float | None]], n: int, rng: np.random.Generator
) -> np.ndarray:
    ends = [v for lo, hi in intervals for v in (lo, hi) if v is not None]
    out = list(dict.fromkeys(ends))[:n]
    bounded = [
        (lo if lo is not None else -1e3, hi if hi is not None else 1e3) for lo, hi in intervals
    ]
    while len(out) < n:
        lo, hi = bounded[int(rng.integers(len(bounded)))]
        if len(out) % 2 and lo < hi:
            # log-uniform magnitude: small and large points both occur
            a = max(abs(lo), abs(hi))
            b = 1e-3 if lo < 0 < hi else max(min(abs(lo), abs(hi)), 1e-3)
            x = float(np.exp(rng.uniform(np.log(min(a, b)), np.log(max(a, b)))))
            x = x if lo <= x <= hi else -x
            out.append(x if lo <= x <= hi else float(rng.uniform(lo, hi)))
        else:
            out.append(float(rng.uniform(lo, hi)))
    return np.array(out, dtype=np.float64)


def _avoided(regions: Any) -> str:
    return "{" + ", ".join(str(p) for p in regions.avoided) + "}" if regions.avoided else "nothing"


def assert_gradient_matches(
    f: Callable[..., Any],
    grad_f: Callable[..., Any],
    *arrays: Any,
    wrt: Sequence[int] | None = None,
    method: str = "auto",
) -> Report:
    """Assert that ``grad_f(*arrays)`` is the gradient of the scalar ``f`` at ``arrays``.

    :func:`symdl.gradcheck` decides (Richardson-extrapolated finite differences with an
    error bound, a mismatch confirmed by a second estimate); on a mismatch the
    :class:`Mismatch` message names the worst entries and the bug pattern (transpose,
    factor, sign, missing term).
    """
    report = gradcheck(f, grad_f, *arrays, wrt=wrt, method=method)
    if not report.ok:
        raise Mismatch(report)
    return report


def check_layer(
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    spec: LayerSpec | str | Block,
    *,
    input_shape: tuple[int, ...] | None = None,
    rtol: float = 1e-7,
    atol: float = 1e-12,
    max_examples: int | None = None,
    seed: int | None = 0,
    min_size: int = 2,
    max_size: int = 5,
    min_value: float = -4.0,
    max_value: float = 4.0,
) -> Report:
    r"""Check your layer's ``forward`` and ``backward`` against the exact derivation of
    ``spec.forward``, over hypothesis-drawn sizes and values.

    ``spec`` is a layer written in the input language (a :class:`LayerSpec` or its
    forward text) or a layer of symdl's registry (a :class:`~symdl.derive.layers.Block`,
    e.g. ``symdl.layer("conv2d(2, 3, 3, stride=2)")``, at per-example ``input_shape``
    when its configuration does not fix one; see :mod:`symdl.verify.layer_block` for
    how your functions are called then).

    ``forward(**inputs)`` returns the output; ``backward(grad_output, **inputs)`` returns
    the gradient of each name in ``spec.wrt`` (one array, or a tuple in that order).
    Declared vectors (``"n"``) are 1-D arrays, matrices 2-D, scalars floats; the output of
    a vector layer and its upstream gradient are 1-D too. Both results must satisfy
    :math:`|c - t| \le \mathrm{atol} + \mathrm{rtol}\max|t|` entrywise against the exact
    values, or, where the exact value cancels (:math:`\sum_i g_i \hat x_i` with equal
    :math:`x_i` in batch norm), the same plus :math:`64\,\varepsilon\,S` with :math:`S`
    the first-order rounding scale of the result (inputs and reductions perturbed by one
    part in :math:`1/\varepsilon`; :mod:`symdl.verify.layer`). ``atol`` is a floor for
    values too small for float64 to resolve. A failure
    is shrunk by hypothesis to a minimal example and raised as :class:`Mismatch`, with a
    diagnosis: which reduction's term the backward pass lost (the mean or variance term
    of batch norm), or a transpose, factor or sign. ``max_examples`` defaults to the
    active hypothesis profile's. ``check_layer`` runs its own hypothesis search: call it
    from a plain test, not from a ``@given`` one (hypothesis fails nested searches with
    its ``nested_given`` health check unless the outer test suppresses it).
    """
    from symdl import strategies  # hypothesis is needed only here

    if isinstance(spec, Block):
        return _check_block(
            forward,
            backward,
            spec,
            input_shape=input_shape,
            rtol=rtol,
            atol=atol,
            max_examples=max_examples,
            seed=seed,
            max_batch=max_size,
            min_value=min_value,
            max_value=max_value,
        )
    if isinstance(spec, str):
        spec = LayerSpec(spec)
    problem = LayerProblem(spec)
    values = strategies.variables(
        problem.shapes(),
        assume=spec.assume,
        min_size=min_size,
        max_size=max_size,
        min_value=min_value,
        max_value=max_value,
    ).filter(problem.admissible)
    seen = {"examples": 0, "first": 0}
    worst = [0.0]

    def fails(v: dict[str, Any]) -> bool:
        seen["examples"] += 1
        out = problem.compare(v, forward, backward, rtol=rtol, atol=atol)
        if out.ok:
            worst[0] = max(worst[0], out.worst)
        elif not seen["first"]:
            seen["first"] = seen["examples"]
        return not out.ok

    found = strategies.counterexample(values, fails, max_examples=max_examples, seed=seed)
    title = f"layer {spec.forward}: forward and gradients of {', '.join(problem.wrt)}"
    method = "exact gradient (SymPy, entry by entry) at hypothesis examples"
    if found is None:
        n = seen["examples"]
        ev = Evidence(
            "exact-gradient",
            "agree",
            f"forward and gradients agree with the exact values (30-digit mpmath) at {n} "
            f"hypothesis examples, sizes {min_size} to {max_size}",
            points=n,
            worst_error=worst[0],
            tolerance=rtol,
        )
        return Report("verified", title, method, (ev,))
    outcome = problem.compare(found, forward, backward, rtol=rtol, atol=atol)
    extra = _perturbed(problem, found, backward, outcome, seed)
    report = problem.report(
        found, outcome, examples=seen["first"] or seen["examples"], rtol=rtol, extra=extra
    )
    raise Mismatch(report)


def _perturbed(
    problem: LayerProblem,
    found: dict[str, Any],
    backward: Callable[..., Any],
    outcome: Outcome,
    seed: int | None,
    copies: int = 3,
) -> list[tuple[dict[str, Any], np.ndarray]]:
    """Copies of the counterexample with the unconstrained inputs moved by N(0, 1/4), and
    the user's gradient there — so a diagnosis must hold beyond one (shrunk) point."""
    if not outcome.part.startswith("gradient of "):
        return []
    wrt = outcome.part.removeprefix("gradient of ")
    k = problem.wrt.index(wrt)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(copies):
        moved = {
            n: v if n in problem.spec.assume else np.asarray(v) + rng.normal(0, 0.5, np.shape(v))
            for n, v in found.items()
        }
        moved = {n: float(v) if np.ndim(v) == 0 else v for n, v in moved.items()}
        if not problem.admissible(moved):
            continue
        inputs = {n: moved[n] for n in problem.names}
        try:
            got = backward(moved[problem.grad_name], **inputs)
            got = (got,) if len(problem.wrt) == 1 and not isinstance(got, (tuple, list)) else got
            claimed = np.asarray(got[k], dtype=np.float64).reshape(np.shape(found[wrt]))
        except Exception:  # the user's code failing here only costs the diagnosis a point
            continue
        out.append((moved, claimed))
    return out


def _check_block(
    forward: Callable[..., Any],
    backward: Callable[..., Any],
    block: Block,
    *,
    input_shape: tuple[int, ...] | None,
    rtol: float,
    atol: float,
    max_examples: int | None,
    seed: int | None,
    max_batch: int,
    min_value: float,
    max_value: float,
) -> Report:
    """:func:`check_layer` for a layer of the registry (:mod:`symdl.verify.layer_block`)."""
    from symdl import strategies

    shape = input_shape if input_shape is not None else block.input_shape()
    if shape is None:
        raise ValueError(f"{block.describe()} fits inputs of any shape: pass input_shape=")
    problem = BlockProblem(block, tuple(shape))
    inputs = strategies.layer_inputs(
        block, problem.shape, max_batch=max_batch, min_value=min_value, max_value=max_value
    )
    seen = {"examples": 0, "first": 0}
    worst = [0.0]

    def fails(example: dict[str, Any]) -> bool:
        seen["examples"] += 1
        out = problem.compare(example, forward, backward, rtol=rtol, atol=atol)
        if out.ok:
            worst[0] = max(worst[0], out.worst)
        elif not seen["first"]:
            seen["first"] = seen["examples"]
        return not out.ok

    found = strategies.counterexample(inputs, fails, max_examples=max_examples, seed=seed)
    shape_text = "×".join(map(str, problem.shape))
    title = (
        f"layer {block.describe()} on input {shape_text}: forward and gradients of "
        f"{', '.join(problem.wrt)}"
    )
    method = "symdl's verified layer code at hypothesis examples"
    if found is None:
        n = seen["examples"]
        ev = Evidence(
            "reference-layer",
            "agree",
            f"forward and gradients agree with symdl's {block.describe()} (its rule proved "
            f"against entrywise differentiation) at {n} hypothesis examples",
            points=n,
            worst_error=worst[0],
            tolerance=rtol,
        )
        return Report("verified", title, method, (ev,))
    outcome = problem.compare(found, forward, backward, rtol=rtol, atol=atol)
    raise Mismatch(
        block_report(
            problem,
            found,
            outcome,
            forward,
            backward,
            title,
            method,
            examples=seen["first"] or seen["examples"],
            rtol=rtol,
            atol=atol,
            seed=seed,
        )
    )
