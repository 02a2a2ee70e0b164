r"""Proof that a reverse sweep is right at concrete sizes, by induction over the sweep.

The reverse sweep (:mod:`symdl.derive.matrix_rules`) gives every node :math:`v` of the
expression graph an adjoint :math:`E_v`, written with placeholders for forward nodes and
for the adjoints of ``v``'s users. At an instance (concrete sizes) the claim is that each
:math:`E_v` equals the true adjoint :math:`\bar v` of the let-form
(:mod:`symdl.derive.matrix_letform`), the scalar reverse accumulation of SymPy's partial
derivatives of the local definitions. The proof runs in reverse topological order:

* the output's adjoint is the seed: the engine's :math:`E_f` must be :math:`1`;
* for a node :math:`v` all of whose users :math:`u` are already proved
  (:math:`E_u = \bar u`), give each user's adjoint one fresh symbol matrix :math:`G_u`, used
  on *both* sides — on the engine's side for the placeholder that stands for
  :math:`E_u`, on the true side in :math:`\bar v = \sum_u \sum_{kl}
  \partial\phi_{u,kl}/\partial v_{ij}\, G_{u,kl}` — and decide
  :math:`E_v - \bar v = 0` entry by entry (two nodes whose adjoints the engine wrote
  identically share their symbols: one value, one symbol).

For a variable :math:`W` the true adjoint is :math:`\partial f/\partial W` (the chain rule
over the let-form: Griewank & Walther 2008, §3.2), so the last steps prove the gradients.

Each comparison is local: its size depends on the node and its users, not on the depth of
the graph, so the whole proof is linear in the size of the graph (where the full entrywise
expansion of a depth-:math:`L` network grows like :math:`\text{width}^L`). A comparison
that needs the relation between a node and its children (the engine writes
:math:`1 - a^2` where ``diff`` gives :math:`1 - \tanh^2 z`) is decided by first writing
every local definition (and every proved adjoint) that occurs back as its symbol
(:math:`\tanh z \to a`), then by substituting, a level at a time and expanding after
each: the users' adjoints :math:`G_u \to E_u`, the users' local definitions
(:math:`a \to \tanh z`), then any proved adjoint (up to :data:`LEVELS` levels), then
the local definitions of the latest node that occurs, one node at a time (up to
:data:`PEEL` nodes: both sides are then written in the same earlier nodes, where
substituting every definition at once would write them in different ones); only if that
fails, the same again with each difference brought over one common denominator (``det``,
``inv``). Every
rewriting is an equation of the let-form or of an earlier step, so a difference that
reaches zero is a proof; a difference that does not is *not shown*, never *proved*: the
step is named in the result, and the caller's numeric checks decide whether the claim is
wrong.

Assumptions on the variables enter as the instance's constraints (the last entry of a
probability vector is one minus the others; symmetric entries are tied), applied to every
difference, as in the entrywise check.

Why not the entrywise expansion of :func:`symdl.verify.check.check_derivative`: it writes
:math:`f` out entry by entry, a tree of size about :math:`\text{width}^L` for a depth-``L``
network (28 s at depth 4, out of budget at depth 5), and attention's expansion does not
simplify within any budget; the induction needs a few small comparisons per node.
"""

from __future__ import annotations

import time
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass

import sympy as sp

from symdl.derive.matrix_letform import LetForm, entries_of, let_form, shaped_like
from symdl.derive.matrix_rules import Sweep
from symdl.explicit import Instance

__all__ = ["LEVELS", "PEEL", "Induction", "prove_sweep"]

#: How many levels of proved adjoints a comparison may substitute before giving up.
LEVELS = 3
#: How many forward nodes' local definitions a comparison may substitute, one at a time.
PEEL = 6


@dataclass(frozen=True)
class Induction:
    """The outcome of the proof at one instance: ``proved`` or ``not shown`` (with where)."""

    proved: bool
    steps: int  # comparisons made (nodes whose adjoint was shown equal)
    sizes: str
    detail: str


class _Stop(Exception):
    pass


def prove_sweep(
    f: sp.Basic, sweep: Sweep, instance: Instance, *, timeout: float = float("inf")
) -> Induction:
    """Show that every adjoint of ``sweep`` (of the scalar ``f``) is the true one at
    ``instance``, as the module docstring describes. Stops after ``timeout`` seconds (a
    stopped proof is not shown; run it under :func:`symdl.budget.run_with_budget` to bound
    a single SymPy call as well)."""
    deadline = time.monotonic() + timeout
    targets = _targets(f, sweep)
    lf = let_form(f, instance, set(targets.values()))
    proof = _Proof(lf, sweep, deadline)
    try:
        steps = proof.run(targets)
    except _Stop as stop:
        return Induction(False, proof.steps, instance.describe(), str(stop))
    return Induction(
        True,
        steps,
        instance.describe(),
        f"every adjoint of the reverse sweep ({steps} nodes) equals the reverse accumulation "
        "of SymPy's partial derivatives of the let-form, node by node",
    )


