r"""From an expanded differential to :math:`\mathrm{d}L = \operatorname{tr}(G^\top\mathrm{d}W)`.

Once every differential is expanded, :math:`\mathrm{d}L` is linear in :math:`\mathrm{d}W`.
These rules bring it to the trace form from which the gradient is read off (Magnus &
Neudecker, 2019, ch. 9, first identification theorem; Petersen & Pedersen, *The Matrix
Cookbook*, 2012, eqs. 16 and 520):

.. math::
   \operatorname{sum}(A \odot B) = \operatorname{tr}(A^\top B), \quad
   \operatorname{tr}(AB) = \operatorname{tr}(BA), \quad
   \operatorname{tr}(A^\top) = \operatorname{tr}(A), \quad
   \operatorname{tr}(A(B \odot C)) = \operatorname{tr}((A^\top \odot B)^\top C),

together with linearity and :math:`(AB)^\top = B^\top A^\top`. :func:`next_move` finds
the next rule to apply, :func:`collect` gathers the terms into one trace and
:func:`identify` writes it as :math:`\operatorname{tr}(G^\top\mathrm{d}W)`.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symdl.derive.differentials_nodes import Direction
from symdl.derive.differentials_rules import Move
from symdl.errors import UnsupportedError
from symdl.nodes import EntrySum, Entrywise
from symdl.ops import is_array

__all__ = ["collect", "identify", "next_move", "transposed"]

Rule = Callable[[sp.Basic, Direction], Move | None]


def _factors(e: sp.Basic) -> tuple[list[sp.Basic], list[sp.Basic]]:
    """The scalar and the matrix factors of a product, nested products flattened."""
    if isinstance(e, sp.MatMul):
        scalars: list[sp.Basic] = []
        mats: list[sp.Basic] = []
        for a in e.args:
            s, m = _factors(a)
            scalars += s
            mats += m
        return scalars, mats
    return ([], [e]) if is_array(e) else ([e], [])


def _product(scalars: list[sp.Basic], mats: list[sp.Basic]) -> sp.Basic:
    coeff = sp.Mul(*scalars)
    if coeff == 1 and len(mats) == 1:
        return mats[0]
    return sp.MatMul(*([coeff] if coeff != 1 else []), *mats)


def _t(e: sp.Basic) -> sp.Basic:
    """``eᵀ`` with a double transpose cancelled and the all-ones matrix transposed."""
    if isinstance(e, sp.Transpose):
        return e.arg
    if isinstance(e, (sp.Identity, sp.ZeroMatrix)):
        return e
    if isinstance(e, sp.OneMatrix):
        return sp.OneMatrix(e.cols, e.rows)
    return sp.Transpose(e)


def _push(e: sp.Basic) -> sp.Basic:
    """``eᵀ`` pushed one level in: :math:`(AB)^\\top = B^\\top A^\\top`, and alike for sums
    and Hadamard products."""
    if isinstance(e, sp.MatMul):
        scalars, mats = _factors(e)
        return _product(scalars, [_t(m) for m in reversed(mats)])
    if isinstance(e, sp.MatAdd):
        return sp.MatAdd(*[_t(a) for a in e.args])
    if isinstance(e, sp.HadamardProduct):
        return sp.HadamardProduct(*[_t(a) for a in e.args])
    return _t(e)


def transposed(e: sp.Basic) -> sp.Basic:
    """``eᵀ`` pushed all the way in (an inverse keeps its transpose: :math:`X^{-\\top}`)."""
    if isinstance(e, sp.MatMul):
        scalars, mats = _factors(e)
        return _product(scalars, [transposed(m) for m in reversed(mats)])
    if isinstance(e, (sp.MatAdd, sp.HadamardProduct)):
        return e.func(*[transposed(a) for a in e.args])
    if isinstance(e, sp.HadamardPower):
        return sp.HadamardPower(transposed(e.base), e.exp)
    if isinstance(e, ElementwiseApplyFunction):
        return Entrywise(e.function, transposed(e.expr))
    return _t(e)


def _varying(mats: list[sp.Basic], dvar: Direction) -> int:
    hits = [k for k, m in enumerate(mats) if m.has(dvar)]
    return hits[0] if len(hits) == 1 else -1


def _distribute(e: sp.Basic, dvar: Direction) -> Move | None:
    if not isinstance(e, (sp.MatMul, sp.HadamardProduct, sp.Mul)):
        return None
    args = list(e.args)
    k = next(
        (i for i, a in enumerate(args) if isinstance(a, (sp.MatAdd, sp.Add)) and a.has(dvar)),
        None,
    )
    if k is None:
        return None
    terms = [e.func(*args[:k], t, *args[k + 1 :]) for t in args[k].args]
    new = sp.Add(*terms) if isinstance(e, sp.Mul) else sp.MatAdd(*terms)
    formula = r"\mathbf{A}(\mathbf{B} + \mathbf{C}) = \mathbf{A}\mathbf{B} + \mathbf{A}\mathbf{C}"
    return Move("distributivity", formula, e, new)


def _transpose_in(e: sp.Basic, dvar: Direction) -> Move | None:
    if not isinstance(e, sp.Transpose) or e.arg == dvar or not e.has(dvar):
        return None
    if isinstance(e.arg, sp.MatrixSymbol):
        return None
    formula = r"(\mathbf{A}\mathbf{B})^\top = \mathbf{B}^\top\mathbf{A}^\top"
    return Move("transpose of a product", formula, e, _push(e.arg))


def _scalar_out(e: sp.Basic, dvar: Direction) -> Move | None:
    if not isinstance(e, (sp.Trace, EntrySum)) or not e.has(dvar):
        return None
    scalars, mats = _factors(e.args[0])
    coeff = sp.Mul(*scalars)
    if coeff == 1 or not isinstance(e.args[0], sp.MatMul):
        return None
    name = r"\operatorname{tr}" if isinstance(e, sp.Trace) else r"\operatorname{sum}"
    new = sp.Mul(coeff, e.func(_product([], mats)))
    return Move("linearity", rf"{name}(c\,\mathbf{{A}}) = c\,{name}\,\mathbf{{A}}", e, new)


def _split(e: sp.Basic, dvar: Direction) -> Move | None:
    if not isinstance(e, (sp.Trace, EntrySum)) or not isinstance(e.args[0], sp.MatAdd):
        return None
    if not e.has(dvar):
        return None
    name = r"\operatorname{tr}" if isinstance(e, sp.Trace) else r"\operatorname{sum}"
    new = sp.Add(*[e.func(a) for a in e.args[0].args])
    formula = rf"{name}(\mathbf{{A}} + \mathbf{{B}}) = {name}\,\mathbf{{A}} + {name}\,\mathbf{{B}}"
    return Move("linearity", formula, e, new)


def _sum_to_trace(e: sp.Basic, dvar: Direction) -> Move | None:
    if not isinstance(e, EntrySum) or not e.has(dvar):
        return None
    inner = e.args[0]
    if isinstance(inner, sp.MatAdd) or (isinstance(inner, sp.MatMul) and _factors(inner)[0]):
        return None
    if isinstance(inner, sp.HadamardProduct):
        k = _varying(list(inner.args), dvar)
        if k < 0:
            return None
        rest = [a for i, a in enumerate(inner.args) if i != k]
        a = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
        new = sp.Trace(_product([], [_t(a), inner.args[k]]))
        formula = (
            r"\operatorname{sum}(\mathbf{A} \odot \mathbf{B}) = "
            r"\operatorname{tr}(\mathbf{A}^\top \mathbf{B})"
        )
        return Move("sum of a Hadamard product as a trace", formula, e, new)
    ones = sp.OneMatrix(*inner.shape)
    new = sp.Trace(sp.MatMul(_t(ones), inner))
    formula = r"\operatorname{sum}(\mathbf{A}) = \operatorname{tr}(\mathbf{1}^\top \mathbf{A})"
    return Move("sum of entries as a trace", formula, e, new)


def _trace_moves(e: sp.Basic, dvar: Direction) -> Move | None:
    """Inside ``tr(…)``: undo a transposed ``dW``, move a Hadamard factor, or cycle."""
    if not isinstance(e, sp.Trace) or not e.has(dvar) or isinstance(e.arg, sp.MatAdd):
        return None
    scalars, mats = _factors(e.arg)
    k = _varying(mats, dvar)
    if k < 0 or scalars:
        return None
    factor = mats[k]
    if factor == sp.Transpose(dvar):
        formula = r"\operatorname{tr}(\mathbf{A}) = \operatorname{tr}(\mathbf{A}^\top)"
        new = sp.Trace(_push(_product([], mats)))
        return Move("trace of the transpose", formula, e, new)
    if k != len(mats) - 1:
        formula = (
            r"\operatorname{tr}(\mathbf{A}\mathbf{B}) = \operatorname{tr}(\mathbf{B}\mathbf{A})"
        )
        new = sp.Trace(_product([], mats[k + 1 :] + mats[: k + 1]))
        return Move("cyclic property of the trace", formula, e, new)
    if isinstance(factor, sp.HadamardProduct):
        j = _varying(list(factor.args), dvar)
        if j < 0:
            return None
        c = factor.args[j]
        rest = [a for i, a in enumerate(factor.args) if i != j]
        b = rest[0] if len(rest) == 1 else sp.HadamardProduct(*rest)
        head = _push(_product([], mats[:-1])) if k else sp.Identity(factor.rows)
        new = sp.Trace(_product([], [_t(sp.HadamardProduct(head, b)), c]))
        formula = (
            r"\operatorname{tr}(\mathbf{A}^\top(\mathbf{B} \odot \mathbf{C})) = "
            r"\operatorname{tr}((\mathbf{A} \odot \mathbf{B})^\top \mathbf{C})"
        )
        return Move("moving a Hadamard factor out of the trace", formula, e, new)
    return None


_RULES: tuple[Rule, ...] = (
    _distribute,
    _transpose_in,
    _split,
    _scalar_out,
    _sum_to_trace,
    _trace_moves,
)


def next_move(line: sp.Basic, dvar: Direction) -> Move | None:
    """The first rule that applies to a sub-expression of ``line`` (outermost first)."""
    if is_array(line) and line.has(dvar):
        formula = r"a = \operatorname{tr}(a)\ \text{for a } 1 \times 1\ a"
        return Move("a scalar is its own trace", formula, line, sp.Trace(line))
    for node in sp.preorder_traversal(line):
        for rule in _RULES:
            move = rule(node, dvar)
            if move is not None:
                return move
    return None


def _term(t: sp.Basic, dvar: Direction) -> tuple[sp.Basic, list[sp.Basic]] | None:
    """``c·tr(A dW)`` → ``(c, [A…])``; None for any other form."""
    coeff: list[sp.Basic] = []
    traces: list[sp.Basic] = []
    for f in sp.Mul.make_args(t):
        (traces if f.has(dvar) else coeff).append(f)
    if len(traces) != 1 or not isinstance(traces[0], sp.Trace):
        return None
    scalars, mats = _factors(traces[0].arg)
    if not mats or mats[-1] != dvar or any(m.has(dvar) for m in mats[:-1]):
        return None
    return sp.Mul(*coeff, *scalars), mats[:-1] or [sp.Identity(dvar.rows)]


def collect(line: sp.Basic, dvar: Direction) -> Move | None:
    r"""All terms :math:`c_k \operatorname{tr}(A_k\,\mathrm{d}W)` as one trace (None when
    ``line`` is one such trace already); :class:`UnsupportedError` for another form."""
    terms = [(t, _term(t, dvar)) for t in sp.Add.make_args(line)]
    bad = [t for t, form in terms if form is None]
    if bad:
        raise UnsupportedError(
            f"derivation by differentials: could not bring the term {bad[0]} of dL to the "
            "form tr(A dW)"
        )
    if len(terms) == 1 and isinstance(terms[0][0], sp.Trace):
        return None
    parts = [_product([c], mats) for _, (c, mats) in terms]  # type: ignore[misc]
    inner = parts[0] if len(parts) == 1 else sp.MatAdd(*parts)
    new = sp.Trace(sp.MatMul(inner, dvar))
    if len(parts) == 1:
        formula = r"c\operatorname{tr}(\mathbf{A}) = \operatorname{tr}(c\,\mathbf{A})"
        return Move("a scalar into the trace", formula, line, new)
    formula = (
        r"a\operatorname{tr}(\mathbf{A}\,\mathrm{d}\mathbf{W}) + "
        r"b\operatorname{tr}(\mathbf{B}\,\mathrm{d}\mathbf{W}) = "
        r"\operatorname{tr}((a\mathbf{A} + b\mathbf{B})\,\mathrm{d}\mathbf{W})"
    )
    return Move("linearity of the trace", formula, line, new)


def identify(line: sp.Basic, dvar: Direction) -> tuple[Move, sp.Basic]:
    r""":math:`\operatorname{tr}(A\,\mathrm{d}W) = \operatorname{tr}(G^\top\mathrm{d}W)`
    with :math:`G = A^\top` (pushed in), and ``G``."""
    form = _term(line, dvar)
    if form is None:
        raise UnsupportedError(f"derivation by differentials: {line} is not tr(A dW)")
    c, mats = form
    gradient = transposed(_product([c], mats))
    new = sp.Trace(sp.MatMul(sp.Transpose(gradient), dvar))
    formula = r"\operatorname{tr}(\mathbf{A}\,\mathrm{d}\mathbf{W}) = \operatorname{tr}((\mathbf{A}^\top)^\top\,\mathrm{d}\mathbf{W})"  # noqa: E501
    return Move("identification form", formula, line, new), gradient
