"""Approximation constructions: the required cases, exactness, wrong claims and bad input."""

import json

import numpy as np
import pytest
import sympy as sp

from symdl.derive.approximation import (
    affine_pieces,
    approximate,
    deep_interpolation,
    relu_interpolation,
    sigmoid_staircase,
    telgarsky_sawtooth,
    triangulation_interpolation,
    yarotsky_product,
    yarotsky_square,
)
from symdl.derive.approximation_certificate import sup_error
from symdl.derive.approximation_deep import sawtooth_network, square_network
from symdl.derive.approximation_network import Layer, Network
from symdl.derive.approximation_pieces import square_error_range
from symdl.derive.approximation_sigmoid import sigmoidal
from symdl.errors import ParseError, ShapeError, SymdlError, UnknownNameError, UnsupportedError

X = sp.Symbol("x", real=True)


def test_sin_on_0_pi_to_1e_3_with_relu():
    r = relu_interpolation("sin(x)", 0, "pi", eps=1e-3)
    assert r.neurons == 36  # π/sqrt(8·10⁻³) = 35.12…, max|sin''| = 1
    assert r.status == "proved" and r.verdict == "proved"
    assert r.observed <= r.bound <= 1e-3
    assert r.observed_precise <= r.bound
    # the count is the least the bound allows: 35 neurons give h²/8 > 10⁻³
    assert relu_interpolation("sin(x)", 0, "pi", n=35).bound > 1e-3


def test_relu_bound_is_close_to_the_truth_for_sin():
    # for sin the bound h²/8 is nearly attained at the midpoint of the middle cell
    r = relu_interpolation("sin(x)", 0, "pi", n=36)
    assert 0.99 * r.bound <= r.observed <= r.bound


@pytest.mark.parametrize("m", range(1, 9))
def test_yarotsky_error_is_exactly_2_to_minus_2m_minus_2(m):
    r = yarotsky_square(m)
    assert r.exact_error == sp.Rational(1, 2 ** (2 * m + 2))
    assert r.verdict == "proved"
    assert r.observed == pytest.approx(float(r.exact_error), rel=1e-12)
    assert r.network.depth == m and r.neurons == 4 * m


@pytest.mark.parametrize("k", range(1, 11))
def test_telgarsky_sawtooth_has_exactly_2_to_the_k_pieces(k):
    r = telgarsky_sawtooth(k)
    assert r.count == 2**k and r.verdict == "proved"
    assert {abs(p.slope) for p in r.pieces} == {2**k}


def test_pieces_of_a_hand_written_network():
    # relu(x) − relu(x − 1) on [−1, 2]: 0, then x, then 1
    one = sp.Integer(1)
    net = Network((Layer(((one,), (one,)), (0, -one)), Layer(((one, -one),), (0,), "identity")))
    pieces = affine_pieces(net, -1, 2)
    assert [(p.start, p.end, p.slope, p.intercept) for p in pieces] == [
        (-1, 0, 0, 0),
        (0, 1, 1, 0),
        (1, 2, 0, 1),
    ]


def test_a_wrong_yarotsky_network_is_caught():
    # one output weight off by a factor 2: the exact error is no longer 2^(−2m−2)
    good = square_network(3)
    out = good.layers[-1]
    row = list(out.weights[0])
    row[0] = 2 * row[0]
    bad = Network((*good.layers[:-1], Layer((tuple(row),), out.biases, "identity")))
    low, high = square_error_range(affine_pieces(bad, 0, 1))
    assert max(abs(low), abs(high)) != sp.Rational(1, 256)


def test_a_sawtooth_missing_a_layer_has_half_the_pieces():
    assert len(affine_pieces(sawtooth_network(5), 0, 1)) == 32
    assert len(affine_pieces(sawtooth_network(4), 0, 1)) != 32


def test_sup_check_refutes_a_bound_that_is_too_small():
    r = yarotsky_square(2)
    _, _, grid, precise = sup_error(X**2, r.network, [(0, 1)], bound=r.bound / 2, points=257)
    assert grid.outcome == "differ" and precise.outcome == "differ"
    _, _, grid, precise = sup_error(X**2, r.network, [(0, 1)], bound=r.bound, points=257)
    assert grid.outcome == "agree" and precise.outcome == "agree"


def test_product_by_polarisation():
    r = yarotsky_product(3)
    assert r.bound == 2 / 4**4 and r.verdict == "proved"
    assert r.network.inputs == ("x", "y")
    assert 0.99 * r.bound <= r.observed <= r.bound  # 2δ is attained


BOUNDED = [a for a in ("sigmoid", "tanh", "softsign", "hard_sigmoid", "hard_tanh", "relu6")]


