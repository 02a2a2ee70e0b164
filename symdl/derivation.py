r"""Derivations: a claim :math:`\frac{d}{dx} f = f'` and the ordered, named steps reaching it.

A :class:`Step` rewrites the whole line: ``before`` and ``after`` are expressions that may
hold unevaluated derivatives (``sympy.Derivative``), and ``claim`` is the rule's own claim,
the one sub-expression it rewrote (``d/dx(u·v) = u'·v + u·v'`` with ``u``, ``v`` bound).
:meth:`Derivation.verify` checks, with :func:`symdl.verify.check_identity`, both equalities
of every step (a derivative node stands for its value), and the final claim with
:func:`symdl.verify.check_derivative`. A step whose check is not ``proved`` or
``verified`` is *failed*, and a derivation with a failed or unchecked step is not
:attr:`~Derivation.sound`: renderers mark the step and never present the result as shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import sympy as sp

from symdl.budget import DEFAULT_TIMEOUT
from symdl.errors import UnsupportedError
from symdl.verify import Report, check_derivative, check_identity

__all__ = [
    "Check",
    "Derivation",
    "Step",
    "StepStatus",
    "evaluate_derivatives",
    "mathematical_verdict",
]

StepStatus = Literal["unchecked", "proved", "verified", "failed", "undecided"]
_RANK = {"proved": 0, "verified": 1, "undecided": 2, "refuted": 3}


def evaluate_derivatives(expr: sp.Basic) -> sp.Basic:
    """``expr`` with every unevaluated ``Derivative`` node replaced by its value.

    Values are SymPy's, of the function with every kink of constant sign settled
    (:func:`~symdl.verify.sign_region.settled_kinks`: the same function, whose derivative
    SymPy may write where it cannot for the original); the Dirac delta of a step
    function's derivative is 0 away from the jump, and the checks sample only away from
    kinks and jumps.
    """
    from symdl.verify.sign_region import settled_kinks

    if not expr.has(sp.Derivative):
        return expr

    def value(n: sp.Derivative) -> sp.Basic:
        return sp.Derivative(settled_kinks(n.expr), *n.variable_count).doit(deep=False)

    done = expr.replace(lambda n: isinstance(n, sp.Derivative), value)
    # a step function's derivative is 0 away from its jump, where every check samples
    return done.replace(lambda n: isinstance(n, sp.DiracDelta), lambda n: sp.Integer(0))


def _holding(expr: sp.Basic, condition: sp.Basic | None) -> tuple[sp.Basic, sp.Basic | None]:
    """``expr`` restricted to where ``condition`` holds.

    ``x > 0`` and ``x < 0`` become a sign assumption on ``x`` (the checker samples only
    there and can prove); any other condition keeps the expression where it holds and
    is ``0`` elsewhere, so both sides agree trivially outside the case.
    """
    if condition is None:
        return expr, None
    if isinstance(condition, (sp.StrictGreaterThan, sp.StrictLessThan)):
        lhs, rhs = condition.lhs, condition.rhs
        if (isinstance(lhs, sp.Symbol) and rhs == 0) or (isinstance(rhs, sp.Symbol) and lhs == 0):
            var = lhs if isinstance(lhs, sp.Symbol) else rhs
            positive = (lhs is var) == isinstance(condition, sp.StrictGreaterThan)
            signed = (
                sp.Symbol(var.name, positive=True)
                if positive
                else sp.Symbol(var.name, negative=True)
            )
            return expr.xreplace({var: signed}), None
    return sp.Piecewise((expr, condition), (0, True)), condition


def mathematical_verdict(report: Report) -> str:
    """The verdict on the mathematics of an identity.

    :func:`~symdl.verify.check_identity` also compares the float64 code generated for
    both sides and withholds its verdict when that code disagrees with the high-precision
    values. A line of a derivation is mathematics, not code: ``(e^x + e^{-x})^2 -
    (e^x - e^{-x})^2`` cancels catastrophically in float64 at ``x = 40`` yet equals
    ``4``. So a report that is ``undecided`` only for that reason, with the difference
    reduced to 0 symbolically and agreement in high precision, is ``proved`` here.
    """
    if report.verdict != "undecided":
        return report.verdict
    methods = {(e.method, e.outcome) for e in report.evidence}
    if ("symbolic", "proved") in methods and ("high-precision", "agree") in methods:
        return "proved"
    return report.verdict


def _identity(
    lhs: sp.Basic,
    rhs: sp.Basic,
    options: dict[str, object],
    memo: dict[tuple[sp.Basic, sp.Basic], Report] | None = None,
) -> Report:
    """``check_identity``; a checker that fails on the claim leaves it ``undecided``.

    ``memo`` holds the reports already made with the same ``options`` (one derivation's):
    the lines of consecutive steps are often the same equality once their derivatives
    are evaluated, and the same check gives the same report.
    """
    if memo is not None:
        if (lhs, rhs) not in memo:
            memo[(lhs, rhs)] = _identity(lhs, rhs, options)
        return memo[(lhs, rhs)]
    try:
        return check_identity(lhs, rhs, **options)  # type: ignore[arg-type]
    except (ValueError, TypeError, ArithmeticError, UnsupportedError) as err:
        return Report(
            verdict="undecided",
            claim=f"{lhs} == {rhs}",
            method="none",
            notes=(f"the checker failed on this claim: {type(err).__name__}: {err}",),
        )


@dataclass(frozen=True)
class Check:
    """What verification found for one step: the line and the rule's own claim."""

    line: Report
    claim: Report | None

    @property
    def verdict(self) -> str:
        reports = [self.line] + ([self.claim] if self.claim is not None else [])
        return max((mathematical_verdict(r) for r in reports), key=_RANK.__getitem__)


@dataclass(frozen=True)
class Step:
    r"""One move: the rule by name and in general, its bindings, and the line before/after.

    ``claim`` is the rule's own claim ``(lhs, rhs)`` about the sub-expression it rewrote;
    ``condition`` restricts the step to a case (``x > 0``); ``cases`` are the case
    sub-steps of a rule applied case by case (ReLU, ``Max``, ``Piecewise``), and
    ``kinks`` state where the cases meet and the function is not differentiable.
    """

    rule: str
    formula: str  # the general rule in LaTeX, e.g. "(uv)' = u'v + uv'"
    before: sp.Basic
    after: sp.Basic
    bindings: tuple[tuple[str, sp.Basic], ...] = ()
    claim: tuple[sp.Basic, sp.Basic] | None = None
    condition: sp.Basic | None = None
    note: str = ""
    cases: tuple[Step, ...] = ()
    kinks: tuple[str, ...] = ()
    fallback: bool = False  # the value came from SymPy, not from a named rule
    check: Check | None = None
    detached: bool = False  # set by verification: ``before`` is not the previous line

    @property
    def problem(self) -> str:
        """Why the step failed, in words (empty unless it failed)."""
        if self.detached:
            return "does not continue the previous line"
        if self.status == "failed":
            return "its check refuted it"
        return ""

    @property
    def status(self) -> StepStatus:
        """``unchecked``, ``proved``, ``verified``, ``undecided`` or ``failed`` (refuted)."""
        if self.detached:
            return "failed"
        if self.check is None:
            return "unchecked"
        worst = max(
            [self.check.verdict, *(c.status for c in self.cases)],
            key=lambda v: {"unchecked": 2, "failed": 3}.get(v, _RANK.get(v, 3)),
        )
        if worst in ("refuted", "failed"):
            return "failed"
        return worst  # type: ignore[return-value]

    def verify(
        self, *, memo: dict[tuple[sp.Basic, sp.Basic], Report] | None = None, **options: object
    ) -> Step:
        """This step with its check (and its cases' checks) filled in.

        ``memo`` (optional) keeps the reports of equalities already checked with the same
        ``options``, so that an equality met again is not checked again.
        """
        lhs, cond = _holding(evaluate_derivatives(self.before), self.condition)
        rhs, _ = _holding(evaluate_derivatives(self.after), cond)
        line = _identity(lhs, rhs, options, memo)
        claim = None
        if self.claim is not None:
            c_lhs, c_cond = _holding(evaluate_derivatives(self.claim[0]), self.condition)
            c_rhs, _ = _holding(evaluate_derivatives(self.claim[1]), c_cond)
            claim = _identity(c_lhs, c_rhs, options, memo)
        cases = tuple(c.verify(memo=memo, **options) for c in self.cases)
        return replace(self, check=Check(line, claim), cases=cases)


@dataclass(frozen=True)
class Derivation:
    r"""The derivative of ``expr`` by ``wrt`` and the steps that reach ``result``.

    ``final`` is the check that ``result`` is the derivative (``check_derivative``); it is
    ``None`` until :meth:`verify`. The derivation is :attr:`sound` when that check and
    every step passed (``proved`` or ``verified``) and the steps form one chain: each
    starts from the line the previous one ended with, from ``d/dx expr`` to ``result``
    (a step that does not is failed, however true its own equality).
    """

    expr: sp.Basic
    wrt: sp.Symbol
    steps: tuple[Step, ...]
    result: sp.Basic
    notes: tuple[str, ...] = ()
    final: Report | None = None

    @property
    def checked(self) -> bool:
        return self.final is not None and all(s.check is not None for s in self.steps)

    @property
    def failed_steps(self) -> tuple[int, ...]:
        """1-based numbers of the failed steps."""
        return tuple(i for i, s in enumerate(self.steps, 1) if s.status == "failed")

    @property
    def verdict(self) -> str:
        """The weakest verdict over the steps and the final claim; ``unchecked`` before
        :meth:`verify`."""
        if not self.checked:
            return "unchecked"
        assert self.final is not None
        verdicts = [mathematical_verdict(self.final)]
        for s in self.steps:
            st = s.status
            verdicts.append("refuted" if st == "failed" else st)
        return max(verdicts, key=lambda v: _RANK.get(v, 3))

    @property
    def sound(self) -> bool:
        return self.verdict in ("proved", "verified")

    @property
    def fallbacks(self) -> tuple[str, ...]:
        """Rules that fell back to SymPy's derivative (should be empty)."""
        return tuple(s.rule for s in self.steps if s.fallback)

    def verify(
        self,
        *,
        points: int = 8,
        precision: int = 30,
        timeout: float = DEFAULT_TIMEOUT,
        seed: int = 0,
    ) -> Derivation:
        """This derivation with every step and the final claim checked.

        >>> from symdl.derive.steps import derive
        >>> derive("x*sin(x)", "x").verify().verdict
        'proved'
        """
        options = {"points": points, "precision": precision, "timeout": timeout, "seed": seed}
        previous = [sp.Derivative(self.expr, self.wrt), *(s.after for s in self.steps[:-1])]
        memo: dict[tuple[sp.Basic, sp.Basic], Report] = {}  # an equality met again
        steps = tuple(
            replace(s.verify(memo=memo, **options), detached=s.before != p)
            for s, p in zip(self.steps, previous)
        )
        if steps and steps[-1].after != self.result:
            steps = (*steps[:-1], replace(steps[-1], detached=True))
        try:
            final = check_derivative(self.expr, self.wrt, self.result, **options)  # type: ignore[arg-type]
        except (ValueError, TypeError, ArithmeticError, UnsupportedError) as err:
            final = Report(
                verdict="undecided",
                claim=f"d/d{self.wrt} {self.expr} == {self.result}",
                method="none",
                notes=(f"the checker failed on this claim: {type(err).__name__}: {err}",),
            )
        return replace(self, steps=steps, final=final)

    # ---- rendering ----------------------------------------------------------------------

    def latex(self, *, standalone: bool = False) -> str:
        from symdl.render.latex import derivation_latex

        return derivation_latex(self, standalone=standalone)

    def markdown(self) -> str:
        from symdl.render.markdown import derivation_markdown

        return derivation_markdown(self)

    def text(self, *, width: int = 100) -> str:
        from symdl.render.text import derivation_text

        return derivation_text(self, width=width)

    def html(self) -> str:
        from symdl.render.html import derivation_html

        return derivation_html(self)

    def _repr_latex_(self) -> str:
        from symdl.render.latex import derivation_latex

        return derivation_latex(self, standalone=False)

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __str__(self) -> str:
        return self.text()
