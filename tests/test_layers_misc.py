"""Embedding (a scatter-add backward) and inverted dropout (its rule and its moments)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symdl.derive.layers import LAYERS, block_function, check_code, check_rule
from symdl.derive.layers.check import draw
from symdl.derive.layers.dropout import Dropout, dropout_moments
from symdl.derive.layers.embedding import Embedding
from symdl.errors import ShapeError

# ---- embedding -----------------------------------------------------------------------


def test_a_repeated_token_accumulates_its_upstream_rows():
    block = Embedding(3, 2)
    _, run = block_function(block, (4,))
    table = np.arange(6.0).reshape(3, 2)
    ids = np.array([[1, 1, 0, 1]])
    gy = np.array([[[1.0, 2.0], [10.0, 20.0], [100.0, 200.0], [1000.0, 2000.0]]])
    y, gx, grads = run(ids, {"E": table}, {}, gy)
    np.testing.assert_array_equal(y[0], table[[1, 1, 0, 1]])
    assert gx is None
    np.testing.assert_array_equal(grads["E"], [[100.0, 200.0], [1011.0, 2022.0], [0.0, 0.0]])


class _Overwrites(Embedding):
    """g[ids] = gy: fancy-index assignment keeps one write per repeated row."""

    def backward_explicit(self, x, params, data, gy):
        grad = np.zeros(params["E"].shape, dtype=object)
        for b in range(x.shape[0]):
            for t in range(x.shape[1]):
                grad[int(x[b, t])] = gy[b, t]
        return None, {"E": grad}

    def backward_code(self, w, shape):
        g = w.grads["E"]
        return [
            f"{g} = np.zeros_like({w.params['E']})",
            f"{g}[{w.tmp}ids.reshape(-1)] = {w.gy}.reshape(-1, {self.dim})",
        ]


def test_overwriting_instead_of_accumulating_is_refuted():
    block = _Overwrites(2, 2)  # three tokens from a vocabulary of two: one repeats
    assert check_rule(block, (3,)).verdict == "refuted"
    assert check_code(block, (3,)).verdict == "refuted"
    assert check_rule(Embedding(2, 2), (3,)).verdict == "proved"


@pytest.mark.parametrize("ids", [[[0.5, 1.0]], [[-1.0, 0.0]], [[0.0, 3.0]]])
def test_ids_that_are_not_tokens_are_refused_by_the_generated_code(ids):
    _, run = block_function(Embedding(3, 2), (2,))
    with pytest.raises(ValueError, match=r"token ids in 0\.\.2"):
        run(np.array(ids), {"E": np.zeros((3, 2))}, {}, np.zeros((1, 2, 2)))


def test_embedding_arguments_and_shapes():
    with pytest.raises(ShapeError, match="vocabulary"):
        Embedding(0, 2)
    with pytest.raises(ShapeError, match="dimension"):
        Embedding(3, 2.0)
    with pytest.raises(ShapeError, match=r"\(T,\)"):
        Embedding(3, 2).output_shape((2, 2))
    block = LAYERS.get("embed")(10, 4)
    assert (block.integer_input, block.vocabulary, block.output_shape((7,))) == (True, 10, (7, 4))


# ---- dropout -------------------------------------------------------------------------


def test_inverted_dropout_has_mean_x_and_variance_x2_p_over_1_minus_p():
    moments = dropout_moments()
    x, p = sp.Symbol("x", real=True), sp.Symbol("p", positive=True)
    assert sp.simplify(moments.expectation - x) == 0
    assert sp.simplify(moments.variance - x**2 * p / (1 - p)) == 0
    assert moments.expectation_claim.verdict == "proved"
    assert moments.variance_claim.verdict == "proved"


def test_dropout_without_the_rescaling_fails_the_expectation_claim():
    moments = dropout_moments(inverted=False)
    x, p = sp.Symbol("x", real=True), sp.Symbol("p", positive=True)
    assert sp.simplify(moments.expectation - x * (1 - p)) == 0
    assert sp.simplify(moments.variance - x**2 * p * (1 - p)) == 0
    assert moments.expectation_claim.verdict == "refuted"
    assert moments.variance_claim.verdict == "refuted"
    assert "derived 1/2, claimed 1" in moments.expectation_claim.diagnosis[0]


def test_the_moments_match_a_simulation_of_the_generated_code():
    rng = np.random.default_rng(0)
    p, n = 0.3, 200_000
    block = Dropout(p)
    (slot,) = block.data((n,))
    mask = draw(slot, 1, rng)
    assert abs(mask.mean() - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)
    y, _, _ = block_function(block, (n,))[1](np.full((1, n), 2.0), {}, {"M": mask}, 0.0)
    assert abs(y.mean() - 2.0) < 5 * np.sqrt(4 * p / (1 - p) / n)
    assert abs(y.var() / (4 * p / (1 - p)) - 1) < 0.03


class _Unscaled(Dropout):
    """Backward g ⊙ M, forgetting the 1/(1 − p) the forward pass applied."""

    def backward_explicit(self, x, params, data, gy):
        return gy * data["M"], {}

    def backward_code(self, w, shape):
        return [f"{w.gx} = {w.gy} * {w.data['M']}"]


def test_a_backward_pass_without_the_scale_is_refuted():
    block = _Unscaled(0.5)
    assert check_rule(block, (4,)).verdict == "refuted"
    assert check_code(block, (4,)).verdict == "refuted"


@pytest.mark.parametrize("p", [1.0, -0.1, float("nan"), "0.5", True])
def test_dropout_probabilities_outside_0_1_are_refused(p):
    with pytest.raises(ValueError, match="probability p"):
        Dropout(p)


def test_dropout_of_nothing_is_the_identity():
    _, run = block_function(Dropout(0.0), (3,))
    x = np.array([[1.0, -2.0, 3.0]])
    y, gx, _ = run(x, {}, {"M": np.ones((1, 3))}, np.ones((1, 3)))
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(gx, np.ones((1, 3)))
    with pytest.raises(ShapeError, match="scalar"):
        Dropout(0.5).output_shape(())