@pytest.mark.parametrize("activation", BOUNDED)
def test_staircase_for_each_bounded_sigmoidal_activation(activation):
    r = sigmoid_staircase("x**2", 0, 1, eps=0.05, activation=activation, points=2001)
    assert r.status == "proved" and r.verdict == "proved"
    assert r.observed <= r.bound <= 0.05
    assert r.network.layers[0].activation == activation


@pytest.mark.parametrize("activation", ["relu", "gelu", "elu", "softplus", "identity"])
def test_staircase_refuses_unbounded_activations(activation):
    with pytest.raises(UnsupportedError, match="not a bounded sigmoidal"):
        sigmoidal(activation)


def test_sigmoid_needs_far_more_neurons_than_relu():
    s = sigmoid_staircase("sin(x)", 0, "pi", eps=1e-2, points=2001)
    r = relu_interpolation("sin(x)", 0, "pi", eps=1e-2)
    assert s.observed <= s.bound <= 1e-2
    assert s.neurons > 10 * r.neurons


def test_deep_interpolation():
    r = deep_interpolation("sin(3*x)", -1, 1, eps=1e-3)
    assert r.status == "proved" and r.observed <= r.bound <= 1e-3
    assert r.network.depth == r.parameters["m"] + 1


def test_approximate_dispatches_by_activation():
    assert approximate("sin(x)", (0, "pi"), eps=1e-3).neurons == 36
    assert (
        approximate("x**2", (0, 1), eps=0.05, activation="tanh").parameters["activation"] == "tanh"
    )
    assert approximate("x**2", (0, 1), eps=1e-3, activation="deep").parameters["n"] == 1
    with pytest.raises(UnknownNameError, match="sigmoid"):
        approximate("x", (0, 1), eps=0.1, activation="sigmod")


def test_exported_network_shapes_values_and_json():
    r = relu_interpolation("exp(x)", -1, 1, n=10)
    (w1, b1, a1), (w2, b2, a2) = r.network.arrays()
    assert w1.shape == (10, 1) and b1.shape == (10,) and a1 == "relu"
    assert w2.shape == (1, 10) and b2.shape == (1,) and a2 == "identity"
    xs = np.linspace(-1, 1, 7)
    by_hand = w2 @ np.maximum(w1 @ xs[None, :] + b1[:, None], 0) + b2[:, None]
    np.testing.assert_allclose(r.network.forward(xs), by_hand[0], rtol=1e-14)
    # the interpolant hits f at the knots
    knots = np.linspace(-1, 1, 11)
    np.testing.assert_allclose(r.network.forward(knots), np.exp(knots), rtol=1e-13)
    data = json.loads(r.to_json())
    assert data["status"] == "proved" and data["network"]["neurons"] == 10
    assert len(data["network"]["layers"][0]["weights"]) == 10
    assert sp.Rational(data["network"]["layers"][0]["biases"][3]) == sp.Rational(2, 5)
    namespace = {"np": np}
    exec(r.network.numpy_source("net"), namespace)  # our own generated code, not user text
    np.testing.assert_allclose(namespace["net"](xs), r.network.forward(xs), rtol=1e-14)


def test_exact_and_precise_evaluation_agree():
    net = square_network(4)
    for x in (sp.Rational(1, 3), sp.Rational(5, 7), sp.Integer(1)):
        assert float(net.exact([x])) == pytest.approx(float(net.precise([x], dps=40)), rel=1e-15)


@pytest.mark.parametrize(
    ("text", "a", "b", "error"),
    [
        ("x*y", 0, 1, ParseError),
        ("sin(x)", 1, 0, ValueError),
        ("sin(x)", 0, "inf_", ParseError),
        ("abs(x)", -1, 1, UnsupportedError),
        ("log(x)", -1, 1, SymdlError),
        ("__import__(x)", 0, 1, ParseError),
    ],
)
def test_bad_input_is_a_clear_error(text, a, b, error):
    with pytest.raises(error):
        relu_interpolation(text, a, b, eps=1e-2)


def test_bad_options():
    with pytest.raises(ValueError, match="exactly one"):
        relu_interpolation("x", 0, 1)
    with pytest.raises(ValueError, match="eps"):
        relu_interpolation("x", 0, 1, eps=-1.0)
    with pytest.raises(ValueError, match="k must be"):
        telgarsky_sawtooth(0)
    with pytest.raises(UnsupportedError, match="more than the limit"):
        relu_interpolation("sin(100*x)", 0, 10, eps=1e-9)
    with pytest.raises(ShapeError):
        Layer(((sp.S.One,), (sp.S.One,)), (0,))
    with pytest.raises(ShapeError, match="one output"):
        Network((Layer(((sp.S.One,), (sp.S.One,)), (0, 0)),))


