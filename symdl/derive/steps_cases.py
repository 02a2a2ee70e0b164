r"""Rules applied case by case, with the kinks stated: ``|u|``, ReLU, ``max``/``min``,
step functions and ``Piecewise``.

Each returns the derivative away from the kinks, the cases that justify it (each a
:class:`~symdl.derivation.Step` restricted to its region, so it is checked there), and
the kinks in words. At a kink the derivative does not exist; the value the formula takes
there (``H(0) = 1/2``, ``sign(0) = 0``) is SymPy's convention, stated in the kink.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symdl.derivation import Step

__all__ = ["Cased", "cased_rule"]


@dataclass(frozen=True)
class Cased:
    """A rule applied case by case: its name, formula, value, cases and kinks."""

    rule: str
    formula: str
    value: sp.Basic
    cases: tuple[Step, ...]
    kinks: tuple[str, ...]
    bindings: tuple[tuple[str, sp.Basic], ...] = ()


def _case(g: sp.Basic, piece: sp.Basic, where: sp.Basic, formula: str) -> Step:
    r"""Where ``where`` holds, ``g`` (a function of cases) is ``piece``.

    On the open region the derivatives agree as well, which is what the rule uses; the
    rule's own claim (the derivative formula) is checked separately.
    """
    return Step(rule="case", formula=formula, before=g, after=piece, condition=where)


def cased_rule(g: sp.Basic, x: sp.Symbol) -> Cased | None:
    """The case-by-case rule for ``g`` (which depends on ``x``), or ``None``."""
    if isinstance(g, sp.Abs):
        (u,) = g.args
        return Cased(
            "absolute value, case by case",
            r"\lvert u\rvert' = \operatorname{sign}(u)\, u' \quad (u \neq 0)",
            sp.sign(u) * sp.Derivative(u, x),
            (
                _case(g, u, u > 0, r"\lvert u\rvert = u"),
                _case(g, -u, u < 0, r"\lvert u\rvert = -u"),
            ),
            (
                f"at {sp.sstr(u)} = 0: one-sided derivatives −u′ and u′, so |u| is not "
                "differentiable there unless u′ = 0; the formula gives sign(0) = 0",
            ),
            (("u", u),),
        )
    if isinstance(g, (sp.Max, sp.Min)):
        return _extremum(g, x)
    if isinstance(g, (sp.Heaviside, sp.sign)):
        u = g.args[0]
        name = "Heaviside step" if isinstance(g, sp.Heaviside) else "sign"
        return Cased(
            f"{name} function, case by case",
            r"(\text{constant on } u > 0 \text{ and on } u < 0)' = 0",
            sp.Integer(0),
            (),
            (f"at {sp.sstr(u)} = 0 the function jumps: it has no derivative there",),
            (("u", u),),
        )
    if isinstance(g, sp.Piecewise):
        pieces = [(sp.Derivative(e, x) if e.has(x) else sp.Integer(0), c) for e, c in g.args]
        edges = sorted(
            {
                f"{sp.sstr(r.lhs)} = {sp.sstr(r.rhs)}"
                for _, c in g.args
                for r in sp.sympify(c).atoms(sp.core.relational.Relational)
            }
        )
        return Cased(
            "piecewise function, case by case",
            r"\Big(\textstyle\sum_i [c_i]\, f_i\Big)' = f_i' \text{ where } c_i",
            sp.Piecewise(*pieces),
            (),
            tuple(f"on {e} the pieces meet: a possible kink, no derivative claimed" for e in edges),
        )
    return None


def _extremum(g: sp.Basic, x: sp.Symbol) -> Cased:
    a, rest = g.args[0], g.func(*g.args[1:])
    is_max = isinstance(g, sp.Max)
    if is_max and (a == 0 or rest == 0):
        u = rest if a == 0 else a
        return Cased(
            "ReLU, case by case",
            r"\operatorname{ReLU}(u)' = H(u)\, u' \quad (u \neq 0)",
            sp.Heaviside(u) * sp.Derivative(u, x),
            (
                _case(g, u, u > 0, r"\operatorname{ReLU}(u) = u"),
                _case(g, sp.Integer(0), u < 0, r"\operatorname{ReLU}(u) = 0"),
            ),
            (
                f"at {sp.sstr(u)} = 0 (the kink): one-sided derivatives 0 (left) and u′ "
                "(right), so ReLU is not differentiable there; the formula gives "
                "H(0) = 1/2 (SymPy's convention; PyTorch and JAX use 0)",
            ),
            (("u", u),),
        )
    b = rest
    first, second = (a > b, b > a) if is_max else (a < b, b < a)
    name = "maximum" if is_max else "minimum"
    sign = 1 if is_max else -1
    return Cased(
        f"{name}, case by case",
        rf"\{'max' if is_max else 'min'}(a, b)' = H({'a - b' if is_max else 'b - a'})\, a' "
        rf"+ H({'b - a' if is_max else 'a - b'})\, b' \quad (a \neq b)",
        sp.Heaviside(sign * (a - b)) * sp.Derivative(a, x)
        + sp.Heaviside(sign * (b - a)) * sp.Derivative(b, x),
        (
            _case(g, a, first, rf"\{name[:3]}(a, b) = a"),
            _case(g, b, second, rf"\{name[:3]}(a, b) = b"),
        ),
        (
            f"where {sp.sstr(a)} = {sp.sstr(b)} (a kink): one-sided derivatives a′ and b′; "
            "the formula gives their mean there (H(0) = 1/2)",
        ),
        (("a", a), ("b", b)),
    )