def _targets(f: sp.Basic, sweep: Sweep) -> dict[str, sp.Basic]:
    found = {
        getattr(a, "name", None): a
        for a in (f.atoms(sp.MatrixSymbol) | f.free_symbols)
        if isinstance(a, (sp.MatrixSymbol, sp.Symbol))
    }
    return {w: found[w] for w in sweep.held if w in found}


class _Proof:
    def __init__(self, lf: LetForm, sweep: Sweep, deadline: float) -> None:
        self.lf, self.sweep, self.deadline = lf, sweep, deadline
        self.steps = 0
        self.bar: dict[sp.Basic, sp.Basic] = {}  # proved node → its adjoint symbols G_u
        self.bar_definitions: dict[sp.Symbol, sp.Expr] = {}  # G_u entries → E_u entries
        self.bar_reverse: dict[sp.Expr, sp.Symbol] = {}  # E_u entries → G_u entries
        self.by_adjoint: dict[sp.Basic, sp.Basic] = {}  # E_u (with placeholders) → u
        self.reverse = {
            e: s for s, e in lf.definitions.items() if not (e.is_number or isinstance(e, sp.Symbol))
        }
        self.constraints = lf.instance.constraints()
        self.constants = {  # entry symbol of a node no target reaches → its definition
            s: e
            for node, local in lf.local.items()
            if node not in lf.depends
            for s, e in zip(entries_of(lf.value[node]), entries_of(local))
        }
        self.rank = {  # entry symbol → the position of its node, inputs first
            s: k
            for k, node in enumerate(lf.nodes)
            if node in lf.local
            for s in entries_of(lf.value[node])
        }

    def run(self, targets: Mapping[str, sp.Basic]) -> int:
        lf = self.lf
        wanted = {node: name for name, node in targets.items()}
        for v in reversed(lf.nodes):
            if v not in lf.depends:
                continue
            if v in wanted:
                engine = self.sweep.held[wanted[v]]
            elif v in lf.local:
                engine = self.sweep.adjoints.get(v, _zero(v))
            else:
                continue  # a variable nobody asked about: no adjoint needed
            claimed = self._instantiate(engine, v)
            # the output's adjoint is the seed ∂L/∂L = 1
            true = self._seed() if v == lf.root else lf.true_adjoint(v, self.bar)
            self._compare(v, claimed, true)
            if v in wanted:
                continue
            self.by_adjoint.setdefault(self.sweep.adjoints.get(v, _zero(v)), v)
            self._record(v, claimed, self.sweep.adjoints.get(v, _zero(v)))
            self.steps += 1
        return self.steps

    def _seed(self) -> sp.Basic:
        root = self.lf.root
        return self.lf.lower(sp.OneMatrix(1, 1)) if root.is_Matrix else sp.S.One

    def _record(self, v: sp.Basic, claimed: sp.Basic, engine: sp.Basic) -> None:
        """Give ``v``'s proved adjoint its symbols ``G_v``: those of an earlier node whose
        adjoint the engine wrote identically (one value, one symbol), else fresh ones."""
        same = self.by_adjoint.get(engine)
        if same is not None and same in self.bar:
            self.bar[v] = self.bar[same]
            return
        entries = entries_of(claimed)
        fresh = [sp.Dummy(f"G{len(self.bar)}_{k}", real=True) for k in range(len(entries))]
        self.bar[v] = shaped_like(claimed, fresh)  # type: ignore[arg-type]
        self.bar_definitions.update(zip(fresh, entries))
        self.bar_reverse.update(
            (e, g) for g, e in zip(fresh, entries) if not (e.is_number or isinstance(e, sp.Symbol))
        )

    def _instantiate(self, engine: sp.Basic, v: sp.Basic) -> sp.Basic:
        """The engine's ``E_v`` at the instance: forward placeholders → node entries, the
        placeholder of a proved adjoint ``E_u`` → ``G_u``."""
        extra: dict[str, sp.ImmutableMatrix] = {}
        for h in engine.atoms(sp.MatrixSymbol):
            meaning = self.sweep.back.get(h)
            if meaning is None:
                continue
            # a forward node is written without placeholders, an adjoint with them; the
            # cheap tests first (a forward node's tree is as deep as the network)
            if meaning in self.lf.value:
                extra[h.name] = self.lf.value[meaning]
            elif meaning in self.by_adjoint:
                extra[h.name] = self.bar[self.by_adjoint[meaning]]
            elif any(a in self.sweep.back for a in meaning.atoms(sp.MatrixSymbol)):
                raise _Stop(f"the adjoint {h} used for {v} belongs to no proved node")
            else:
                extra[h.name] = self.lf.lower(meaning)
        return self.lf.lower(engine, extra)

    def _compare(self, v: sp.Basic, claimed: sp.Basic, true: sp.Basic) -> None:
        a, b = entries_of(claimed), entries_of(true)
        if len(a) != len(b):
            raise _Stop(f"the adjoint of {v} has {len(a)} entries where {len(b)} are due")
        differences = [x - y for x, y in zip(a, b)]
        if not self._reduces_to_zero(v, differences):
            raise _Stop(
                f"the adjoint of {v} was not shown equal to the reverse accumulation "
                f"(after {LEVELS} levels of adjoints and {PEEL} local definitions)"
            )

    def _reduces_to_zero(self, v: sp.Basic, differences: list[sp.Expr]) -> bool:
        reverse = ChainMap(self.bar_reverse, self.reverse)
        users = {u for s in entries_of(self.lf.value[v]) for u, _ in self.lf.uses.get(s, ())}
        around = {
            s: e
            for u in users
            for s, e in zip(entries_of(self.lf.value[u]), entries_of(self.lf.local[u]))
        }
        # the users' adjoints first (G_u → E_u), then the users' local definitions (a →
        # tanh z), and only then deeper definitions, a level at a time; rational functions
        # are cancelled (costly) only where expanding alone did not reach zero
        bars = {g: self.bar_definitions[g] for u in users for g in entries_of(self.bar[u])}
        for cancel in (False, True):
            pending = self._nonzero([d.xreplace(reverse) for d in differences], cancel)
            # the same adjoints on both sides, a node that no target reaches written two
            # ways (V[0, 1] against the entry of V.T it defines): its definition suffices
            written = self._written_out(pending)
            if written is not None and not self._nonzero(written, cancel):
                return True
            pending = self._substitute(pending, bars, 1, cancel)
            pending = self._substitute(pending, around, 1, cancel)
            # then the forward nodes, latest first; failing that, the proved adjoints first
            if not self._peel(pending, cancel):
                return True
            deeper = self._substitute(pending, self.bar_definitions, LEVELS, cancel)
            if not self._peel(deeper, cancel):
                return True
        return False

    def _written_out(self, pending: list[sp.Expr]) -> list[sp.Expr] | None:
        """``pending`` with the nodes no target reaches written out, if it has any."""
        if not any(s in self.constants for d in pending for s in d.free_symbols):
            return None
        return [d.xreplace(self.constants) for d in pending]

    def _substitute(
        self,
        pending: list[sp.Expr],
        definitions: Mapping[sp.Basic, sp.Basic],
        levels: int,
        cancel: bool,
    ) -> list[sp.Expr]:
        for _ in range(levels):
            if not pending:
                break
            self._clock()
            stepped = [d.xreplace(definitions) for d in pending]
            if stepped == pending:
                break
            pending = self._nonzero(stepped, cancel)
        return pending

    def _peel(self, pending: list[sp.Expr], cancel: bool) -> list[sp.Expr]:
        """The forward nodes' definitions, the latest node first, one node a step: both
        sides are then written in the same, earlier nodes."""
        for _ in range(PEEL):
            if not pending:
                break
            self._clock()
            ranks = [self.rank[s] for d in pending for s in d.free_symbols if s in self.rank]
            if not ranks:
                break
            node = self.lf.nodes[max(ranks)]
            subs = dict(zip(entries_of(self.lf.value[node]), entries_of(self.lf.local[node])))
            pending = self._nonzero([d.xreplace(subs) for d in pending], cancel)
        return pending

    def _nonzero(self, differences: list[sp.Expr], cancel: bool) -> list[sp.Expr]:
        """The differences not shown zero as they are, nor with the local definitions that
        occur written back as their symbols."""
        return [
            d
            for d in differences
            if not (self._zero(d, cancel) or self._zero(d.xreplace(self.reverse), cancel))
        ]

    def _zero(self, d: sp.Expr, cancel: bool) -> bool:
        self._clock()
        d = d.xreplace(self.constraints) if self.constraints else d
        e = sp.expand(d, power_exp=False, power_base=False, log=False)
        if e == 0:
            return True
        if not cancel or not any(p.exp.is_negative for p in d.atoms(sp.Pow)):
            return False
        self._clock()
        # over one common denominator (non-zero on the domain), the numerator; brought
        # together before expanding, where the difference is still small
        numerator, _ = sp.fraction(sp.together(d))
        return bool(sp.expand(numerator, power_exp=False, power_base=False, log=False) == 0)

    def _clock(self) -> None:
        if time.monotonic() > self.deadline:
            raise _Stop("the induction ran out of time")


def _zero(v: sp.Basic) -> sp.Basic:
    return sp.ZeroMatrix(*v.shape) if getattr(v, "is_Matrix", False) else sp.S.Zero
