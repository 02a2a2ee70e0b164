r"""Reverse-mode differentiation of shaped expressions, in matrix notation.

The expression is a directed acyclic graph (equal subexpressions are one node). Nodes are
visited from the output back to the inputs; each node's adjoint :math:`\bar Y =
\partial L/\partial Y` (denominator layout: the shape of ``Y``) is the sum of what its
users sent it, and each node sends its arguments their share by the vector-Jacobian
product of its rule (Giles, *Collected matrix derivative results for forward and reverse
mode algorithmic differentiation*, 2008, §3; Petersen & Pedersen, *The Matrix Cookbook*,
2012, §2):

==========================  ==============================================================
:math:`Y = c\,A_1 \cdots A_k`   :math:`\bar A_i = c\,(A_1\cdots A_{i-1})^\top \bar Y
                                (A_{i+1}\cdots A_k)^\top`, :math:`\bar c = \langle \bar Y,
                                A_1\cdots A_k\rangle`
:math:`Y = A \odot B`           :math:`\bar A = \bar Y \odot B`
:math:`Y = A^{\circ p}`         :math:`\bar A = p\,\bar Y \odot A^{\circ (p-1)}`
:math:`Y = A^\top`              :math:`\bar A = \bar Y^\top`
:math:`Y = A^{-1}`              :math:`\bar A = -Y^\top \bar Y Y^\top`
:math:`Y = f(A)` entrywise      :math:`\bar A = \bar Y \odot f'(A)` (``f'`` in the
                                catalogue's canonical form)
:math:`y = \operatorname{sum} A`    :math:`\bar A = \bar y\,\mathbf 1`
:math:`y = \operatorname{tr} A`     :math:`\bar A = \bar y\,I`
:math:`y = \det A`                  :math:`\bar A = \bar y\,\det(A)\,A^{-\top}`
:math:`y = \log\det A`              :math:`\bar A = \bar y\,A^{-\top}`
:math:`y = \lVert A\rVert_F`        :math:`\bar A = \bar y\,A/\lVert A\rVert_F`
:math:`y = \operatorname{logsumexp} A`  :math:`\bar A = \bar y\,\operatorname{softmax}(A)`
:math:`P = \operatorname{softmax} Z`    :math:`\bar Z = P \odot (\bar P - \langle\bar P,
                                        P\rangle\mathbf 1)`
:math:`S = \operatorname{log\_softmax} Z`  :math:`\bar Z = \bar S - \operatorname{softmax}(Z)
                                           \operatorname{sum}(\bar S)`
==========================  ==============================================================

Reductions along one axis (``softmax(Z, axis=1)``, ``logsumexp(A, axis=0)``, …) have their
rules in :mod:`symdl.derive.matrix_axis`.

Each rule is an identity for every size, so the result holds for all values of the
symbolic dimensions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import sympy as sp
from sympy.core.function import Application
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix

from symdl.derive.matrix_axis import axis_composite_share, axis_logsumexp_share
from symdl.derive.matrix_tidy import Tidy, axis_softmax_argument, diff_off_jumps, is_softmax
from symdl.errors import UnsupportedError
from symdl.nodes import (
    AxisLogSumExp,
    EntrySum,
    Entrywise,
    FilledLike,
    LogSumExp,
    axis_log_softmax_argument,
    log_softmax_argument,
)
from symdl.ops import _softmax, is_array
from symdl.shapes import shape_of

__all__ = ["Sweep", "reverse_sweep"]

_CONSTANT_ARRAYS = (sp.OneMatrix, sp.ZeroMatrix, sp.Identity, FilledLike)


@dataclass(frozen=True)
class Sweep:
    """What one reverse sweep found: the gradient of each variable, and every adjoint.

    The sweep works on placeholders for forward subexpressions (see :class:`_Held`):
    ``held`` and ``adjoints`` are written with them, ``resolve`` writes them out, and
    ``gradients`` are the resolved gradients (computed on first use).
    """

    held: Mapping[str, sp.Basic]  # variable → gradient, with placeholders
    adjoints: Mapping[sp.Basic, sp.Basic]  # node → ∂L/∂node, with placeholders
    order: tuple[sp.Basic, ...]  # the nodes that depend on a variable, inputs first
    fan_out: Mapping[sp.Basic, int]  # node → how many of its arguments depend
    definitions: tuple[tuple[sp.Basic, sp.Basic], ...]  # (placeholder, adjoint), resolved
    back: Mapping[sp.Basic, sp.Basic]  # placeholder → the forward node it stands for
    names: Mapping[sp.Basic, sp.Basic] = field(default_factory=dict)
    memo: dict[sp.Basic, sp.Basic] = field(default_factory=dict, compare=False, repr=False)
    pushed: dict[sp.Basic, sp.Basic] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def gradients(self) -> dict[str, sp.Basic]:
        return {w: _collect(self.resolve(g)) for w, g in self.held.items()}

    def resolve(self, e: sp.Basic) -> sp.Basic:
        """``e`` with each placeholder replaced by its node (or that node's name)."""
        resolved = self._substitute(e)
        if resolved is e:
            return e
        # a held product that was transposed: (x.T @ A).T is A.T @ x
        return self._untransposed(resolved)

    def _untransposed(self, e: sp.Basic) -> sp.Basic:
        """``e`` with every transposed product or transpose pushed inward, bottom-up.

        SymPy's ``replace`` walks the written-out gradient as a tree, visiting a subtree
        once for every path to it (quadratic in depth for an MLP, where each layer's
        adjoint reuses the layer above); this visits each distinct subexpression once.
        """
        hit = self.pushed.get(e)
        if hit is not None:
            return hit
        new = e
        if e.args and not isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
            args = tuple(self._untransposed(a) for a in e.args)
            if args != e.args:
                new = e.func(*args)
            if isinstance(new, sp.Transpose) and isinstance(new.arg, (sp.MatMul, sp.Transpose)):
                new = Tidy().transpose(new.arg)
        self.pushed[e] = new
        return new

    def _substitute(self, e: sp.Basic) -> sp.Basic:
        mapping = {h: self._full(h) for h in e.atoms(sp.MatrixSymbol) if h in self.back}
        return e.xreplace(mapping) if mapping else e

    def _full(self, h: sp.Basic) -> sp.Basic:
        # a held adjoint refers to earlier placeholders: each is written out once
        hit = self.memo.get(h)
        if hit is None:
            hit = self._substitute(self._meaning(h))
            self.memo[h] = hit
        return hit

    def _meaning(self, h: sp.Basic) -> sp.Basic:
        node = self.back[h]
        if not self.names:
            return node
        return self.names.get(node) or node.xreplace(self.names)

    def present(self) -> set[sp.Basic]:
        """Every forward subexpression the gradients use, each once."""
        seen: set[sp.Basic] = set()
        stack = list(self.held.values())
        while stack:
            e = stack.pop()
            if e in seen or isinstance(e, sp.Lambda):
                continue
            seen.add(e)
            if e in self.back:
                stack.append(self.back[e])
            stack.extend(e.args)
        return seen


def _collect(g: sp.Basic) -> sp.Basic:
    """Like terms of a resolved gradient collected: two placeholders can stand for one
    product (``x @ s`` and ``(s @ x.T).T`` for a ``1×1`` ``s``), so ``x s + x s = 2 x s``."""
    return Tidy().matadd(*g.args) if isinstance(g, sp.MatAdd) else g


def norm_argument(e: sp.Basic) -> sp.Basic | None:
    """``A`` when ``e`` is ``sqrt(sum(A**2))``, the form ``norm(A)`` parses to."""
    if (
        isinstance(e, sp.Pow)
        and e.exp == sp.S.Half
        and isinstance(e.base, EntrySum)
        and isinstance(e.base.arg, sp.HadamardPower)
        and e.base.arg.exp == 2
    ):
        return e.base.arg.base
    return None


def logdet_argument(e: sp.Basic) -> sp.Basic | None:
    """``A`` when ``e`` is ``log(det(A))``."""
    if isinstance(e, sp.log) and isinstance(e.args[0], sp.Determinant):
        return e.args[0].arg
    return None


def reverse_sweep(
    f: sp.Basic,
    wrt: Sequence[sp.Basic],
    *,
    tidy: Tidy,
    seed: sp.Basic | None = None,
    names: Mapping[sp.Basic, sp.Basic] | None = None,
    adjoint_names: Mapping[sp.Basic, sp.Basic] | None = None,
) -> Sweep:
    r"""Gradients of the scalar (or ``1×1``) ``f`` with respect to each symbol in ``wrt``.

    With ``names`` (forward node → placeholder symbol) every contribution is written in
    those names; with ``adjoint_names`` (node → placeholder) the adjoint of each listed
    node is recorded as a definition and its placeholder is sent on instead — the
    textbook schedule :math:`\delta_1 = (W_2^\top \delta_2) \odot (1 - \mathbf a_1^2)`.
    """
    names = names or {}
    adjoint_names = adjoint_names or {}
    definitions: list[tuple[sp.Basic, sp.Basic]] = []
    targets = set(wrt)
    order = _topological(f, targets)
    if seed is None:
        seed = sp.OneMatrix(1, 1) if is_array(f) else sp.S.One
    pending: dict[sp.Basic, list[sp.Basic]] = {f: [seed]} if order else {}
    adjoints: dict[sp.Basic, sp.Basic] = {}
    depends = set(order)
    held = _Held()
    # without names the adjoints are held too: the chain δ₁ = (W₂ᵀδ₂) ⊙ …, δ₂ = … nests
    # as deep as the network, and every rule would recompute its shape
    hold_adjoints = not names and not adjoint_names
    for node in reversed(order):
        parts = pending.pop(node, [])
        if not parts:
            continue
        bar = tidy.matadd(*parts) if is_array(node) else sp.Add(*parts)
        adjoints[node] = held.unheld(bar)
        if node in targets:
            continue
        holder = adjoint_names.get(node)
        if holder is not None and bar not in adjoint_names.values():
            definitions.append((holder, bar))
            bar = holder
        elif (
            hold_adjoints
            and is_array(bar)
            and not isinstance(bar, sp.MatrixSymbol)
            and any(a in held.back for a in bar.atoms(sp.MatrixSymbol))
        ):  # constants (𝟙, c·𝟙) stay as they are, so that tidying still sees them
            bar = held.adjoint(bar)
        for child, share in _shares(node, bar, depends, tidy, held):
            pending.setdefault(child, []).append(tidy(share))
    held_gradients: dict[str, sp.Basic] = {}
    for w in wrt:
        g = adjoints.get(w)
        if g is None:
            g = sp.ZeroMatrix(*w.shape) if is_array(w) else sp.S.Zero
        held_gradients[w.name] = tidy(g)
    fan_out = {n: sum(1 for k in _children(n) if k in depends) for n in order}
    sweep = Sweep(held_gradients, adjoints, tuple(order), fan_out, (), dict(held.back), names)
    resolved = tuple((h, sweep.resolve(d)) for h, d in definitions)
    return Sweep(held_gradients, adjoints, tuple(order), fan_out, resolved, dict(held.back), names)


class _Held:
    """Placeholders for the arguments of a node while its rule runs.

    A rule builds expressions from the node's arguments; building them from the full
    subexpressions makes SymPy recompute shapes down the whole chain each time (quadratic
    in depth). Each array argument is stood in for by a matrix symbol of its shape, and the
    symbols are replaced by the subexpressions once, at the end.
    """

    def __init__(self) -> None:
        self.forward: dict[sp.Basic, sp.Basic] = {}
        self.back: dict[sp.Basic, sp.Basic] = {}
        self.adjoints: set[sp.Basic] = set()

    def of(self, e: sp.Basic) -> sp.Basic:
        if not is_array(e) or isinstance(e, (sp.MatrixSymbol, *_CONSTANT_ARRAYS)):
            return e
        if isinstance(e, sp.Transpose) and isinstance(e.arg, sp.MatrixSymbol):
            return e  # its shape is cheap, and rules simplify (Kᵀ)ᵀ = K
        hit = self.forward.get(e)
        if hit is None:
            shape = self.shallow(e).shape  # first: this names the arguments' placeholders
            hit = sp.MatrixSymbol(f"_held{len(self.forward)}", *shape)
            self.forward[e] = hit
            self.back[hit] = e
        return hit

    def adjoint(self, bar: sp.Basic) -> sp.Basic:
        """A placeholder for an adjoint (built from placeholders, so its shape is cheap)."""
        hit = sp.MatrixSymbol(f"_held{len(self.forward)}", *bar.shape)
        self.forward[bar] = hit
        self.back[hit] = bar
        self.adjoints.add(hit)
        return hit

    def unheld(self, bar: sp.Basic) -> sp.Basic:
        """``bar``, or what it stands for when it is an adjoint's placeholder."""
        while bar in self.adjoints:
            bar = self.back[bar]
        return bar

    def shallow(self, e: sp.Basic) -> sp.Basic:
        """``e`` with each array argument replaced by its placeholder."""
        if isinstance(e, (sp.MatrixSymbol, sp.Symbol, *_CONSTANT_ARRAYS)) or not e.args:
            return e
        if isinstance(e, ElementwiseApplyFunction):
            return Entrywise(e.function, self.of(e.expr))
        return e.func(*[self.of(a) for a in e.args])


def _children(e: sp.Basic) -> tuple[sp.Basic, ...]:
    if isinstance(e, (sp.Symbol, sp.MatrixSymbol, *_CONSTANT_ARRAYS)):
        return ()
    inner = _composite_argument(e)
    if inner is not None:
        return (inner,)
    if isinstance(e, ElementwiseApplyFunction):
        return (e.expr, *_parameters(e))
    if isinstance(
        e, (sp.Transpose, sp.Inverse, sp.Trace, sp.Determinant, EntrySum, LogSumExp, AxisLogSumExp)
    ):
        return (e.args[0],)
    if isinstance(e, DiagMatrix):
        return (e.args[0],)
    return tuple(e.args)


def _composite_argument(e: sp.Basic) -> sp.Basic | None:
    if is_softmax(e):
        return log_softmax_argument(e.expr)  # type: ignore[attr-defined]
    along = axis_softmax_argument(e)
    if along is None and isinstance(e, sp.MatAdd):
        along = axis_log_softmax_argument(e)
    if along is not None:
        return along[0]
    if isinstance(e, sp.MatAdd):
        return log_softmax_argument(e)
    return norm_argument(e) if isinstance(e, sp.Pow) else logdet_argument(e)


def _parameters(e: ElementwiseApplyFunction) -> tuple[sp.Basic, ...]:
    """Scalar subexpressions of an entrywise function's body other than its variable."""
    (var,), body = e.function.variables, e.function.expr
    found: list[sp.Basic] = []

    def walk(t: sp.Basic) -> None:
        if not t.has(var):
            if t.free_symbols and t not in found:
                found.append(t)
            return
        for a in t.args:
            walk(a)

    walk(body)
    return tuple(found)


def _topological(f: sp.Basic, targets: set[sp.Basic]) -> list[sp.Basic]:
    """The nodes of ``f`` that depend on a target, each after all of its children."""
    order: list[sp.Basic] = []
    memo: dict[sp.Basic, bool] = {}
    stack: list[tuple[sp.Basic, bool]] = [(f, False)]
    while stack:
        node, expanded = stack.pop()
        if node in memo:
            continue
        kids = _children(node)
        if not expanded:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if k not in memo)
            continue
        hit = node in targets or any(memo.get(k, False) for k in kids)
        memo[node] = hit
        if hit:
            order.append(node)
    return order


