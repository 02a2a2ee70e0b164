"""Universal approximation, constructively: networks with proved error bounds."""

from symdl import (
    deep_interpolation,
    proof,
    relu_interpolation,
    sigmoid_staircase,
    telgarsky_sawtooth,
    triangulation_interpolation,
    yarotsky_product,
    yarotsky_square,
)
from symdl.proofbook import Figure
from symdl.render.approximation_plot import plot_approximation


@proof(
    "ReLU interpolation of sin on [0, π] to 10⁻³",
    statement=(
        "The one-hidden-layer ReLU interpolant of sin at 37 equally spaced knots of [0, π] "
        "(36 neurons) is within h²/8·max|sin''| = (π/36)²/8 < 10⁻³ of sin; max|f''| on "
        "each cell is enclosed by interval arithmetic. 35 neurons do not give the bound."
    ),
    references=["Süli & Mayers, An Introduction to Numerical Analysis (2003), Thm 6.2"],
    tags=["approximation", "relu"],
)
def relu_sin():
    r = relu_interpolation("sin(x)", 0, "pi", eps=1e-3)
    assert r.neurons == 36
    assert relu_interpolation("sin(x)", 0, "pi", n=35).bound > 1e-3
    figure = Figure.draw(
        "ReLU interpolation of sin",
        lambda path: plot_approximation(r, path),
        caption="Top: sin and its 36-neuron ReLU interpolant on [0, π]. Bottom: the error "
        "|sin − f_n| on a log scale, under the proved bound (π/36)²/8 and ε = 10⁻³; it "
        "vanishes at the knots and peaks mid-cell.",
    )
    return [r.report(), figure]


@proof(
    "Yarotsky's deep square: error exactly 2^(−2m−2)",
    statement=(
        "f_m(x) = x − Σ_{s=1}^m g_s(x)/4^s, a ReLU network of depth m and width 4, has "
        "sup_{[0,1]} |f_m(x) − x²| = 2^(−2m−2) for m = 1…8: its linear pieces are listed in "
        "exact rational arithmetic and the concave error is maximised on each."
    ),
    references=[
        "Yarotsky, Error bounds for approximations with deep ReLU networks (2017), Prop. 2"
    ],
    tags=["approximation", "deep", "relu"],
)
def yarotsky_squares():
    return [yarotsky_square(m).report() for m in range(1, 9)]


@proof(
    "Telgarsky's sawtooth has 2^k pieces",
    statement="The k-fold composition of the tent map has exactly 2^k linear pieces, k = 1…10.",
    references=["Telgarsky, Benefits of depth in neural networks (2016), §2"],
    tags=["approximation", "deep", "relu"],
)
def telgarsky():
    return [telgarsky_sawtooth(k).report() for k in range(1, 11)]


@proof(
    "Multiplication by polarisation",
    statement=(
        "2f_4((x+y)/2) − f_4(x)/2 − f_4(y)/2 is within 2·4^(−5) of xy on [0, 1]², since "
        "f_4(u) − u² ∈ [0, 4^(−5)] (proved exactly)."
    ),
    references=["Yarotsky (2017), Prop. 3"],
    tags=["approximation", "deep", "relu", "multivariate"],
)
def product():
    return yarotsky_product(4).report()


@proof(
    "Sigmoid staircase for sin on [0, π]",
    statement=(
        "f(0) + Σ Δ_i σ(k(x − c_i)) is within L·h·(1 + 2Στ(kh(m − ½))) ≤ 10⁻² of sin, "
        "with the sigmoid tails τ bounded by interval arithmetic."
    ),
    references=["Cybenko, Approximation by superpositions of a sigmoidal function (1989)"],
    tags=["approximation", "sigmoid"],
)
def staircase():
    results = [
        sigmoid_staircase("sin(x)", 0, "pi", eps=1e-2, activation=a)
        for a in ("sigmoid", "tanh", "softsign", "hard_sigmoid")
    ]
    figure = Figure.draw(
        "Sigmoid staircase for sin",
        lambda path: plot_approximation(results[0], path),
        caption=f"Top: sin and the staircase of {results[0].neurons} logistic sigmoids. "
        "Bottom: the error |sin − f_n| on a log scale, under the proved bound and "
        "ε = 10⁻²: the worst case the bound covers is far from the error observed.",
    )
    return [*(r.report() for r in results), figure]


@proof(
    "Deep piecewise-quadratic interpolation of exp on [0, 1] to 10⁻⁶",
    statement=(
        "Quadratic interpolation on cells, with u(1 − u) replaced by Yarotsky's deep "
        "Σ g_s(u)/4^s, is within max|f'''|h³/(72√3) + max|c_i|h²4^(−m−1) ≤ 10⁻⁶ of exp."
    ),
    references=["Yarotsky (2017), Thm 1"],
    tags=["approximation", "deep", "relu"],
)
def deep_exp():
    return deep_interpolation("exp(x)", 0, 1, eps=1e-6).report()


@proof(
    "ReLU interpolation on a triangulated square",
    statement=(
        "On the Freudenthal triangulation of [0, 1]² with 8×8 cells, the ReLU network "
        "Σ f(v)·relu(1 − max(|u|, |v|, |u − v|)) is within ½·max‖H‖₂·h²/2 of f: for xy the "
        "bound h²/4 = 1/256 is attained, and sin(x)·cos(2y) is within its proved bound."
    ),
    references=["Ciarlet, The Finite Element Method for Elliptic Problems (1978), §3.1"],
    tags=["approximation", "relu", "multivariate"],
)
def triangulation():
    xy = triangulation_interpolation("x*y", n=8)
    assert abs(xy.observed - 1 / 256) < 1e-15
    return [xy.report(), triangulation_interpolation("sin(x)*cos(2*y)", n=8).report()]
