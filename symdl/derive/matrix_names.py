r"""Textbook names for the shared parts of a gradient: ``z1 = W1 @ x + b1``, ``a1 = tanh(z1)``.

A backprop derivation reads as a short list of definitions followed by the gradients. The
names follow the textbook convention (Goodfellow, Bengio & Courville, *Deep Learning*,
2016, §6.5): ``a1, a2, …`` for the outputs of entrywise activations in forward order,
``z1, z2, …`` for their arguments, ``p`` for a softmax, ``r`` for a sum (a residual)
whose adjoint flows into two or more of its arguments, ``s`` for the scores a softmax along
an axis takes (attention: ``QKᵀ`` in ``softmax(QKᵀ/√d, axis=1)``, before its scale, so
``ds`` carries the ``1/√d``), and ``t`` for any other such node,
and ``dz1`` (:math:`\delta_1 = \partial L/\partial \mathbf z_1`) for the adjoint of such
a node. Every name stands for one expression, so substituting the definitions back gives
exactly the unnamed gradient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from symdl.derive.matrix_tidy import axis_softmax_argument, is_softmax
from symdl.nodes import Entrywise
from symdl.ops import is_array

__all__ = ["Naming", "choose_names"]

_TRIVIAL = (sp.Symbol, sp.MatrixSymbol, sp.OneMatrix, sp.ZeroMatrix, sp.Identity, sp.Number)


@dataclass(frozen=True)
class Naming:
    """Which forward nodes and which adjoints get names, and the placeholders standing in."""

    forward: Mapping[sp.Basic, sp.Basic]  # node → placeholder
    adjoint: Mapping[sp.Basic, sp.Basic]  # node → placeholder for its adjoint

    def definitions(
        self, adjoint_definitions: Sequence[tuple[sp.Basic, sp.Basic]], outputs: Sequence[sp.Basic]
    ) -> tuple[tuple[str, sp.Basic], ...]:
        """The definitions the outputs need, in order: forward quantities, then adjoints."""
        forward = [(h, _replace_inside(n, self.forward)) for n, h in self.forward.items()]
        everything = forward + list(adjoint_definitions)
        needed: set[sp.Basic] = set()
        frontier = [a for o in outputs for a in _holders(o)]
        defined = dict(everything)
        while frontier:
            h = frontier.pop()
            if h in needed or h not in defined:
                continue
            needed.add(h)
            frontier.extend(_holders(defined[h]))
        return tuple((h.name, e) for h, e in everything if h in needed)


def choose_names(
    present: set[sp.Basic],
    order: Sequence[sp.Basic],
    fan_out: Mapping[sp.Basic, int],
    adjoints: Mapping[sp.Basic, sp.Basic],
    reserved: set[str],
) -> Naming:
    """Name the forward activations, and the nodes whose value or adjoint is used twice.

    ``present`` holds every subexpression the gradients use, ``order`` lists the forward
    nodes inputs first, ``fan_out`` how many of a node's
    arguments depend on the variables, ``adjoints`` the adjoints from a first sweep;
    ``reserved`` holds the variable names, which are never reused.
    """
    used = set(reserved)

    def fresh(stem: str, number: int | None) -> str:
        k = number
        while True:
            name = stem if k is None else f"{stem}{k}"
            if name not in used:
                used.add(name)
                return name
            k = 2 if k is None else k + 1

    chosen: dict[sp.Basic, str] = {}
    layer = 0
    for node in order:
        if node not in present:
            continue
        if is_softmax(node) or axis_softmax_argument(node) is not None:
            chosen[node] = fresh("p", None)
        elif isinstance(node, ElementwiseApplyFunction):
            layer += 1
            if not isinstance(node.expr, _TRIVIAL) and node.expr not in chosen:
                chosen[node.expr] = fresh("z", layer)
            chosen[node] = fresh("a", layer)
    root = order[-1] if order else None
    shared = [
        n
        for n in order
        if n is not root
        and fan_out.get(n, 0) >= 2
        and is_array(n)
        and _worth_naming(n)
        and _worth_naming(adjoints.get(n, sp.S.Zero))
    ]
    stems: dict[sp.Basic, str] = {}
    # the argument of a softmax along an axis holds the attention scores QKᵀ (Vaswani et
    # al., 2017, §3.2.1), whose adjoint is named ds
    scores = {a[0] for a in map(axis_softmax_argument, order) if a is not None}
    scores |= {_scaled(a) for a in scores} - {None}  # QKᵀ in QKᵀ/√d
    for node in shared:
        if node not in chosen and isinstance(node, sp.MatAdd):
            chosen[node] = fresh("r", None)
        stems[node] = chosen.get(node) or fresh("s" if node in scores else "t", None)
    ordered = sorted(chosen, key=order.index)
    forward = {n: _placeholder(chosen[n], n) for n in ordered}
    adjoint = {n: _placeholder(fresh(f"d{stems[n]}", None), n) for n in shared}
    return Naming(forward, adjoint)


def _scaled(e: sp.Basic) -> sp.Basic | None:
    """``M`` when ``e`` is ``c·M`` with a scalar ``c``, else None."""
    if isinstance(e, sp.MatMul):
        arrays = [a for a in e.args if is_array(a)]
        if len(arrays) == 1 and len(e.args) > 1:
            return arrays[0]
    return None


def _holders(e: sp.Basic) -> list[sp.Basic]:
    return [s for s in e.free_symbols if isinstance(s, (sp.MatrixSymbol, sp.Symbol))] + list(
        e.atoms(sp.MatrixSymbol)
    )


def _placeholder(name: str, node: sp.Basic) -> sp.Basic:
    if is_array(node):
        return sp.MatrixSymbol(name, *node.shape)
    return sp.Symbol(name, real=True)


def _replace_inside(node: sp.Basic, placeholders: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    if isinstance(node, ElementwiseApplyFunction):
        return Entrywise(node.function, node.expr.xreplace(placeholders))
    return node.func(*[a.xreplace(placeholders) for a in node.args])


def _worth_naming(node: sp.Basic) -> bool:
    if isinstance(node, _TRIVIAL):
        return False
    if isinstance(node, sp.Transpose) and isinstance(node.arg, _TRIVIAL):
        return False
    if isinstance(node, sp.MatMul) and any(isinstance(a, sp.OneMatrix) for a in node.args):
        return False  # a broadcast scalar
    if not is_array(node) and not any(
        isinstance(a, (sp.MatrixSymbol, sp.Symbol)) and not a.is_integer for a in node.free_symbols
    ):
        return False  # a function of the dimensions only
    return not (isinstance(node, sp.MatMul) and node.args[0] == -1 and len(node.args) == 2)
