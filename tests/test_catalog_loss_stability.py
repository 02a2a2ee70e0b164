"""Every scalar loss (value and gradient by z) passes the stability grid at each target."""

import math

import pytest
import sympy as sp

from symdl.catalog.code import limits_at_infinity
from symdl.catalog.entry import Z
from symdl.catalog.loss_code import LOSS_GRID, loss_code, loss_expr, targets
from symdl.catalog.losses import LOSSES
from symdl.verify.stability import probe

CASES = [
    pytest.param(entry.name, y, which, id=f"{entry.name}-y={y}-{which}")
    for entry in LOSSES
    if not entry.vector
    for y in targets(entry.name)
    for which in ("value", "gradient")
]


def _limits(expr):
    found = limits_at_infinity(expr, Z)
    if found is None:
        return None
    return tuple(float(v) if v.is_finite else math.copysign(math.inf, float(v)) for v in found)


@pytest.mark.parametrize(("name", "y", "which"), CASES)
def test_loss_code_passes_the_grid(name, y, which):
    gradient = which == "gradient"
    expr = loss_expr(name, y, gradient=gradient)
    code = loss_code(name, y, gradient=gradient)
    result = probe(code, expr, Z, limits=_limits(expr), grid=LOSS_GRID)
    assert result.ok, "\n".join(result.failures)
    assert result.points >= 10


def test_naive_bce_on_logits_fails_the_grid():
    """The probe is a real test: the textbook formula compiled without the rewrites fails."""
    from symdl.codegen import numpy_function

    expr = loss_expr("bce_logits", sp.Rational(3, 10))
    naive = numpy_function(expr, ["z"], stable=False)
    assert not probe(naive, expr, Z).ok
