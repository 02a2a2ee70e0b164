r"""Checking a block's backward rule two ways.

* :func:`check_rule` — **symbolically, at small concrete sizes.** The forward pass is
  written out entry by entry on arrays of SymPy symbols (:meth:`Block.forward_explicit`);
  the scalar :math:`s = \langle \mathbf G, \mathbf Y\rangle` (with symbols
  :math:`\mathbf G` standing for the upstream gradient; for a loss block :math:`s = gL`)
  is differentiated by SymPy with respect to every entry of the input and of each
  parameter, and compared with the block's rule applied to the same arrays
  (:meth:`Block.backward_explicit`). An entry whose difference expands to 0 is *proved*;
  one that does not, or is too large to expand (``EXPAND_LIMIT`` operations), is
  evaluated at random points with 30 significant digits (where
  SymPy's derivative of ``Max`` or ``Heaviside`` is defined, away from ties), and a
  difference below :math:`10^{-20}` relative there makes it *verified*. Data slots
  (targets, masks) are drawn as exact rationals.
* :func:`check_code` — **the generated NumPy code against finite differences**, with
  :func:`symdl.verify.gradcheck`, at random float64 inputs: the function checked is
  :math:`\langle \mathbf G, \text{forward}(\mathbf X, \theta)\rangle` and its claimed
  gradient is the generated backward code's output.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from symdl.budget import run_with_budget
from symdl.derive.layers.base import Block, Shape, Slot, Wiring, symbols
from symdl.derive.layers.source import compile_function, indent
from symdl.errors import BudgetExceeded, UnsupportedError
from symdl.verify import Evidence, Report, gradcheck
from symdl.verify.precise import Evaluator, NotAdmissible

__all__ = ["block_function", "block_wiring", "check_code", "check_rule", "draw", "draw_exact"]

#: a rule entry agrees with SymPy's derivative when they differ by less than this,
#: relative to 1 + |derivative|, at 30 significant digits
AGREE = mpmath.mpf(10) ** -20
#: differences with more operations than this are not expanded (expanding a softmax of
#: products can take minutes) but judged at the random points
EXPAND_LIMIT = 2500


def draw(slot: Slot, batch: int | None, rng: np.random.Generator) -> np.ndarray:
    """A random float64 instance of ``slot`` (with a leading batch axis when ``batch``)."""
    shape = slot.shape if batch is None else (batch, *slot.shape)
    if slot.init == "zeros":
        return np.zeros(shape)
    if slot.init == "ones":
        return np.ones(shape)
    if slot.init == "one_hot":
        k = shape[-1]
        return np.eye(k)[rng.integers(0, k, size=shape[:-1])]
    if slot.init == "probabilities":
        return rng.uniform(0.05, 0.95, size=shape)
    if slot.init == "mask":
        return (rng.uniform(size=shape) < slot.keep).astype(float)
    if slot.init == "indices":
        return rng.integers(0, slot.fan_in, size=shape).astype(float)
    if slot.init == "uniform":
        return rng.uniform(0.5, 1.5, size=shape)
    return rng.standard_normal(shape) / np.sqrt(max(slot.fan_in, 1))


def draw_exact(slot: Slot, batch: int | None, rng: random.Random) -> np.ndarray:
    """An exact (rational) instance of a data slot, for the symbolic check."""
    shape = slot.shape if batch is None else (batch, *slot.shape)
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        out[index] = sp.Rational(rng.randint(1, 9), 10)
    if slot.init == "one_hot":
        k = shape[-1]
        for index in np.ndindex(*shape[:-1]):
            hot = rng.randrange(k)
            for j in range(k):
                key = (*index, j)
                out[key] = sp.Integer(int(j == hot))
    elif slot.init == "mask":
        for index in np.ndindex(*shape):
            out[index] = sp.Integer(rng.random() < slot.keep)
    elif slot.init == "indices":
        for index in np.ndindex(*shape):
            out[index] = sp.Integer(rng.randrange(slot.fan_in))
    elif slot.init == "normal":
        for index in np.ndindex(*shape):
            out[index] = sp.Rational(rng.randint(-9, 9), 7)
    return out


@dataclass(frozen=True)
class _Problem:
    block: Block
    shape: Shape
    batch: int
    seed: int


def check_rule(
    block: Block, shape: Shape, *, batch: int = 2, seed: int = 0, timeout: float = 60.0
) -> Report:
    """The block's backward rule against SymPy's entrywise derivative (module doc)."""
    problem = _Problem(block, tuple(shape), batch, seed)
    claim = f"backward rule of {block.describe()} on input {_shape_text(problem)}"
    try:
        return run_with_budget(_check_rule, problem, claim, timeout=timeout)
    except BudgetExceeded:
        return Report(
            "undecided",
            claim,
            "symbolic",
            (Evidence("symbolic", "timeout", f"no answer within {timeout:g} s"),),
        )


def _shape_text(p: _Problem) -> str:
    return "×".join(str(s) for s in (p.batch, *p.shape))


def _check_rule(p: _Problem, claim: str) -> Report:
    block, shape = p.block, p.shape
    rng = random.Random(p.seed)
    x = symbols("x", (p.batch, *shape))
    params = {s.name: symbols(s.name.lower() + "p", s.shape) for s in block.parameters(shape)}
    data = {s.name: draw_exact(s, p.batch, rng) for s in block.data(shape)}
    if _integer_input(block):
        x = draw_exact(
            Slot("x", shape, "", "", init="indices", fan_in=_vocabulary(block)), p.batch, rng
        )
    y = block.forward_explicit(x, params, data)
    if block.is_loss:
        gy: Any = sp.Symbol("g", real=True)
        s = gy * y
    else:
        gy = symbols("g", (p.batch, *block.output_shape(shape)))
        s = sp.Add(*[a * b for a, b in zip(np.asarray(gy).flat, np.asarray(y).flat)])
    gx, grads = block.backward_explicit(x, params, data, gy)
    targets: list[tuple[str, Any, Any]] = []
    if not _integer_input(block):
        targets.append(("x", x, gx))
    targets += [(name, params[name], grads.get(name)) for name in params]
    free = sorted(s.free_symbols, key=str)
    values = [{v: sp.Float(rng.uniform(-1.5, 1.5), 30) for v in free} for _ in range(3)]
    # one evaluator per point: its memo shares the subexpressions common to all entries
    evaluators = [
        Evaluator({v: mpmath.mpf(x._mpf_) for v, x in point.items()}, dps=30) for point in values
    ]
    proved = numeric = 0
    worst = 0.0
    for name, var, rule in targets:
        if rule is None:
            return _refuted(claim, f"the rule gives no gradient for {name}")
        rule = np.asarray(rule, dtype=object)
        if rule.shape != var.shape:
            return _refuted(
                claim, f"∂L/∂{name} has shape {rule.shape}, {name} has shape {var.shape}"
            )
        for index in np.ndindex(*var.shape):
            derivative = sp.diff(s, var[index])
            entry = _expression(rule[index])
            difference = derivative - entry
            if sp.count_ops(difference) <= EXPAND_LIMIT and sp.expand(difference) == 0:
                proved += 1
                continue
            numeric += 1
            for point, evaluate in zip(values, evaluators):
                exact, d = _values(derivative, entry, point, evaluate)
                scale = 1 + abs(exact)
                error = float(d / scale)
                worst = max(worst, error)
                if not d <= AGREE * scale:
                    return _refuted(
                        claim,
                        f"∂L/∂{name}{list(index)}: the rule differs from SymPy's derivative "
                        f"by {float(d):.3g} at a random point",
                    )
    total = proved + numeric
    sizes = _shape_text(p)
    if numeric == 0:
        evidence = Evidence(
            "symbolic", "proved", f"all {total} entries: difference expands to 0", sizes=sizes
        )
        return Report("proved", claim, "symbolic", (evidence,))
    evidence = Evidence(
        "symbolic+high-precision",
        "agree",
        f"{proved} of {total} entries expand to 0; {numeric} agree at 3 random points to 30 digits",
        points=3,
        sizes=sizes,
        worst_error=worst,
        tolerance=float(AGREE),
    )
    return Report("verified", claim, "symbolic+high-precision", (evidence,))


def _expression(value: Any) -> sp.Basic:
    """An entry of a rule's object array as a SymPy expression (a NumPy zero is an int)."""
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, (int, np.integer)):
        return sp.Integer(int(value))
    return sp.Float(float(value), 30)


