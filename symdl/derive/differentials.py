r"""Matrix gradients derived by differentials, every line checked.

The derivation the Matrix Cookbook (Petersen & Pedersen, 2012, sec. 2) and Magnus &
Neudecker (*Matrix Differential Calculus*, 3rd ed., 2019, ch. 8-9) teach: write
:math:`\mathrm{d}L`, expand it with the rules of the differential
(:mod:`symdl.derive.differentials_rules`) until only :math:`\mathrm{d}W` is left, bring it
to :math:`\mathrm{d}L = \operatorname{tr}(G^\top\mathrm{d}W)` with the trace rules
(:mod:`symdl.derive.differentials_trace`) and read off :math:`\partial L/\partial W = G`
(the first identification theorem; denominator layout, ``G`` has the shape of ``W``).

Every line is an identity in ``W`` and the direction ``dW``; :meth:`DifferentialDerivation.verify`
checks each one entrywise (:mod:`symdl.derive.differentials_check`), checks ``G`` against
the entrywise derivative (:func:`symdl.verify.check_derivative`) and against the matrix
engine's gradient (:func:`symdl.derive.matrix.matrix_gradient`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sympy as sp

from symdl.budget import DEFAULT_TIMEOUT
from symdl.derivation import Check, Derivation, Step, mathematical_verdict
from symdl.derive.differentials_check import check_line
from symdl.derive.differentials_nodes import Direction, d, differentials_in
from symdl.derive.differentials_rules import Move, expand
from symdl.derive.differentials_trace import collect, identify, next_move
from symdl.derive.matrix import matrix_gradient, wrt_names
from symdl.errors import BudgetExceeded, ParseError, ShapeError, SymdlError, UnsupportedError
from symdl.ops import is_array
from symdl.parse import as_expression
from symdl.shapes import Scope, format_shape, shape_of
from symdl.verify import check_derivative, check_identity
from symdl.verify.report import Report

__all__ = ["DifferentialDerivation", "derive_by_differentials"]

_RANK = {"proved": 0, "verified": 1, "undecided": 2, "refuted": 3}
#: Rewrites allowed before the derivation is abandoned (no input here comes near it).
MAX_STEPS = 200


@dataclass(frozen=True)
class DifferentialDerivation(Derivation):
    r"""A :class:`~symdl.derivation.Derivation` of :math:`\partial L/\partial W` by differentials.

    ``wrt`` is the matrix symbol ``W`` and ``direction`` its differential ``dW``; the
    steps run from :attr:`start` (:math:`\mathrm{d}L`) to
    :math:`\operatorname{tr}(G^\top\mathrm{d}W)` with ``G = result``. ``engine`` is the
    check that ``result`` equals the matrix engine's gradient; the derivation is
    :attr:`sound` only when every step, ``final`` and ``engine`` passed.
    """

    scope: Scope = field(default_factory=Scope)
    direction: Direction | None = None
    engine: Report | None = None

    @property
    def start(self) -> sp.Basic:
        r""":math:`\mathrm{d}L`, the line the first step starts from."""
        assert self.direction is not None
        return d(self.expr, self.wrt, self.direction)  # type: ignore[arg-type]

    @property
    def trace_form(self) -> sp.Basic:
        r""":math:`\operatorname{tr}(G^\top\mathrm{d}W)`, the line the last step must reach."""
        return sp.Trace(sp.MatMul(sp.Transpose(self.result), self.direction))

    @property
    def checked(self) -> bool:
        return super().checked and self.engine is not None

    @property
    def verdict(self) -> str:
        base = super().verdict
        if base == "unchecked" or self.engine is None:
            return "unchecked"
        return max(base, mathematical_verdict(self.engine), key=lambda v: _RANK.get(v, 3))

    def verify(
        self,
        *,
        points: int = 8,
        precision: int = 30,
        timeout: float = DEFAULT_TIMEOUT,
        seed: int = 0,
    ) -> DifferentialDerivation:
        """This derivation with every line, every rule's claim, the result and its agreement
        with the matrix engine checked (``timeout`` seconds for each check)."""
        assert self.direction is not None
        opts: dict[str, Any] = {
            "points": points,
            "precision": precision,
            "timeout": timeout,
            "seed": seed,
        }
        previous = [self.start, *(s.after for s in self.steps[:-1])]
        steps = []
        for s, p in zip(self.steps, previous):
            line = check_line(s.before, s.after, self.scope, self.direction, **opts)
            claim = None
            if s.claim is not None:
                claim = check_line(s.claim[0], s.claim[1], self.scope, self.direction, **opts)
            steps.append(replace(s, check=Check(line, claim), detached=s.before != p))
        if steps and steps[-1].after != self.trace_form:
            steps[-1] = replace(steps[-1], detached=True)
        shapes, assume = self.scope.shapes, self.scope.assume
        name = self.wrt.name
        try:
            final = check_derivative(
                self.expr, name, self.result, shapes=shapes, assume=assume, **opts
            )
        except (SymdlError, ValueError, TypeError, ArithmeticError) as err:
            final = _failed_check(f"d/d{name} {self.expr} == {self.result}", err)
        claim_text = f"{self.result} == the matrix engine's gradient"
        try:
            engine = matrix_gradient(self.expr, name, shapes=shapes, assume=assume, check=False)
            agreement = check_identity(
                self.result, engine.gradients[name], shapes=shapes, assume=assume, **opts
            )
        except (SymdlError, ValueError, TypeError, ArithmeticError) as err:
            agreement = _failed_check(claim_text, err)
        return replace(self, steps=tuple(steps), final=final, engine=agreement)

    # ---- rendering ----------------------------------------------------------------------

    def latex(self, *, standalone: bool = False) -> str:
        from symdl.derive.differentials_render import differential_latex

        return differential_latex(self, standalone=standalone)

    def markdown(self) -> str:
        from symdl.derive.differentials_render import differential_markdown

        return differential_markdown(self)

    def text(self, *, width: int = 100) -> str:
        from symdl.derive.differentials_render import differential_text

        return differential_text(self, width=width)

    def html(self) -> str:
        from symdl.derive.differentials_render import differential_html

        return differential_html(self)

    def _repr_latex_(self) -> str:
        return self.latex(standalone=False)


def _failed_check(claim: str, err: Exception) -> Report:
    return Report(
        "undecided",
        claim,
        "none",
        notes=(f"the checker failed on this claim: {type(err).__name__}: {err}",),
    )


def _step(move: Move, line: sp.Basic) -> Step:
    whole = move.node == line
    after = move.new if whole else line.xreplace({move.node: move.new})
    return Step(
        rule=move.rule,
        formula=move.formula,
        before=line,
        after=after,
        bindings=move.bindings,
        claim=None if whole else (move.node, move.new),
        note=move.note,
    )


def derive_by_differentials(
    expr: object,
    wrt: str,
    *,
    shapes: Mapping[str, Any] | None = None,
    assume: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> DifferentialDerivation:
    r"""The gradient of the scalar ``expr`` by the array ``wrt``, derived by differentials.

    ``expr`` is input-language text (or a SymPy expression), ``shapes`` and ``assume``
    declare its arrays as for :func:`~symdl.derive.matrix.matrix_gradient`. The steps are
    built within ``timeout`` seconds (:class:`~symdl.errors.BudgetExceeded` otherwise) and
    are unchecked; call :meth:`DifferentialDerivation.verify`.

    >>> dd = derive_by_differentials("sum((W @ x - y)**2)", "W",
    ...                              shapes={"W": "3x2", "x": "2", "y": "3"})
    >>> dd.result
    2*(W*x - y)*x.T
    """
    scope = Scope.build(shapes, assume)
    fx = as_expression(expr, scope)
    names = wrt_names(wrt)
    if len(names) != 1:
        raise ParseError(f"derivation by differentials takes one variable, got {wrt!r}")
    (name,) = names
    if not scope.shape(name):
        raise UnsupportedError(
            f"derivation by differentials is for a vector or matrix variable; {name} is a "
            "scalar (declare its shape, or use the scalar rules: symdl derive without --by)"
        )
    if is_array(fx) and shape_of(fx) != (1, 1):
        raise ShapeError(
            f"the gradient needs a scalar function; this one has shape "
            f"{format_shape(shape_of(fx))} (reduce it first, e.g. sum(...))"
        )
    var = scope.symbol(name)
    if not fx.has(var):
        raise ParseError(f"wrt names {name!r}, which the function does not use")
    direction = Direction(f"d{name}", *var.shape)
    if any(m.name == direction.name for m in fx.atoms(sp.MatrixSymbol)) or any(
        getattr(s, "name", None) == direction.name for s in fx.free_symbols
    ):
        raise UnsupportedError(
            f"the function uses the name {direction.name}, which stands for the differential "
            f"of {name} here; rename it"
        )
    deadline = time.monotonic() + timeout
    line = d(fx, var, direction)
    steps: list[Step] = []

    def record(move: Move) -> None:
        nonlocal line
        if time.monotonic() > deadline:
            raise BudgetExceeded(f"the derivation did not finish within {timeout:g} s")
        if len(steps) >= MAX_STEPS:
            raise UnsupportedError(f"the derivation needs more than {MAX_STEPS} steps")
        steps.append(_step(move, line))
        line = steps[-1].after

    while nodes := differentials_in(line):
        record(expand(nodes[0], var, direction))
    while (move := next_move(line, direction)) is not None:
        record(move)
    gathered = collect(line, direction)
    if gathered is not None:
        record(gathered)
    final_move, gradient = identify(line, direction)
    record(final_move)
    return DifferentialDerivation(
        expr=fx,
        wrt=var,
        steps=tuple(steps),
        result=gradient,
        scope=scope,
        direction=direction,
    )
