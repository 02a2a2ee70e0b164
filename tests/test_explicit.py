"""Lowering matrix expressions to explicit entries, and the assumption substitutions."""

import pytest
import sympy as sp

from symdl.errors import UnsupportedError
from symdl.explicit import MAX_ENTRIES, instances
from symdl.parse import parse
from symdl.shapes import Scope


def lower(text, shapes, assume=None):
    scope = Scope.build(shapes, assume)
    expr = parse(text, scope=scope)
    names = {m.name for m in expr.atoms(sp.MatrixSymbol)}
    inst = instances(scope, names)[0]
    return inst, inst.lower(expr)


def test_matrix_product_and_sum_entrywise():
    inst, got = lower("sum((W @ x - y)**2)", {"W": "2x2", "x": "2", "y": "2"})
    W, x, y = (inst.entries[n] for n in "Wxy")
    want = sum(((W @ x - y)[i]) ** 2 for i in range(2))
    assert sp.simplify(got - want) == 0


def test_transpose_inverse_determinant_trace():
    inst, got = lower("tr(inv(A) @ B.T) + det(A)", {"A": "2x2", "B": "2x2"})
    A, B = inst.entries["A"], inst.entries["B"]
    want = (A.inv() @ B.T).trace() + A.det()
    assert sp.simplify(got - want) == 0


def test_softmax_and_logsumexp_entrywise():
    inst, got = lower("softmax(z)", {"z": "3"})
    z = inst.entries["z"]
    total = sum(sp.exp(v) for v in z)
    for i in range(3):
        assert sp.simplify(got[i] - sp.exp(z[i]) / total) == 0
    _, lse = lower("logsumexp(z)", {"z": "3"})
    assert sp.simplify(lse - sp.log(total)) == 0


def test_mean_and_norm():
    inst, got = lower("mean(A) + norm(A)", {"A": "2x3"})
    A = inst.entries["A"]
    want = sum(A) / 6 + sp.sqrt(sum(v**2 for v in A))
    assert sp.simplify(got - want) == 0


def test_symbolic_dims_give_two_distinct_sizes_never_one():
    scope = Scope.build({"W": "n x m", "x": "m x 1"})
    insts = instances(scope, {"W", "x"})
    shapes = [inst.entries["W"].shape for inst in insts]
    assert len(shapes) == 2 and shapes[0] != shapes[1]
    for rows, cols in shapes:
        assert rows != cols and min(rows, cols) >= 2


def test_symmetric_assumption_ties_entries_after_differentiation():
    scope = Scope.build({"A": "3x3"}, {"A": "symmetric"})
    inst = instances(scope, {"A"})[0]
    A = inst.entries["A"]
    assert A[0, 1] != A[1, 0]  # free for differentiation
    assert inst.constrain(A[1, 0] - A[0, 1]) == 0  # tied at evaluation


def test_probability_assumption_eliminates_the_last_entry():
    scope = Scope.build({"p": "3"}, {"p": "probability"})
    inst = instances(scope, {"p"})[0]
    assert inst.constrain(sum(inst.entries["p"])) == 1


def test_diagonal_assumption_zeroes_off_diagonal():
    scope = Scope.build({"D": "2x2"}, {"D": "diagonal"})
    inst = instances(scope, {"D"})[0]
    assert inst.constrain(inst.entries["D"][0, 1]) == 0


def test_too_many_entries_is_unsupported_with_advice():
    with pytest.raises(UnsupportedError, match="symbolic dimensions"):
        lower("sum(W)", {"W": f"{MAX_ENTRIES}x2"})


def test_large_determinant_is_unsupported():
    with pytest.raises(UnsupportedError, match="too large"):
        lower("det(A)", {"A": "8x8"})
