r"""Gradients of scalar functions of matrices, in matrix notation, checked before they are returned.

:func:`matrix_gradient` differentiates a scalar expression of the input language by
reverse mode over its matrix operations (:mod:`symdl.derive.matrix_rules`), tidies the
result (:mod:`symdl.derive.matrix_tidy`), names the shared subexpressions the way a
textbook does (:mod:`symdl.derive.matrix_names`) and compiles one NumPy function for all
requested gradients (:mod:`symdl.derive.matrix_code`). Gradients are in denominator
layout: :math:`\partial L/\partial W` has the shape of :math:`W` (Petersen & Pedersen,
*The Matrix Cookbook*, 2012).

Before a result is called ``proved`` it is checked (:mod:`symdl.derive.matrix_check`), in
time linear in the size of the expression graph: by induction over the reverse sweep at
two small concrete sizes (every adjoint equals the scalar reverse accumulation of SymPy's
partial derivatives, :mod:`symdl.derive.matrix_induction`), in high precision against
that accumulation at random points, and the generated code against finite differences of
the function's own code. With symbolic dimensions, ``proved`` means: the engine's rules
are identities for every size, and the induction at the stated sizes shows that they were
applied correctly. A result that cannot be checked is ``undecided``, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from symdl.budget import DEFAULT_TIMEOUT
from symdl.derive.matrix_check import check_gradients
from symdl.derive.matrix_code import GradientCode, gradient_code
from symdl.derive.matrix_names import choose_names
from symdl.derive.matrix_render import latex_name, to_latex, to_readable_text
from symdl.derive.matrix_rules import Sweep, reverse_sweep
from symdl.derive.matrix_tidy import Tidy, factor_common
from symdl.errors import ParseError, ShapeError, UnsupportedError
from symdl.ops import FUNCTIONS, is_array
from symdl.parse import as_expression
from symdl.shapes import Scope, format_shape, shape_of
from symdl.unparse import to_text
from symdl.verify.report import Report

__all__ = ["MatrixGradient", "matrix_gradient", "wrt_names"]


@dataclass(frozen=True)
class MatrixGradient:
    """The gradients of one scalar function, with their names, renderings, code and check.

    ``gradients`` maps each variable to its gradient written out in full (from ``sweep``,
    the reverse sweep that derived it); ``definitions``
    are the named shared subexpressions in order, and ``named`` the gradients written
    with those names. ``text()``, ``latex()`` and ``code`` all come from these.
    """

    function: sp.Basic
    wrt: tuple[str, ...]
    sweep: Sweep
    definitions: tuple[tuple[str, sp.Basic], ...]
    named: Mapping[str, sp.Basic]
    scope: Scope
    code: GradientCode
    report: Report

    @property
    def verdict(self) -> str:
        return self.report.verdict

    @property
    def gradients(self) -> Mapping[str, sp.Basic]:
        """Each gradient written out in full, without names (computed on first use)."""
        return self.sweep.gradients

    def gradient_text(self, name: str) -> str:
        """The gradient by ``name`` written out in the input language, for ``symdl check``
        (an identity matrix prints as ``I``, which has no input-language spelling)."""
        return to_readable_text(self.gradients[name], self._arrays())

    def text(self) -> str:
        """The definitions and gradients, one per line, in the input language."""
        like = self._arrays()
        lines = [f"{n} = {to_readable_text(e, like)}" for n, e in self.definitions]
        lines += [f"dL/d{w} = {to_readable_text(self.named[w], like)}" for w in self.wrt]
        return "\n".join(lines)

    def _arrays(self) -> list[sp.Basic]:
        """Arrays an all-ones matrix can be written ``ones_like`` of: the variables, then
        the function's array subexpressions."""
        names = sorted(self.function.atoms(sp.MatrixSymbol), key=lambda m: m.name)
        parts = [
            e
            for e in sp.preorder_traversal(self.function)
            if is_array(e) and not isinstance(e, (sp.MatrixSymbol, sp.Lambda))
        ]
        return names + sorted(set(parts), key=sp.count_ops)

    def latex(self) -> str:
        r"""An ``aligned`` block: the definitions, then :math:`\partial L/\partial W = …`."""
        rows = [rf"{latex_name(n)} &= {to_latex(e)}" for n, e in self.definitions]
        for w in self.wrt:
            target = latex_name(w) if self.scope.shape(w) else w
            rows.append(rf"\frac{{\partial L}}{{\partial {target}}} &= {to_latex(self.named[w])}")
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def __str__(self) -> str:
        return f"{self.text()}\n{self.report.verdict}: {self.report.method}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "function": to_text(self.function),
            "wrt": list(self.wrt),
            "definitions": [
                {"name": n, "text": to_readable_text(e, self._arrays()), "latex": to_latex(e)}
                for n, e in self.definitions
            ],
            "gradients": {
                w: {
                    "named": to_readable_text(self.named[w], self._arrays()),
                    "expanded": self.gradient_text(w),
                    "latex": to_latex(self.named[w]),
                    "shape": format_shape(shape_of(self.gradients[w])),
                }
                for w in self.wrt
            },
            "numpy": self.code.source,
            "report": self.report.to_dict(),
        }


