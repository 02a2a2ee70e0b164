"""A derivative claim over symbolic dimensions, proved for every size by the matrix
engine's rules (:mod:`symdl.derive.matrix_proof`) — the evidence
:func:`~symdl.verify.check_derivative` adds to its entrywise proof at concrete sizes."""

from __future__ import annotations

from symdl.budget import run_with_budget
from symdl.errors import SymdlError
from symdl.verify.claims import Problem
from symdl.verify.report import Evidence

__all__ = ["matrix_calculus"]


def matrix_calculus(p: Problem, timeout: float) -> Evidence | None:
    """Evidence that a derivative claim over symbolic dimensions holds for every size: the
    claim minus the matrix engine's gradient reduces to the zero matrix (see
    :mod:`symdl.derive.matrix_proof`); None when that was not shown."""
    if p.kind != "derivative" or p.wrt is None or timeout <= 0:
        return None
    from symdl.derive.matrix_proof import equal_for_all_sizes, gradient_for_all_sizes

    def decide() -> bool:
        g = gradient_for_all_sizes(p.f, p.wrt, p.scope)  # type: ignore[arg-type]
        return g is not None and equal_for_all_sizes(p.claimed, g, p.scope)

    try:
        shown = run_with_budget(decide, timeout=timeout)
    except SymdlError:
        return None
    if not shown:
        return None
    return Evidence(
        "matrix-calculus",
        "proved",
        "claim − reverse-mode gradient reduces to the zero matrix by rules that hold for "
        "every size",
    )