def _shares(
    real: sp.Basic, bar: sp.Basic, real_depends: set[sp.Basic], t: Tidy, held: _Held
) -> list[tuple[sp.Basic, sp.Basic]]:
    """``(child, contribution to the child's adjoint)`` for each child that depends.

    The rules below see the node with its arguments held (:class:`_Held`)."""
    out: list[tuple[sp.Basic, sp.Basic]] = []
    depends = {held.of(c) for c in _children(real) if c in real_depends}

    def send(child: sp.Basic, share: sp.Basic) -> None:
        if child in depends:
            out.append((held.back.get(child, child), share))

    inner = _composite_argument(real)
    if inner is not None:
        _composite_share(real, held.of(real), held.of(inner), bar, t, send)
        return out
    node = held.shallow(real)
    value = held.of(real)  # the node's own value, as the rules that use it name it
    if isinstance(node, (sp.MatAdd, sp.Add)):
        for a in node.args:
            send(a, bar)
    elif isinstance(node, sp.MatMul):
        _matmul_share(node, bar, t, send, depends)
    elif isinstance(node, sp.HadamardProduct):
        for i, a in enumerate(node.args):
            if a in depends:
                send(a, t.hadamard(bar, *[b for j, b in enumerate(node.args) if j != i]))
    elif isinstance(node, sp.HadamardPower):
        base, p = node.args
        send(base, t.matmul(p, t.hadamard(bar, t.power(base, p - 1))))
        if p in depends:
            send(p, t.entry_sum(t.hadamard(bar, value, _apply(sp.log, base))))
    elif isinstance(node, sp.Transpose):
        send(node.arg, t.transpose(bar))
    elif isinstance(node, sp.Inverse):
        yt = sp.Transpose(value)
        send(node.arg, t.matmul(-1, yt, bar, yt))
    elif isinstance(node, ElementwiseApplyFunction):
        _elementwise_share(node, value, bar, t, send, depends)
    elif isinstance(node, DiagMatrix):
        v = node.args[0]
        diagonal = t.matmul(
            t.hadamard(bar, sp.Identity(bar.shape[0])), sp.OneMatrix(bar.shape[0], 1)
        )
        send(v, diagonal if v.shape[1] == 1 else t.transpose(diagonal))
    elif isinstance(node, EntrySum):
        send(node.arg, t.matmul(bar, sp.OneMatrix(*node.arg.shape)))
    elif isinstance(node, LogSumExp):
        send(node.arg, t.matmul(bar, _softmax(node.arg)))
    elif isinstance(node, AxisLogSumExp):
        send(node.arg, axis_logsumexp_share(node, bar, t))
    elif isinstance(node, sp.Trace):
        send(node.arg, t.matmul(bar, sp.Identity(node.arg.shape[0])))
    elif isinstance(node, sp.Determinant):
        send(node.arg, t.matmul(bar * node, sp.Transpose(sp.Inverse(node.arg))))
    elif isinstance(node, sp.Mul):
        for i, a in enumerate(node.args):
            send(a, bar * sp.Mul(*[b for j, b in enumerate(node.args) if j != i]))
    elif isinstance(node, sp.Pow):
        base, p = node.args
        send(base, bar * p * base ** (p - 1))
        send(p, bar * node * sp.log(base))
    elif isinstance(node, Application) and not is_array(node):
        for i, a in enumerate(node.args):
            if a in depends:
                d = sp.Dummy("u", real=True)
                args = [d if j == i else b for j, b in enumerate(node.args)]
                send(a, bar * diff_off_jumps(node.func(*args), d).xreplace({d: a}))
    else:
        raise UnsupportedError(f"the matrix engine has no rule for {type(node).__name__}: {node}")
    return out