def wrt_names(wrt: str | Sequence[str]) -> tuple[str, ...]:
    """``"W1,b1"`` or ``["W1", "b1"]`` → ``("W1", "b1")``, each a valid variable name."""
    parts = [p.strip() for p in wrt.split(",")] if isinstance(wrt, str) else [str(p) for p in wrt]
    if not parts or any(not p for p in parts):
        raise ParseError(f"wrt must name one or more variables, got {wrt!r}")
    for p in parts:
        if not p.isidentifier() or p.startswith("_") or p in FUNCTIONS or p == "pi":
            raise ParseError(f"wrt must be the name of a variable, got {p!r}")
    if len(set(parts)) != len(parts):
        raise ParseError(f"wrt names a variable twice: {wrt!r}")
    return tuple(parts)


def matrix_gradient(
    f: object,
    wrt: str | Sequence[str],
    *,
    shapes: Mapping[str, Any] | None = None,
    assume: Mapping[str, str] | None = None,
    check: bool = True,
    points: int = 4,
    precision: int = 30,
    timeout: float = DEFAULT_TIMEOUT,
    seed: int = 0,
) -> MatrixGradient:
    r"""The gradient of the scalar ``f`` by each variable in ``wrt``, in matrix notation.

    ``f`` is input-language text (or a SymPy expression); ``shapes`` declares the arrays
    (``{"W": "m x n", "x": "n"}``; symbolic dimensions give results for every size) and
    ``assume`` their kinds (``{"y": "probability"}``). With ``check`` (the default) every
    gradient is checked as the module docstring describes, within ``timeout`` seconds in
    all; ``points``, ``precision`` and ``seed`` go to the high-precision check.

    >>> g = matrix_gradient("sum((W @ x - y)**2)", "W",
    ...                     shapes={"W": "m x n", "x": "n", "y": "m"}, check=False)
    >>> g.gradient_text("W")
    '2*(W @ x - y) @ x.T'
    """
    scope = Scope.build(shapes, assume)
    fx = as_expression(f, scope)
    names = wrt_names(wrt)
    if is_array(fx) and shape_of(fx) != (1, 1):
        raise ShapeError(
            f"the gradient needs a scalar function; this one has shape "
            f"{format_shape(shape_of(fx))} (reduce it first, e.g. sum(...))"
        )
    variables = _variables(fx, scope)
    unknown = [n for n in names if n not in variables]
    if unknown:
        raise ParseError(
            f"wrt names {unknown[0]!r}, which the function does not use "
            f"(its variables: {', '.join(variables) or 'none'})"
        )
    try:
        tidy = Tidy(scope.assume)
        sweep = reverse_sweep(fx, [scope.symbol(n) for n in names], tidy=tidy)
        naming = choose_names(
            sweep.present(),
            sweep.order,
            sweep.fan_out,
            sweep.adjoints,
            # dimensions too: the generated code binds them (p = V.shape[1])
            set(variables) | set(names) | {d.name for d in scope.dims()},
        )
        named = reverse_sweep(
            fx,
            [scope.symbol(n) for n in names],
            tidy=Tidy(scope.assume),
            names=naming.forward,
            adjoint_names=naming.adjoint,
        )
        named_gradients = named.gradients
        sweep.gradients  # noqa: B018 (resolved here, so SymPy's failures surface here)
    except (TypeError, NotImplementedError) as err:
        # a SymPy matrix operation with no rule for what the sweep built; reported, never
        # guessed around
        raise UnsupportedError(
            f"the matrix engine cannot differentiate {to_text(fx)} by {', '.join(names)}: "
            f"SymPy failed on a matrix expression ({type(err).__name__}: {err})"
        ) from err
    definitions = tuple(
        (n, factor_common(e))
        for n, e in naming.definitions(named.definitions, list(named_gradients.values()))
    )
    readable = {w: factor_common(g) for w, g in named_gradients.items()}
    code = gradient_code(
        list(variables), definitions, readable, {n: scope.shape(n) for n in variables}
    )
    if check:
        report = check_gradients(
            fx,
            names,
            sweep,
            code,
            scope,
            _claim(fx, names),
            points=points,
            precision=precision,
            timeout=timeout,
            seed=seed,
        )
    else:
        report = Report(
            "undecided", _claim(fx, names), "none", notes=("not checked (check=False)",)
        )
    return MatrixGradient(fx, names, sweep, definitions, readable, scope, code, report)


def _variables(fx: sp.Basic, scope: Scope) -> tuple[str, ...]:
    dims = {d.name for d in scope.dims()}
    mats = sorted({m.name for m in fx.atoms(sp.MatrixSymbol)})
    scalars = sorted(
        {s.name for s in fx.free_symbols if isinstance(s, sp.Symbol)} - set(mats) - dims
    )
    return tuple(mats + scalars)


def _claim(fx: sp.Basic, names: Sequence[str]) -> str:
    return f"gradient of {_input_text(fx)} by {', '.join(names)}"


def _input_text(e: sp.Basic) -> str:
    try:
        return to_text(e)
    except ValueError:
        return to_readable_text(e)
