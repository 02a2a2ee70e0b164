r"""Checking a line of a derivation by differentials: an identity in ``W`` and ``dW``.

A line such as :math:`\mathrm{d}L = \operatorname{sum}(2(Wx - y) \odot \mathrm{d}(Wx - y))`
holds for every ``W`` and every direction ``dW``. It is checked at concrete sizes (the
declared ones, or two small ones for symbolic dimensions, as :func:`symdl.explicit.instances`
chooses): every matrix is written out entry by entry, each unexpanded differential
:math:`\mathrm{d}F` is replaced by its value, the directional derivative
:math:`\sum_{ij} \partial F/\partial W_{ij}\,\mathrm{d}W_{ij}` of the entrywise ``F``
(Magnus & Neudecker, 2019, ch. 5, def. of the differential), and the two sides go to
:func:`symdl.verify.check_identity` as ordinary scalar (or array) expressions in the
entries of ``W``, ``dW`` and the other variables. So a check never uses the rule it
checks: the rules rewrite matrix expressions, the check differentiates entries.
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy as sp

from symdl.derivation import mathematical_verdict
from symdl.derive.differentials_nodes import Direction, differentials_in
from symdl.errors import SymdlError
from symdl.explicit import Instance, instances
from symdl.ops import is_array
from symdl.shapes import Scope, Shape
from symdl.verify import check_identity
from symdl.verify.report import Evidence, Report

__all__ = ["check_line"]

_RANK = {"proved": 0, "verified": 1, "undecided": 2, "refuted": 3}


def _names(exprs: list[sp.Basic]) -> set[str]:
    return {m.name for e in exprs for m in e.atoms(sp.MatrixSymbol)}


def _explicit(
    expr: sp.Basic, inst: Instance, holders: Mapping[sp.Basic, sp.Basic], var: str, dvar: str
) -> sp.Basic:
    """``expr`` (placeholders for its differentials) written out at ``inst``, each
    placeholder replaced by its differential's value."""
    w, dw = list(inst.entries[var]), list(inst.entries[dvar])
    values: dict[sp.Basic, sp.Basic] = {}
    for holder, node in holders.items():
        f = inst.lower(node.args[0])

        def directional(e: sp.Basic) -> sp.Basic:
            return sp.Add(*[sp.diff(e, wij) * dwij for wij, dwij in zip(w, dw)])

        if isinstance(holder, sp.MatrixSymbol):
            value = sp.ImmutableMatrix(f).applyfunc(directional)
            values.update(zip(inst.entries[holder.name], value))
        else:
            values[holder] = directional(f)
    out = inst.lower(expr).xreplace(values)
    if isinstance(out, sp.MatrixBase) and out.shape == (1, 1):
        out = out[0, 0]
    return inst.constrain(out)


def _readable(exprs: list[sp.Basic]) -> dict[sp.Basic, sp.Basic]:
    """Entry symbols ``W[0,1]`` renamed ``W__0_1`` (a name the checker's scope accepts)."""
    out: dict[sp.Basic, sp.Basic] = {}
    for e in exprs:
        for s in e.free_symbols:
            if isinstance(s, sp.Symbol) and "[" in s.name:
                name = s.name.replace("[", "__").replace("]", "").replace(",", "_")
                out[s] = sp.Symbol(name, **s.assumptions0)
    return out


def check_line(
    lhs: sp.Basic,
    rhs: sp.Basic,
    scope: Scope,
    dvar: Direction,
    *,
    points: int,
    precision: int,
    timeout: float,
    seed: int,
) -> Report:
    r"""Check ``lhs == rhs`` for every ``W`` and every direction ``dW`` (see the module).

    The verdict is the weakest over the instances, each judged by
    :func:`~symdl.derivation.mathematical_verdict`; a checker that cannot evaluate the
    claim leaves it ``undecided`` with the reason.
    """
    claim = f"{lhs} == {rhs}"
    nodes = list(dict.fromkeys(differentials_in(lhs) + differentials_in(rhs)))
    holders: dict[sp.Basic, sp.Basic] = {}
    shapes: dict[str, Shape] = dict(scope.shapes)
    for k, node in enumerate(nodes):
        if is_array(node):
            holder: sp.Basic = sp.MatrixSymbol(f"_d{k}", *node.shape)
            shapes[holder.name] = tuple(node.shape)  # type: ignore[attr-defined]
        else:
            holder = sp.Symbol(f"_d{k}", real=True)
        holders[holder] = node
    swap = {node: holder for holder, node in holders.items()}
    left, right = lhs.xreplace(swap), rhs.xreplace(swap)
    shapes[dvar.name] = tuple(dvar.shape)
    try:
        inner = Scope.build(shapes, scope.assume)
        names = _names([left, right, *(n.args[0] for n in nodes)]) | {
            dvar.variable_name,
            dvar.name,
        }
        reports = []
        insts = instances(inner, names)
        for k, inst in enumerate(insts):
            a = _explicit(left, inst, holders, dvar.variable_name, dvar.name)
            b = _explicit(right, inst, holders, dvar.variable_name, dvar.name)
            rename = _readable([a, b])
            reports.append(
                (
                    inst.describe(),
                    check_identity(
                        a.xreplace(rename),
                        b.xreplace(rename),
                        points=points,
                        precision=precision,
                        timeout=timeout / len(insts),
                        seed=seed + k,
                    ),
                )
            )
    except (SymdlError, ValueError, TypeError, ArithmeticError) as err:
        return Report(
            "undecided",
            claim,
            "none",
            notes=(f"the checker failed on this line: {type(err).__name__}: {err}",),
        )
    return _combined(claim, reports, symbolic=any(inst.sizes for inst in insts))


def _combined(claim: str, reports: list[tuple[str, Report]], *, symbolic: bool) -> Report:
    """One report for all instances; with symbolic dimensions a proof at each instance is
    evidence for every size, not a proof (``verified``), as in ``check_identity``."""
    verdict = max((mathematical_verdict(r) for _, r in reports), key=_RANK.__getitem__)
    notes = [n for _, r in reports for n in r.notes]
    if symbolic and verdict == "proved":
        verdict = "verified"
        notes.append("symbolic dimensions: proved entrywise at the sizes in the evidence")
    evidence = tuple(
        Evidence(e.method, e.outcome, e.detail, e.points, sizes, e.worst_error, e.tolerance)
        for sizes, r in reports
        for e in r.evidence
    )
    refuted = next((r for _, r in reports if r.verdict == "refuted"), None)
    return Report(
        verdict,  # type: ignore[arg-type]
        claim,
        "entrywise at concrete sizes, each differential as a directional derivative",
        evidence,
        counterexample=refuted.counterexample if refuted else None,
        entries=refuted.entries if refuted else (),
        diagnosis=refuted.diagnosis if refuted else (),
        notes=tuple(notes),
    )
