"""Hessians with respect to a vector and Hessian-vector products from the matrix engine."""

from __future__ import annotations

import numpy as np
import pytest

from symdl import ParseError, ShapeError, check_identity
from symdl.derive.matrix_hessian import matrix_hessian

HESSIANS = [
    ("x.T @ A @ x", "x", {"A": "n x n", "x": "n"}, {}, "A + A.T"),
    (
        "-sum(y * log_softmax(z))",
        "z",
        {"z": "n", "y": "n"},
        {"y": "probability"},
        "diag(softmax(z)) - softmax(z) @ softmax(z).T",
    ),
    ("logsumexp(z)", "z", {"z": "n"}, {}, "diag(softmax(z)) - softmax(z) @ softmax(z).T"),
    ("sum((W @ x - y)**2)", "x", {"W": "m x n", "x": "n", "y": "m"}, {}, "2 * W.T @ W"),
    (
        "sum(tanh(W @ x))",
        "x",
        {"W": "m x n", "x": "n"},
        {},
        "W.T @ diag(-2 * tanh(W @ x) * (1 - tanh(W @ x)**2)) @ W",
    ),
]


@pytest.mark.parametrize("f, wrt, shapes, assume, want", HESSIANS, ids=[h[0] for h in HESSIANS])
def test_hessians_are_checked_and_match_the_textbook(f, wrt, shapes, assume, want):
    h = matrix_hessian(f, wrt, shapes=shapes, assume=assume)
    assert h.verdict in ("proved", "verified"), str(h.report)
    assert h.hessian is not None
    same = check_identity(h.hessian, want, shapes=shapes, assume=assume)
    assert same.ok, str(same)


def test_softmax_cross_entropy_hessian_reads_as_diag_p_minus_ppT():
    h = matrix_hessian(
        "-sum(y * log_softmax(z))", "z", shapes={"z": "n", "y": "n"}, assume={"y": "probability"}
    )
    assert h.text().splitlines()[-1] == "H = diag(softmax(z)) - softmax(z) @ softmax(z).T"


def test_hessian_vector_product_equals_hessian_times_v_numerically():
    h = matrix_hessian("x.T @ A @ x", "x", shapes={"A": "3 x 3", "x": "3"}, check=False)
    assert h.text().splitlines()[1] == "H @ v = (A + A.T) @ v"


def test_a_wrong_hessian_is_refuted_by_the_same_check():
    from symdl import check_derivative

    # the Hessian of xᵀAx is A + Aᵀ, not 2A (A is not symmetric)
    r = check_derivative("(A + A.T) @ x", "x", "2*A", shapes={"A": "n x n", "x": "n"})
    assert r.verdict == "refuted"


@pytest.mark.parametrize(
    "f, wrt, shapes, error",
    [
        ("sum(W)", "W", {"W": "n x n"}, ShapeError),
        ("x", "x", {"x": "n"}, ShapeError),
        ("sum(x)", "u", {"x": "n", "u": "n"}, ParseError),
    ],
)
def test_bad_input(f, wrt, shapes, error):
    with pytest.raises(error):
        matrix_hessian(f, wrt, shapes=shapes, check=False)


def test_generated_hessian_matches_numbers():
    from symdl.codegen import numpy_function

    h = matrix_hessian("x.T @ A @ x", "x", shapes={"A": "3 x 3", "x": "3"}, check=False)
    fn = numpy_function(h.hessian, ["A"])
    A = np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(fn(A), A + A.T)
