r"""Claims over symbolic dimensions, decided for every size by the matrix engine.

A claimed gradient :math:`G` of a scalar :math:`f` by :math:`W` holds for all sizes when
:math:`G - \nabla_W f` is the zero matrix by the rules of matrix algebra, with
:math:`\nabla_W f` from the reverse-mode engine (whose rules are identities for every size)
and the difference reduced by SymPy's canonical forms of sums and products (distributing
products over sums, collecting like terms). Only a difference that reduces to the zero
matrix decides anything; any other outcome leaves the claim to the entrywise checks.
"""

from __future__ import annotations

import sympy as sp

from symdl.derive.matrix_rules import reverse_sweep
from symdl.derive.matrix_tidy import Tidy
from symdl.errors import UnsupportedError
from symdl.ops import is_array
from symdl.shapes import Scope

__all__ = ["equal_for_all_sizes", "gradient_for_all_sizes"]


def gradient_for_all_sizes(f: sp.Basic, wrt: str, scope: Scope) -> sp.Basic | None:
    """The engine's gradient of the scalar ``f`` by ``wrt``, or None where it has no rule."""
    if is_array(f) and f.shape != (1, 1):
        return None
    try:
        sweep = reverse_sweep(f, [scope.symbol(wrt)], tidy=Tidy(scope.assume))
    except UnsupportedError:
        return None
    return sweep.gradients[wrt]


def equal_for_all_sizes(a: sp.Basic, b: sp.Basic, scope: Scope) -> bool:
    """True when ``a − b`` reduces to zero by matrix algebra (False means: not shown)."""
    if is_array(a) != is_array(b):
        if is_array(a) and a.shape == (1, 1):
            a = sp.Trace(a)
        elif is_array(b) and b.shape == (1, 1):
            b = sp.Trace(b)
        else:
            return False
    tidy = Tidy(scope.assume)
    try:
        if is_array(a):
            if a.shape != b.shape:
                return False
            difference = tidy(sp.MatAdd(a, sp.MatMul(-1, b)))
            reduced = sp.expand(difference).doit()
            return isinstance(reduced, sp.ZeroMatrix) or reduced == 0
        return sp.expand(tidy(a) - tidy(b)) == 0
    except (TypeError, ValueError, AttributeError, NotImplementedError):
        return False