def _composite_share(  # type: ignore[no-untyped-def]
    real: sp.Basic, node: sp.Basic, inner: sp.Basic, bar: sp.Basic, t: Tidy, send
) -> None:
    if axis_composite_share(real, node, inner, bar, t, send):
        return
    if is_softmax(real):
        shift = t.matmul(t.entry_sum(t.hadamard(bar, node)), sp.OneMatrix(*shape_of(node)))
        send(inner, t.hadamard(node, t.matadd(bar, t.matmul(-1, shift))))
    elif isinstance(real, sp.MatAdd):  # log_softmax
        send(inner, t.matadd(bar, t.matmul(-t.entry_sum(bar), _softmax(inner))))
    elif isinstance(real, sp.Pow):  # the Frobenius norm
        send(inner, t.matmul(bar / node, inner))
    else:  # log det
        send(inner, t.matmul(bar, sp.Transpose(sp.Inverse(inner))))


def _matmul_share(node: sp.MatMul, bar: sp.Basic, t: Tidy, send, depends) -> None:  # type: ignore[no-untyped-def]
    scalars = [a for a in node.args if not is_array(a)]
    mats = [a for a in node.args if is_array(a)]
    coeff = sp.Mul(*scalars)
    for i, m in enumerate(mats):
        if m not in depends:
            continue
        left = [t.transpose(t.matmul(*mats[:i]))] if i else []
        right = [t.transpose(t.matmul(*mats[i + 1 :]))] if i + 1 < len(mats) else []
        send(m, t.matmul(coeff, *left, bar, *right))
    product = t.matmul(*mats)
    for i, s in enumerate(scalars):
        if s in depends:
            rest = sp.Mul(*[b for j, b in enumerate(scalars) if j != i])
            send(s, rest * t.entry_sum(t.hadamard(bar, product)))


