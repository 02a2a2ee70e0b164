"""Smoke tests of the symbolic differentiation benchmark (benchmarks/symbolic_diff.py).

They check the measuring apparatus, not speed: the complex-step reference, the numerical
evaluation of SymPy's matrix-expression results, and that the classification calls a wrong
result wrong (sign flip, factor 2, transpose, zero, missing term), however the tool got it.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from benchmarks.symbolic_diff import CASES, classify, measure, outcome, point, reference
from benchmarks.symbolic_diff_algebra import Symbolic
from benchmarks.symbolic_diff_tools import evaluate

LEAST_SQUARES = CASES[0]


@pytest.fixture(scope="module")
def expected():
    values = point(LEAST_SQUARES, 0)
    return values, reference(LEAST_SQUARES, values)


def test_complex_step_reference_is_the_known_gradient(expected):
    values, grads = expected
    W, x, b, y = (values[n] for n in ("W", "x", "b", "y"))
    r = 2 * (W @ x + b - y)
    np.testing.assert_allclose(grads["W"], r @ x.T, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(grads["b"], r, rtol=1e-14, atol=1e-15)


def test_classification_calls_every_wrong_gradient_wrong(expected):
    _, grads = expected
    assert classify(grads, grads) == "correct"
    assert classify({"W": grads["W"], "b": grads["b"].ravel()}, grads) == "correct"
    wrong = {
        "sign flip of one entry": {**grads, "W": grads["W"] * np.where(np.eye(2, 3), -1, 1)},
        "factor 2": {w: 2 * g for w, g in grads.items()},
        "transposed": {**grads, "W": grads["W"].T},
        "missing term": {**grads, "b": grads["b"] - grads["b"][0, 0]},
        "1e-6 relative error": {**grads, "W": grads["W"] * (1 + 1e-6)},
    }
    for name, value in wrong.items():
        verdict = classify(value, grads)
        assert verdict.startswith("wrong"), (name, verdict)
    zero = {w: np.zeros_like(g) for w, g in grads.items()}
    assert classify(zero, grads) == "0 (wrong)"


def test_an_outcome_reports_a_wrong_result_a_failure_and_a_timeout(expected):
    _, grads = expected
    flipped = {w: -g for w, g in grads.items()}
    got = outcome("peer", [("derived", 0.5, False), ("size", "7"), ("value", flipped)], grads, 5)
    assert got.correctness.startswith("wrong") and "wrong" in got.cell
    held = outcome("peer", [("derived", 0.1, True), ("size", "1")], grads, 5)
    assert held.correctness.startswith("unevaluated")
    failed = outcome("peer", [("error", "ValueError: index is larger")], grads, 5)
    assert failed.derive is None and failed.cell.startswith("ValueError")
    slow = outcome("peer", [("timeout",)], grads, 5)
    assert slow.cell == "> 5 s"
    late = outcome("peer", [("derived", 1.0, False), ("timeout",)], grads, 5)
    assert "size: > 5 s" in late.cell and "not evaluated" in late.cell


def test_sympy_matrix_expressions_are_evaluated_at_concrete_sizes():
    case = CASES[4]  # xᵀAx
    a = Symbolic(case.shapes, case.sizes)
    values = point(case, 1)
    grad = case.build(a).diff(a.var("x"))
    sizes = {a.dims[d]: v for d, v in case.sizes.items()}
    A, x = values["A"], values["x"]
    np.testing.assert_allclose(evaluate(grad, sizes, values), (A + A.T) @ x, rtol=1e-12)
    assert isinstance(grad, sp.MatrixExpr)


def test_one_tiny_case_end_to_end_finds_sympys_zero_for_logdet():
    found = measure(LEAST_SQUARES, limit=10, tools=("symdl", "SymPy explicit"))
    assert found["symdl"].correctness == "correct" and found["symdl"].verdict == "proved"
    assert found["SymPy explicit"].correctness == "correct"
    assert found["SymPy explicit"].size == "78"
    logdet = measure(CASES[2], limit=10, tools=("SymPy MatrixSymbol",))
    assert logdet["SymPy MatrixSymbol"].correctness == "0 (wrong)"