def _values(
    derivative: sp.Basic, rule: sp.Basic, point: Mapping[sp.Symbol, sp.Float], evaluate: Evaluator
) -> tuple[Any, Any]:
    """SymPy's derivative and |derivative − rule| at ``point``, to 30 digits (through
    SymPy's own ``evalf`` for what the evaluator does not know)."""
    try:
        exact, claimed = evaluate(derivative), evaluate(rule)
        return exact, abs(exact - claimed)
    except (UnsupportedError, NotAdmissible, TypeError, ValueError):
        exact = sp.N(derivative.xreplace(point), 30)
        return exact, abs(sp.N((derivative - rule).xreplace(point), 30))


def _refuted(claim: str, detail: str) -> Report:
    return Report(
        "refuted", claim, "symbolic", (Evidence("symbolic", "differ", detail),), diagnosis=(detail,)
    )


def _integer_input(block: Block) -> bool:
    return bool(getattr(block, "integer_input", False))


def _vocabulary(block: Block) -> int:
    return int(getattr(block, "vocabulary", 1))


def block_function(
    block: Block, shape: Shape, *, variant: str | None = None
) -> tuple[str, Callable[..., Any]]:
    """Source and callable ``run(x, params, data, gy) -> (y, gx, grads)`` of one block's
    generated forward and backward code (with the backward lines of one of its
    :meth:`~Block.variants` instead, when ``variant`` names it)."""
    wiring = block_wiring(block, shape)
    support = block.support()
    backward = (
        block.backward_code(wiring, shape)
        if variant is None
        else block.variants(wiring, shape)[variant]
    )
    body = ["grads = {}", *block.forward_code(wiring, shape), *backward]
    body.append(f"return y, {'gx' if wiring.gx else 'None'}, grads")
    source = "\n\n".join(
        [*support.values(), "\n".join(["def run(x, params, data, gy):", *indent(body)])]
    )
    return source + "\n", compile_function(source, "run")


