r"""The rules of the differential: how :math:`\mathrm{d}F` expands, one node at a time.

Each rule is an identity of matrix differential calculus (Magnus & Neudecker, *Matrix
Differential Calculus with Applications in Statistics and Econometrics*, 3rd ed., 2019,
ch. 8, table 8.1; Petersen & Pedersen, *The Matrix Cookbook*, 2012, sec. 2.1):

.. math::
   \mathrm{d}(U + V) = \mathrm{d}U + \mathrm{d}V, \quad
   \mathrm{d}(UV) = \mathrm{d}U\,V + U\,\mathrm{d}V, \quad
   \mathrm{d}(U^\top) = (\mathrm{d}U)^\top, \quad
   \mathrm{d}\operatorname{tr} U = \operatorname{tr}\mathrm{d}U,

   \mathrm{d}X^{-1} = -X^{-1}\,\mathrm{d}X\,X^{-1}, \quad
   \mathrm{d}\det X = \det X \operatorname{tr}(X^{-1}\mathrm{d}X), \quad
   \mathrm{d}\log\det X = \operatorname{tr}(X^{-1}\mathrm{d}X),

   \mathrm{d}(U \odot V) = \mathrm{d}U \odot V + U \odot \mathrm{d}V, \quad
   \mathrm{d}f(Z) = f'(Z) \odot \mathrm{d}Z \text{ (entrywise } f).

:func:`expand` rewrites one unexpanded differential node and says which rule it used.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symdl.derive.differentials_nodes import Direction, d
from symdl.errors import UnsupportedError
from symdl.nodes import EntrySum, Entrywise
from symdl.ops import is_array
from symdl.unparse import to_text

__all__ = ["Move", "expand"]


@dataclass(frozen=True)
class Move:
    """One rewrite: the rule by name and in general, the sub-expression and its new form."""

    rule: str
    formula: str
    node: sp.Basic
    new: sp.Basic
    bindings: tuple[tuple[str, sp.Basic], ...] = ()
    note: str = ""


_SUM = r"\mathrm{d}(\mathbf{U} + \mathbf{V}) = \mathrm{d}\mathbf{U} + \mathrm{d}\mathbf{V}"
_PRODUCT = (
    r"\mathrm{d}(\mathbf{U}\mathbf{V}) = \mathrm{d}\mathbf{U}\,\mathbf{V} + "
    r"\mathbf{U}\,\mathrm{d}\mathbf{V}"
)
_CONSTANT = (
    r"\mathrm{d}(\mathbf{A}\mathbf{U}\mathbf{B}) = \mathbf{A}\,\mathrm{d}\mathbf{U}\,\mathbf{B}"
)
_HADAMARD = (
    r"\mathrm{d}(\mathbf{U} \odot \mathbf{V}) = \mathrm{d}\mathbf{U} \odot \mathbf{V} + "
    r"\mathbf{U} \odot \mathrm{d}\mathbf{V}"
)
_POWER = (
    r"\mathrm{d}(\mathbf{U}^{\circ n}) = n\,\mathbf{U}^{\circ (n-1)} \odot \mathrm{d}\mathbf{U}"
)
_ELEMENTWISE = r"\mathrm{d}\,f(\mathbf{Z}) = f'(\mathbf{Z}) \odot \mathrm{d}\mathbf{Z}"
_TRANSPOSE = r"\mathrm{d}(\mathbf{U}^\top) = (\mathrm{d}\mathbf{U})^\top"
_TRACE = r"\mathrm{d}\operatorname{tr}\mathbf{U} = \operatorname{tr}(\mathrm{d}\mathbf{U})"
_ENTRYSUM = r"\mathrm{d}\operatorname{sum}(\mathbf{U}) = \operatorname{sum}(\mathrm{d}\mathbf{U})"
_INVERSE = r"\mathrm{d}(\mathbf{X}^{-1}) = -\mathbf{X}^{-1}\,\mathrm{d}\mathbf{X}\,\mathbf{X}^{-1}"
_DET = (
    r"\mathrm{d}\det\mathbf{X} = \det\mathbf{X}\,"
    r"\operatorname{tr}(\mathbf{X}^{-1}\mathrm{d}\mathbf{X})"
)
_LOGDET = r"\mathrm{d}\log\det\mathbf{X} = \operatorname{tr}(\mathbf{X}^{-1}\mathrm{d}\mathbf{X})"
_SCALAR_POWER = r"\mathrm{d}(u^{n}) = n\,u^{n-1}\,\mathrm{d}u"
_LOG = r"\mathrm{d}\log u = \frac{\mathrm{d}u}{u}"
_CHAIN = r"\mathrm{d}f(u) = f'(u)\,\mathrm{d}u"


def expand(node: sp.Basic, var: sp.MatrixSymbol, dvar: Direction) -> Move:
    r"""The rule that expands the differential ``node`` (:math:`\mathrm{d}F`) one level."""
    f = node.args[0]

    def dd(e: sp.Basic) -> sp.Basic:
        return d(e, var, dvar)

    if isinstance(f, (sp.MatAdd, sp.Add)):
        parts = [dd(a) for a in f.args if a.has(var)]
        note = "constant terms have differential 0" if len(parts) < len(f.args) else ""
        new = parts[0] if len(parts) == 1 else f.func(*parts)
        return Move("linearity of d", _SUM, node, new, note=note)
    if isinstance(f, (sp.MatMul, sp.Mul)):
        return _product(node, f, dd, var)
    if isinstance(f, sp.HadamardProduct):
        varying = [k for k, a in enumerate(f.args) if a.has(var)]
        terms = [
            sp.HadamardProduct(*[dd(a) if i == k else a for i, a in enumerate(f.args)])
            for k in varying
        ]
        if len(terms) == 1:
            return Move("Hadamard product with a constant", _HADAMARD, node, terms[0])
        return Move("product rule for the Hadamard product", _HADAMARD, node, sp.MatAdd(*terms))
    if isinstance(f, sp.HadamardPower):
        if f.exp.has(var):
            raise _unsupported(f, "an exponent that depends on the variable")
        base = f.base if f.exp - 1 == 1 else sp.HadamardPower(f.base, f.exp - 1)
        new = sp.MatMul(f.exp, sp.HadamardProduct(base, dd(f.base)))
        return Move("power rule for the Hadamard power", _POWER, node, new, (("n", f.exp),))
    if isinstance(f, ElementwiseApplyFunction):
        return _elementwise(node, f, dd)
    if isinstance(f, sp.Transpose):
        return Move("differential of a transpose", _TRANSPOSE, node, sp.Transpose(dd(f.arg)))
    if isinstance(f, sp.Trace):
        return Move("differential of a trace", _TRACE, node, sp.Trace(dd(f.arg)))
    if isinstance(f, EntrySum):
        return Move("differential of a sum of entries", _ENTRYSUM, node, EntrySum(dd(f.args[0])))
    if isinstance(f, sp.Inverse):
        x = f.arg
        new = sp.MatMul(-1, sp.Inverse(x), dd(x), sp.Inverse(x))
        return Move("differential of the inverse", _INVERSE, node, new)
    if isinstance(f, sp.Determinant):
        x = f.arg
        new = sp.Mul(sp.Determinant(x), sp.Trace(sp.MatMul(sp.Inverse(x), dd(x))))
        return Move("differential of the determinant (Jacobi's formula)", _DET, node, new)
    if isinstance(f, sp.log) and isinstance(f.args[0], sp.Determinant):
        x = f.args[0].arg
        new = sp.Trace(sp.MatMul(sp.Inverse(x), dd(x)))
        return Move("differential of the log-determinant", _LOGDET, node, new)
    if isinstance(f, sp.Pow) and not is_array(f):
        if f.exp.has(var):
            raise _unsupported(f, "an exponent that depends on the variable")
        new = sp.Mul(f.exp, sp.Pow(f.base, f.exp - 1), dd(f.base))
        return Move("power rule", _SCALAR_POWER, node, new, (("u", f.base), ("n", f.exp)))
    if isinstance(f, sp.log):
        u = f.args[0]
        return Move("differential of the logarithm", _LOG, node, sp.Mul(dd(u), sp.Pow(u, -1)))
    if isinstance(f, sp.Function) and len(f.args) == 1 and not is_array(f):
        u = f.args[0]
        s = sp.Dummy("u", real=True)
        prime = sp.diff(f.func(s), s)
        if prime.has(sp.Derivative, sp.Subs):
            raise _unsupported(f, f"{f.func.__name__}, whose derivative SymPy does not know")
        new = sp.Mul(prime.xreplace({s: u}), dd(u))
        return Move("chain rule", _CHAIN, node, new, (("u", u),))
    raise _unsupported(f, type(f).__name__)


def _unsupported(f: sp.Basic, what: str) -> UnsupportedError:
    try:
        text = to_text(f)
    except ValueError:
        text = str(f)
    return UnsupportedError(
        f"derivation by differentials: no rule for {what} (in {text}); supported are sums, "
        "matrix and Hadamard products, powers, transposes, tr, sum, det, logdet, inv, "
        "scalar functions and entrywise catalogue functions"
    )


def _product(node: sp.Basic, f: sp.Basic, dd: object, var: sp.MatrixSymbol) -> Move:
    args = list(f.args)
    varying = [k for k, a in enumerate(args) if a.has(var)]
    terms = [
        f.func(*[dd(a) if i == k else a for i, a in enumerate(args)])  # type: ignore[operator]
        for k in varying
    ]
    if len(terms) == 1:
        return Move("constant factors", _CONSTANT, node, terms[0], note="d(constant) = 0")
    new = sp.MatAdd(*terms) if is_array(f) else sp.Add(*terms)
    return Move("product rule", _PRODUCT, node, new)


def _elementwise(node: sp.Basic, f: ElementwiseApplyFunction, dd: object) -> Move:
    (v,), body = f.function.variables, f.function.expr
    prime = sp.diff(body, v)
    if prime.has(sp.Derivative, sp.Subs):
        raise _unsupported(f, "an entrywise function whose derivative SymPy does not know")
    u = sp.Symbol("u", real=True)
    name = type(body).__name__ if isinstance(body, sp.Function) else "f"
    new = sp.HadamardProduct(
        Entrywise(sp.Lambda(v, prime), f.expr),
        dd(f.expr),  # type: ignore[operator]
    )
    return Move(
        f"entrywise function ({name})",
        _ELEMENTWISE,
        node,
        new,
        (("f(u)", body.xreplace({v: u})), ("f'(u)", prime.xreplace({v: u}))),
    )
