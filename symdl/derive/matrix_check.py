r"""The check of the matrix engine's gradients, in time linear in the size of the graph.

Three independent pieces of evidence, each at the concrete sizes of
:func:`symdl.explicit.instances` (two sizes when dimensions are symbolic, so that two
confused dimensions differ):

* **symbolic** — the proof by induction over the reverse sweep
  (:mod:`symdl.derive.matrix_induction`): every adjoint equals the scalar reverse
  accumulation of SymPy's partial derivatives of the let-form. It runs in a child process
  under the time budget (:func:`symdl.budget.run_with_budget`).
* **high-precision** — the engine's gradient and the true one (reverse accumulation in
  let-form, :mod:`symdl.derive.matrix_letvalues`) at random admissible points, at
  ``precision`` digits; a difference is confirmed at twice the digits before it refutes.
* **generated-code** — the generated NumPy gradient against finite differences of the
  function's own generated code (:func:`symdl.verify.gradcheck.gradcheck`).

Why not the entrywise expansion of the verification core (``check_derivative``): written
out entry by entry, a depth-:math:`L` network is a tree of size about
:math:`\text{width}^L`, so that check takes seconds at depth 4 and runs out of any budget
at depth 5, while every piece above costs time linear in the number of nodes.

The verdict: ``refuted`` when the values or the generated code differ; ``proved`` when the
induction succeeded at every size and the values and the code agree; ``verified`` when
only the induction is missing; ``undecided`` otherwise, with the reason. With symbolic
dimensions, ``proved`` means: the engine's rules are identities for every size, and the
induction at the stated sizes shows that they were applied correctly.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from symdl.budget import run_with_budget
from symdl.codegen import numpy_function
from symdl.derive.matrix_code import GradientCode, integer_sizes
from symdl.derive.matrix_induction import prove_sweep
from symdl.derive.matrix_letform import LetForm, let_form, let_instances
from symdl.derive.matrix_letvalues import let_point, sweep_program, sweep_values
from symdl.derive.matrix_rules import Sweep
from symdl.errors import BudgetExceeded, SymdlError, UnsupportedError
from symdl.explicit import Instance
from symdl.shapes import Scope
from symdl.verify.admissible import NoAdmissiblePoint
from symdl.verify.gradcheck import gradcheck
from symdl.verify.precise import NotAdmissible
from symdl.verify.report import Evidence, Report

__all__ = ["check_gradients"]


def check_gradients(
    fx: sp.Basic,
    names: tuple[str, ...],
    sweep: Sweep,
    code: GradientCode,
    scope: Scope,
    claim: str,
    *,
    points: int,
    precision: int,
    timeout: float,
    seed: int,
) -> Report:
    """Check every gradient of ``sweep`` (of ``fx`` by ``names``) as the module describes."""
    arrays = {m.name for m in fx.atoms(sp.MatrixSymbol)}
    try:
        sizes = let_instances(scope, arrays)
    except UnsupportedError as err:
        return Report("undecided", claim, "none", notes=(str(err),))
    targets = {scope.symbol(n) for n in names}
    evidence: list[Evidence] = []
    proved, agree, differ = True, True, False
    forms: list[LetForm] = []
    spent = 0.0  # the symbolic steps share the budget in turn
    for k, inst in enumerate(sizes):
        try:
            lf = let_form(fx, inst, targets)
        except (UnsupportedError, TypeError, ValueError) as err:
            return Report("undecided", claim, "none", tuple(evidence), notes=(str(err),))
        forms.append(lf)
        numeric = _values(lf, sweep, points, precision, seed + k)
        evidence.append(numeric)
        agree &= numeric.outcome == "agree"
        differ |= numeric.outcome == "differ"
        start = time.monotonic()
        symbolic = _induction(fx, sweep, inst, timeout - spent)
        spent += time.monotonic() - start
        evidence.append(symbolic)
        proved &= symbolic.outcome == "proved"
    generated = _code_check(fx, names, code, forms[-1], seed)
    evidence.append(generated)
    if differ or generated.outcome == "differ":
        return Report("refuted", claim, "let-form reverse accumulation", tuple(evidence))
    if not agree or generated.outcome != "agree":
        notes = ("the values or the generated code could not be checked",)
        return Report("undecided", claim, "none", tuple(evidence), notes=notes)
    if proved:
        evidence.insert(
            0,
            Evidence(
                "matrix-calculus",
                "proved",
                "reverse-mode rules, each an identity for every size"
                + (" (symbolic dimensions)" if scope.dims() else ""),
            ),
        )
        method = (
            "matrix calculus rules, confirmed by induction over the reverse sweep at "
            "concrete sizes and by finite differences of the generated code"
        )
        step_notes: tuple[str, ...] = ()
        if fx.has(sp.Heaviside, sp.sign):
            step_notes = (
                "the derivative of a step (heaviside, sign) is taken as 0, its value off the "
                "jump; at the jump itself the function has no derivative",
            )
        return Report("proved", claim, method, tuple(evidence), notes=step_notes)
    return Report(
        "verified", claim, "high-precision evaluation and finite differences", tuple(evidence)
    )


def _induction(fx: sp.Basic, sweep: Sweep, inst: Instance, timeout: float) -> Evidence:
    if timeout <= 0:
        return Evidence("symbolic", "timeout", "induction over the reverse sweep: no time left")
    try:
        result = run_with_budget(prove_sweep, fx, sweep, inst, timeout=timeout)
    except BudgetExceeded as err:
        return Evidence("symbolic", "timeout", f"induction over the reverse sweep: {err}")
    except SymdlError as err:
        return Evidence("symbolic", "inconclusive", f"induction over the reverse sweep: {err}")
    outcome = "proved" if result.proved else "inconclusive"
    return Evidence("symbolic", outcome, f"{result.detail} ({result.sizes})", sizes=result.sizes)


def _values(lf: LetForm, sweep: Sweep, points: int, precision: int, seed: int) -> Evidence:
    """The engine's gradients against reverse accumulation at ``points`` random points."""
    rng = np.random.default_rng(seed)
    tolerance = 10.0 ** (-(precision // 2))
    worst = 0.0
    try:
        program = sweep_program(lf, sweep)
        for _ in range(points):
            point = let_point(lf, rng=rng)
            at = sweep_values(program, point, precision=precision)
            bad = _worst(at.engine, at.true)
            if bad > tolerance:  # confirmed at twice the digits before it refutes
                again = sweep_values(program, point, precision=2 * precision)
                bad = _worst(again.engine, again.true)
                if bad > tolerance:
                    where = ", ".join(
                        f"{w}: claimed {mpmath.nstr(again.engine[w][0], 8)}, true "
                        f"{mpmath.nstr(again.true[w][0], 8)} (first entry)"
                        for w in again.engine
                        if _worst({w: again.engine[w]}, {w: again.true[w]}) > tolerance
                    )
                    return Evidence(
                        "high-precision",
                        "differ",
                        f"the gradient differs from reverse accumulation in let-form; {where}",
                        points=1,
                        sizes=lf.instance.describe(),
                        worst_error=bad,
                        tolerance=tolerance,
                    )
            worst = max(worst, bad)
    except (NoAdmissiblePoint, NotAdmissible, UnsupportedError) as err:
        return Evidence("high-precision", "inconclusive", str(err), sizes=lf.instance.describe())
    return Evidence(
        "high-precision",
        "agree",
        f"every gradient equals reverse accumulation in let-form at {precision} digits "
        f"({lf.instance.describe()})",
        points=points,
        sizes=lf.instance.describe(),
        worst_error=worst,
        tolerance=tolerance,
    )


def _worst(engine: Mapping[str, Any], true: Mapping[str, Any]) -> float:
    worst = 0.0
    for w, got in engine.items():
        for a, b in zip(got, true[w]):
            scale = max(1, abs(a), abs(b))
            worst = max(worst, float(abs(a - b) / scale))
    return worst


def _code_check(
    fx: sp.Basic, names: Sequence[str], code: GradientCode, lf: LetForm, seed: int
) -> Evidence:
    """The generated gradient code against finite differences of the function's own code."""
    inst = lf.instance
    try:
        point = let_point(lf, rng=np.random.default_rng(seed + 1))
        values: dict[str, Any] = {}
        for n in code.names:
            m = inst.entries.get(n)
            if m is not None:
                values[n] = np.array(
                    [[float(point[m[i, j]]) for j in range(m.cols)] for i in range(m.rows)]
                )
            else:
                values[n] = float(point[inst.scope.symbol(n)])  # type: ignore[index,arg-type]
        forward = numpy_function(
            fx.xreplace(inst.sizes), list(code.names), sizes=integer_sizes(inst.sizes)
        )
        order = list(code.names)
        targets = [order.index(w) for w in names]

        def f_of(*args: Any) -> float:
            return float(np.asarray(forward(*args)).reshape(()))

        def grad_of(*args: Any) -> tuple[Any, ...]:
            out = code(*args)
            return tuple(
                np.asarray(out[w], dtype=float).reshape(np.shape(args[order.index(w)]))
                for w in names
            )

        r = gradcheck(f_of, grad_of, *[values[n] for n in order], wrt=targets)
    except (UnsupportedError, NoAdmissiblePoint, FloatingPointError) as err:
        return Evidence("generated-code", "inconclusive", str(err))
    outcome = {"verified": "agree", "refuted": "differ"}.get(r.verdict, "inconclusive")
    worst = max((e.worst_error or 0.0 for e in r.evidence), default=None)
    return Evidence(
        "generated-code",
        outcome,
        "the generated gradient code against finite differences of the function's code "
        f"({r.method})",
        points=1,
        sizes=inst.describe(),
        worst_error=worst,
    )