def block_wiring(block: Block, shape: Shape) -> Wiring:
    """The names :func:`block_function`'s code uses: ``params["W"]``, ``grads["W"]``, …"""
    return Wiring(
        params={s.name: f"params[{s.name!r}]" for s in block.parameters(shape)},
        grads={s.name: f"grads[{s.name!r}]" for s in block.parameters(shape)},
        data={s.name: f"data[{s.name!r}]" for s in block.data(shape)},
        gx="" if _integer_input(block) else "gx",
    )


def check_code(block: Block, shape: Shape, *, batch: int = 3, seed: int = 0) -> Report:
    """The generated backward code against finite differences of the forward code."""
    rng = np.random.default_rng(seed)
    slots = block.parameters(shape)
    data = {s.name: draw(s, batch, rng) for s in block.data(shape)}
    if _integer_input(block):
        x = draw(Slot("x", shape, "", "", init="indices", fan_in=_vocabulary(block)), batch, rng)
    else:
        x = rng.standard_normal((batch, *shape))
    values = [draw(s, None, rng) for s in slots]
    out_shape = block.output_shape(shape)
    gy = 1.0 if block.is_loss else rng.standard_normal((batch, *out_shape))
    _, run = block_function(block, shape)
    names = [s.name for s in slots]

    def f(x: np.ndarray, *theta: np.ndarray) -> float:
        y, _, _ = run(x, dict(zip(names, theta)), data, gy)
        return float(np.sum(np.asarray(gy) * y))

    def grad_f(x: np.ndarray, *theta: np.ndarray) -> tuple[np.ndarray, ...]:
        _, gx, grads = run(x, dict(zip(names, theta)), data, gy)
        return ((gx,) if gx is not None else ()) + tuple(grads[n] for n in names)

    first = 1 if _integer_input(block) else 0
    wrt = list(range(first, 1 + len(values)))
    if not wrt:
        raise ValueError(f"{block.describe()} has nothing to differentiate")
    return gradcheck(f, grad_f, x, *values, wrt=wrt)


def explicit_inputs(block: Block, shape: Shape, batch: int) -> Mapping[str, Any]:
    """Object arrays of symbols for the input and each parameter (for documentation)."""
    out = {"x": symbols("x", (batch, *shape))}
    out.update({s.name: symbols(s.name.lower() + "p", s.shape) for s in block.parameters(shape)})
    return out