def _elementwise_share(  # type: ignore[no-untyped-def]
    node: ElementwiseApplyFunction, value: sp.Basic, bar: sp.Basic, t: Tidy, send, depends
) -> None:
    (var,), body = node.function.variables, node.function.expr
    if node.expr in depends:
        send(node.expr, t.hadamard(bar, _slope(node, value, t)))
    for p in _parameters(node):
        if p in depends:
            d = sp.Dummy("c", real=True)
            partial = diff_off_jumps(body.xreplace({p: d}), d).xreplace({d: p})
            send(p, t.entry_sum(t.hadamard(bar, t.elementwise(sp.Lambda(var, partial), node.expr))))


def _slope(node: ElementwiseApplyFunction, value: sp.Basic, t: Tidy) -> sp.Basic:
    """``f'(Z)`` for ``Y = f(Z)``, written in ``Y`` where the derivative is a function of the
    value (``1 − Y²`` for tanh, ``Y ⊙ (1 − Y)`` for the sigmoid, ``Y`` for exp), as
    textbooks write it; otherwise in ``Z`` (``H(Z)`` for ReLU)."""
    (var,), body = node.function.variables, node.function.expr
    derivative = diff_off_jumps(body, var)
    u = sp.Dummy("y", real=True)
    in_value = derivative.xreplace({body: u})
    if not in_value.has(var) and in_value.has(u):
        return t.elementwise(sp.Lambda(var, in_value.xreplace({u: var})), value)
    return t.elementwise(sp.Lambda(var, derivative), node.expr)


def _apply(fn: type, arg: sp.Basic) -> sp.Basic:
    var = sp.Dummy("d", real=True)
    return Entrywise(sp.Lambda(var, fn(var)), arg)