@pytest.mark.parametrize("text", ["hard_tanh(2*x)", "elu(x)", "heaviside(x)", "relu(x) + x**2"])
@pytest.mark.parametrize("build", [relu_interpolation, sigmoid_staircase, deep_interpolation])
def test_targets_with_pieces_are_refused_not_falsely_proved(text, build):
    # SymPy differentiates each piece: f'' of hard_tanh is 0 on both pieces, and the
    # h²/8·max|f''| bound would "prove" an error of 0
    with pytest.raises(UnsupportedError, match="defined by pieces"):
        build(text, -1, 1, eps=1e-2)


def test_pieces_of_a_network_whose_output_is_a_relu():
    # relu(relu(x) − 1/2): a network may end in a ReLU; its kink counts as a piece boundary
    one = sp.Integer(1)
    net = Network((Layer(((one,),), (0,)), Layer(((one,),), (-sp.S.Half,), "relu")))
    pieces = affine_pieces(net, -1, 2)
    assert [(p.start, p.end, p.slope) for p in pieces] == [(-1, sp.S.Half, 0), (sp.S.Half, 2, 1)]


def test_float_endpoints_are_the_decimals_written():
    r = relu_interpolation("x**2", 0.1, 0.7, n=3)
    assert r.domain == ((sp.Rational(1, 10), sp.Rational(7, 10)),)
    assert r.bound == pytest.approx(0.2**2 / 8 * 2, rel=1e-9)


def test_values_beyond_float64_and_oversized_grids_are_clear_errors():
    with pytest.raises(UnsupportedError, match="float64"):
        relu_interpolation("exp(x)", 800, 801, eps=1e300)
    with pytest.raises(ValueError, match="points"):
        relu_interpolation("x**2", 0, 1, eps=0.1, points=10**8)


def test_tail_sum_bound_covers_the_sum_and_the_step_factor():
    import mpmath

    from symdl.derive.approximation_sigmoid import tail_sum_bound

    sigma, low, high = sigmoidal("softsign")  # slow 1/v tails: the blocks matter
    normal = (sigma - low) / (high - low)
    t = sp.Symbol("x", real=True)
    tau = lambda v: max(1 - float(normal.subs(t, v)), float(normal.subs(t, -v)))  # noqa: E731
    for kh, n in ((0.5, 300), (3.0, 1000), (40.0, 200)):
        direct = 2 * sum(tau(kh * (m - 0.5)) for m in range(1, n))
        bound = float(tail_sum_bound(normal, mpmath.mpf(kh), n))
        assert direct <= bound <= 3 * direct + 1e-12
    symmetric = sigmoid_staircase("x", 0, 1, eps=0.1, activation="tanh")
    lopsided = sigmoid_staircase("x", 0, 1, eps=0.1, activation="relu6")
    assert symmetric.parameters["A"] == pytest.approx(0.5, abs=1e-12)
    assert lopsided.parameters["A"] > 0.5


def test_triangulation_bound_is_attained_for_xy():
    # xy interpolated on the Freudenthal triangulation errs by exactly h²/4 inside the
    # triangles: the bound ½·‖H‖₂·(h_x² + h_y²)/4 = h²/4 is sharp, so a halved bound fails
    r = triangulation_interpolation("x*y", n=4)
    assert r.verdict == "proved" and r.bound == pytest.approx(1 / 64, rel=1e-9)
    assert r.observed == pytest.approx(1 / 64, rel=1e-12)
    _, _, grid, _ = sup_error(
        X * sp.Symbol("y", real=True), r.network, [(0, 1), (0, 1)], bound=r.bound / 2, points=33
    )
    assert grid.outcome == "differ"


def test_triangulation_interpolates_at_the_vertices_on_a_rectangle():
    r = triangulation_interpolation("exp(x - y/2)", ((-1, 1), (0, 3)), n=5)
    xs, ys = np.meshgrid(np.linspace(-1, 1, 6), np.linspace(0, 3, 6))
    np.testing.assert_allclose(r.network.forward(xs, ys), np.exp(xs - ys / 2), rtol=1e-13)
    assert r.observed <= r.bound and r.network.depth == 4


def test_triangulation_refuses_pieces_and_too_fine_grids():
    with pytest.raises(UnsupportedError, match="defined by pieces"):
        triangulation_interpolation("relu(x - y)", n=3)
    with pytest.raises(UnsupportedError, match="cells per side"):
        triangulation_interpolation("exp(3*x + 3*y)", eps=1e-4)
