r"""A matrix expression at concrete sizes in let-form: every node's entries are fresh symbols.

Writing a depth-:math:`L` network out entry by entry gives a tree of size about
:math:`\text{width}^L`, because each entry of a layer repeats the whole of the layer below.
In let-form (Appel, *Compiling with Continuations*, 1992, ch. 2; the "Wengert list" of
automatic differentiation, Griewank & Walther, *Evaluating Derivatives*, 2008, §2.2) each
node :math:`u` of the expression graph gets its own entry symbols :math:`u_{kl}`, and its
*local definition* :math:`u_{kl} = \phi_u(\ldots)` is a small expression in the entry
symbols of its children only (a row times a column for ``W @ a``, ``tanh(z_kl)`` for
``tanh(z)``). The size of the let-form is linear in the size of the graph.

The *true adjoint* of a node is the scalar reverse accumulation over entries (Griewank &
Walther 2008, §3.2), with partial derivatives from SymPy's own ``diff`` of the local
definitions — no matrix-calculus rule is involved:

.. math:: \bar v_{ij} = \sum_{u \text{ uses } v}\ \sum_{k,l}
          \frac{\partial \phi_{u,kl}}{\partial v_{ij}}\ \bar u_{kl}.

Which nodes use which is read off the free symbols of the local definitions, not from the
engine's notion of a node's arguments, so a dependence the engine overlooked still counts.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import sympy as sp

from symdl.derive.matrix_rules import _CONSTANT_ARRAYS, Sweep, _children
from symdl.derive.matrix_tidy import diff_off_jumps
from symdl.errors import UnsupportedError
from symdl.explicit import Instance
from symdl.ops import is_array
from symdl.shapes import Scope

__all__ = ["MAX_LET_ENTRIES", "LetForm", "let_form", "let_instances"]

#: The most entry symbols of the variables at one instance. The let-form's cost is linear
#: in them (the entrywise expansion caps them at ``symdl.explicit.MAX_ENTRIES``).
MAX_LET_ENTRIES = 20_000


@dataclass(frozen=True)
class LetForm:
    """One scalar function at one :class:`~symdl.explicit.Instance`, node by node.

    ``nodes`` are all nodes of the graph, children first; ``value`` gives each node its
    entries (fresh symbols for an inner node, the instance's entry symbols for a variable);
    ``local`` gives each inner node its local definition in its children's entries;
    ``depends`` are the nodes through which the function depends on a target.
    """

    instance: Instance
    root: sp.Basic
    nodes: tuple[sp.Basic, ...]
    value: Mapping[sp.Basic, sp.Basic]
    local: Mapping[sp.Basic, sp.Basic]
    depends: frozenset[sp.Basic]
    stand: Mapping[sp.Basic, sp.Basic]  # inner node → the symbol standing for it in lowering
    stand_entries: Mapping[str, sp.ImmutableMatrix]

    def lower(self, expr: sp.Basic, extra: Mapping[str, sp.ImmutableMatrix] = {}) -> sp.Basic:
        """``expr`` entry by entry, every node of the graph in it replaced by its entries."""
        entries = ChainMap(dict(extra), self.stand_entries, self.instance.entries)  # type: ignore[arg-type]
        inst = Instance(self.instance.scope, self.instance.sizes, entries)
        return inst.lower(expr.xreplace(self.stand))

    @cached_property
    def definitions(self) -> dict[sp.Symbol, sp.Expr]:
        """Each fresh entry symbol → its local definition."""
        out: dict[sp.Symbol, sp.Expr] = {}
        for node, local in self.local.items():
            for s, e in zip(entries_of(self.value[node]), entries_of(local)):
                out[s] = e
        return out

    @cached_property
    def uses(self) -> dict[sp.Symbol, list[tuple[sp.Basic, int]]]:
        """Each entry symbol → the (node, flat entry index) whose local definition has it."""
        out: dict[sp.Symbol, list[tuple[sp.Basic, int]]] = {}
        for node in self.nodes:
            if node not in self.depends or node not in self.local:
                continue
            for k, e in enumerate(entries_of(self.local[node])):
                for s in e.free_symbols:
                    out.setdefault(s, []).append((node, k))  # type: ignore[arg-type]
        return out

    @cached_property
    def _partials(self) -> dict[tuple[sp.Symbol, sp.Basic, int], sp.Expr]:
        return {}

    def partial(self, s: sp.Symbol, user: sp.Basic, k: int) -> sp.Expr:
        """:math:`\\partial \\phi_{u,k} / \\partial s` by SymPy's ``diff``, a step's Dirac
        delta as 0, as the engine writes it (the derivative off the jump)."""
        key = (s, user, k)
        hit = self._partials.get(key)
        if hit is None:
            hit = diff_off_jumps(entries_of(self.local[user])[k], s)
            self._partials[key] = hit
        return hit

    def true_adjoint(self, v: sp.Basic, bar: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
        """:math:`\\bar v` by scalar reverse accumulation, given ``bar`` of every user."""
        out = []
        for s in entries_of(self.value[v]):
            terms = []
            for user, k in self.uses.get(s, ()):  # type: ignore[call-overload]
                d = self.partial(s, user, k)
                if d != 0:
                    terms.append(d * entries_of(bar[user])[k])
            out.append(sp.Add(*terms))
        return shaped_like(self.value[v], out)

    def targets(self, sweep: Sweep) -> dict[str, sp.Basic]:
        """Each variable the sweep differentiated by → its node."""
        found = {getattr(n, "name", None): n for n in self.nodes if _is_variable(n)}
        return {w: found[w] for w in sweep.held if w in found}


def let_form(f: sp.Basic, instance: Instance, targets: set[sp.Basic]) -> LetForm:
    """The let-form of ``f`` at ``instance``; ``targets`` are the variables differentiated by."""
    nodes = _all_nodes(f)
    value: dict[sp.Basic, sp.Basic] = {}
    local: dict[sp.Basic, sp.Basic] = {}
    stand: dict[sp.Basic, sp.Basic] = {}
    stand_entries: dict[str, sp.ImmutableMatrix] = {}
    depends: set[sp.Basic] = set()
    dependent_symbols: set[sp.Basic] = set()
    view = LetForm(instance, f, (), value, local, frozenset(), stand, stand_entries)
    for k, node in enumerate(nodes):
        if _is_leaf(node):
            v = instance.lower(node)
            value[node] = v
            if node in targets:
                depends.add(node)
                dependent_symbols.update(entries_of(v))
            continue
        defined = view.lower(node.func(*[a.xreplace(stand) for a in node.args]))
        if isinstance(defined, sp.MatrixBase):
            rows, cols = defined.shape
            fresh = sp.ImmutableMatrix(
                rows, cols, lambda i, j, k=k: sp.Dummy(f"v{k}[{i},{j}]", real=True)
            )
            holder: sp.Basic = sp.MatrixSymbol(f"_let{k}", *node.shape)
            stand_entries[holder.name] = fresh
        elif is_array(node):
            raise UnsupportedError(f"cannot write {node} out entry by entry")
        else:
            fresh = sp.Dummy(f"v{k}", real=True)
            holder = fresh
        value[node], local[node], stand[node] = fresh, defined, holder
        if isinstance(node, (sp.MatMul, sp.MatAdd, sp.HadamardProduct)):
            # the engine's tidying flattens c·(A·B) to c·A·B and A + A to 2·A inside a
            # scalar node it writes out (norm, det); both spellings stand for the node
            stand.setdefault(node.doit(deep=False), holder)
        if any(s in dependent_symbols for s in _free(defined)):
            depends.add(node)
            dependent_symbols.update(entries_of(fresh))
    return LetForm(
        instance, f, tuple(nodes), value, local, frozenset(depends), stand, stand_entries
    )


def let_instances(scope: Scope, names: set[str]) -> list[Instance]:
    """The sizes of :func:`symdl.explicit.instances` (2, 3, 4, … then 3, 4, 5, … for the
    symbolic dimensions), with room for as many entries as a deep network has."""
    dims = [d for d in scope.dims() if any(d in scope.shape(n) for n in names)]
    starts = (2, 3) if dims else (0,)
    out = []
    for start in starts:
        sizes = {d: start + k for k, d in enumerate(dims)}
        out.append(Instance.build(scope, sizes, names, max_entries=MAX_LET_ENTRIES))
    return out


def entries_of(v: sp.Basic) -> list[sp.Basic]:
    """The entries of a matrix row by row, or ``[v]`` for a scalar."""
    return list(v) if isinstance(v, sp.MatrixBase) else [v]


def shaped_like(v: sp.Basic, entries: list[sp.Basic]) -> sp.Basic:
    if isinstance(v, sp.MatrixBase):
        return sp.ImmutableMatrix(v.rows, v.cols, entries)
    return entries[0]


def _free(v: sp.Basic) -> set[sp.Basic]:
    out: set[sp.Basic] = set()
    for e in entries_of(v):
        out |= e.free_symbols
    return out


def _is_variable(e: sp.Basic) -> bool:
    return isinstance(e, (sp.MatrixSymbol, sp.Symbol))


def _is_leaf(e: sp.Basic) -> bool:
    if isinstance(e, (sp.Symbol, sp.MatrixSymbol, *_CONSTANT_ARRAYS)) or not e.args:
        return True
    return not is_array(e) and not e.free_symbols


def _all_nodes(f: sp.Basic) -> list[sp.Basic]:
    """Every node of ``f`` (by the engine's notion of a node's arguments), children first."""
    order: list[sp.Basic] = []
    seen: set[sp.Basic] = set()
    stack: list[tuple[sp.Basic, bool]] = [(f, False)]
    while stack:
        node, expanded = stack.pop()
        if node in seen:
            continue
        if expanded:
            seen.add(node)
            order.append(node)
            continue
        stack.append((node, True))
        if not _is_leaf(node):
            stack.extend((c, False) for c in _children(node) if c not in seen)
    return order
