"""Architectures: backpropagation through dense, convolutional, recurrent, LSTM, residual
and attention layers."""

import itertools

import sympy as sp

from symdl import check_derivative, check_identity, proof

_MLP = {"W1": "3x2", "W2": "2x3", "b1": "3", "b2": "2", "x": "2", "y": "2"}
_OUT = "(W2 @ tanh(W1 @ x + b1) + b2)"


@proof(
    "Backpropagation through a two-layer network",
    statement=(
        "For ŷ = W₂ tanh(W₁x + b₁) + b₂ and L = ‖ŷ − y‖²: δ₂ = 2(ŷ − y), "
        "∂L/∂W₂ = δ₂hᵀ with h = tanh(W₁x + b₁), δ₁ = (W₂ᵀδ₂) ⊙ (1 − h²), "
        "∂L/∂b₁ = δ₁ and ∂L/∂W₁ = δ₁xᵀ."
    ),
    references=[
        "Rumelhart, Hinton, Williams, Learning representations by back-propagating errors, "
        "Nature 323 (1986)",
        "Goodfellow, Bengio, Courville, Deep Learning (2016), §6.5.4, Algorithm 6.4",
    ],
    tags=["architecture", "backprop", "dense", "mlp"],
)
def two_layer_backprop():
    loss = f"sum(({_OUT} - y)**2)"
    h = "tanh(W1 @ x + b1)"
    delta1 = f"((W2.T @ (2*({_OUT} - y)))*(1 - {h}**2))"
    return [
        check_derivative(loss, "W2", f"2*({_OUT} - y) @ {h}.T", shapes=_MLP),
        check_derivative(loss, "b1", delta1, shapes=_MLP),
        check_derivative(loss, "W1", f"{delta1} @ x.T", shapes=_MLP),
    ]


@proof(
    "Convolution gradients are correlations and full convolutions",
    statement=(
        "For a valid 1-D cross-correlation yⱼ = Σᵢ kᵢx_{i+j} (input x₀…x₃, kernel k₀, k₁) and "
        "L = Σⱼ gⱼyⱼ: ∂L/∂kᵢ = Σⱼ gⱼx_{i+j} (the input correlated with the upstream "
        "gradient) and ∂L/∂x_m = Σⱼ gⱼk_{m−j} (the upstream gradient fully convolved with "
        "the kernel), checked for every kᵢ and x_m."
    ),
    references=[
        "Goodfellow, Bengio, Courville, Deep Learning (2016), §9.5",
        "Dumoulin & Visin, A guide to convolution arithmetic for deep learning (2016), §4",
    ],
    tags=["architecture", "backprop", "convolution"],
)
def convolution_gradients():
    n, width = 4, 2
    outputs = n - width + 1
    loss = " + ".join(
        f"g{j}*(" + " + ".join(f"k{i}*x{i + j}" for i in range(width)) + ")" for j in range(outputs)
    )
    checks = [
        check_derivative(loss, f"k{i}", " + ".join(f"g{j}*x{i + j}" for j in range(outputs)))
        for i in range(width)
    ]
    for m in range(n):
        terms = [f"g{j}*k{m - j}" for j in range(outputs) if 0 <= m - j < width]
        checks.append(check_derivative(loss, f"x{m}", " + ".join(terms)))
    return checks


@proof(
    "Backpropagation through time for two steps of a tanh RNN",
    statement=(
        "h₁ = tanh(Wh₀ + Ux₁), h₂ = tanh(Wh₁ + Ux₂), L = vᵀh₂: with δ₂ = v ⊙ (1 − h₂²) and "
        "δ₁ = (Wᵀδ₂) ⊙ (1 − h₁²), ∂L/∂W = δ₂h₁ᵀ + δ₁h₀ᵀ — one term per time step the "
        "shared W is used in."
    ),
    references=[
        "Werbos, Backpropagation through time: what it does and how to do it, "
        "Proc. IEEE 78(10) (1990)",
        "Goodfellow, Bengio, Courville, Deep Learning (2016), §10.2.2",
    ],
    tags=["architecture", "backprop", "rnn", "bptt"],
)
def rnn_bptt():
    shapes = {"W": "2x2", "U": "2x2", "h0": "2", "x1": "2", "x2": "2", "v": "2"}
    h1 = "tanh(W @ h0 + U @ x1)"
    h2 = f"tanh(W @ {h1} + U @ x2)"
    d2 = f"(v*(1 - {h2}**2))"
    d1 = f"((W.T @ {d2})*(1 - {h1}**2))"
    return check_derivative(f"v.T @ {h2}", "W", f"{d2} @ {h1}.T + {d1} @ h0.T", shapes=shapes)


@proof(
    "The RNN Jacobian behind vanishing gradients",
    statement=(
        "For h' = tanh(Wh + Ux), ∂h'/∂h = diag(1 − h'²)·W. The gradient through T steps is "
        "a product of T such factors; since 0 < 1 − tanh² ≤ 1, each has norm ≤ ‖W‖, so "
        "‖∂h_T/∂h_0‖ ≤ ‖W‖ᵀ, which vanishes when ‖W‖ < 1."
    ),
    references=[
        "Bengio, Simard, Frasconi, Learning long-term dependencies with gradient descent "
        "is difficult, IEEE TNN 5(2) (1994)",
        "Pascanu, Mikolov, Bengio, On the difficulty of training recurrent neural networks "
        "(ICML 2013), §2",
    ],
    tags=["architecture", "rnn", "vanishing-gradient", "jacobian"],
)
def rnn_jacobian():
    shapes = {"W": "3x3", "U": "3x2", "h": "3", "x": "2"}
    return check_derivative(
        "tanh(W @ h + U @ x)", "h", "diag(1 - tanh(W @ h + U @ x)**2) @ W", shapes=shapes
    )


@proof(
    "The LSTM cell state carries the gradient through the forget gate",
    statement=(
        "c' = f ⊙ c + i ⊙ g with gates f = σ(W_f h + b_f), i = σ(W_i h + b_i), "
        "g = tanh(W_g h + b_g): ∂c'/∂c = diag(f) — no squashing derivative and no weight "
        "matrix on this path (the constant error carousel), only the forget gate."
    ),
    references=[
        "Hochreiter & Schmidhuber, Long Short-Term Memory, Neural Computation 9(8) (1997)",
        "Gers, Schmidhuber, Cummins, Learning to Forget: Continual Prediction with LSTM, "
        "Neural Computation 12(10) (2000)",
    ],
    tags=["architecture", "lstm", "gates", "jacobian"],
)
def lstm_cell_gradient():
    shapes = {k: "2x2" for k in ("Wf", "Wi", "Wg")} | {k: "2" for k in ("h", "c", "bf", "bi", "bg")}
    cell = "sigmoid(Wf @ h + bf)*c + sigmoid(Wi @ h + bi)*tanh(Wg @ h + bg)"
    return check_derivative(cell, "c", "diag(sigmoid(Wf @ h + bf))", shapes=shapes)


@proof(
    "A residual block's Jacobian is I + ∂F/∂x",
    statement=(
        "For y = x + F(x) with F(x) = tanh(Wx): ∂y/∂x = I + diag(1 − tanh²(Wx))·W, so the "
        "identity path passes the gradient unchanged whatever F does."
    ),
    references=["He, Zhang, Ren, Sun, Identity Mappings in Deep Residual Networks (ECCV 2016), §3"],
    tags=["architecture", "residual", "jacobian"],
)
def residual_jacobian():
    return check_derivative(
        "x + tanh(W @ x)",
        "x",
        "diag(ones_like(x)) + diag(1 - tanh(W @ x)**2) @ W",
        shapes={"W": "3x3", "x": "3"},
    )


@proof(
    "Attention weights: the Jacobian of softmax(Kq/√d) in the query",
    statement=(
        "For scores Kq/√d (keys K: n×d, query q) and weights p = softmax(Kq/√d): "
        "∂p/∂q = (diag(p) − ppᵀ)K/√d — checked at n = 3, d = 2."
    ),
    references=["Vaswani et al., Attention Is All You Need (NeurIPS 2017), §3.2.1"],
    tags=["architecture", "attention", "softmax", "jacobian"],
)
def attention_weights_jacobian():
    p = "softmax(K @ q/sqrt(2))"
    return check_derivative(
        p, "q", f"(diag({p}) - {p} @ {p}.T) @ K/sqrt(2)", shapes={"K": "3x2", "q": "2"}
    )


def _gaussian_expectation(integrand, count):
    """E[integrand(ε₁…ε_count)] for independent standard normals, by the 3-point
    Gauss–Hermite rule in each variable (exact for degree ≤ 5 in each)."""
    nodes = [
        (-sp.sqrt(3), sp.Rational(1, 6)),
        (0, sp.Rational(2, 3)),
        (sp.sqrt(3), sp.Rational(1, 6)),
    ]
    total = sp.Integer(0)
    for combo in itertools.product(nodes, repeat=count):
        total += sp.Mul(*(w for _, w in combo)) * integrand([v for v, _ in combo])
    return total


@proof(
    "Why attention scales by 1/√d",
    statement=(
        "If q and k have independent entries with mean 0 and variance s², then "
        "E[q·k] = 0 and Var(q·k) = d·s⁴: the dot product's spread grows with d, pushing the "
        "softmax into saturation. Dividing by √d restores variance s⁴. Checked exactly "
        "for Gaussian entries at d = 2 and d = 3 (the integrands have degree 2 per entry)."
    ),
    references=["Vaswani et al., Attention Is All You Need (NeurIPS 2017), §3.2.1, footnote 4"],
    tags=["architecture", "attention", "variance", "scaling"],
)
def attention_scaling():
    s = sp.Symbol("s", positive=True)
    checks = []
    for d in (2, 3):

        def dot(v, d=d):
            return sum(s * v[i] * s * v[d + i] for i in range(d))

        checks.append(check_identity(_gaussian_expectation(lambda v, d=d: dot(v) + 1, 2 * d), 1))
        checks.append(check_identity(_gaussian_expectation(lambda v: dot(v) ** 2, 2 * d), d * s**4))
        scaled = _gaussian_expectation(lambda v, d=d: (dot(v) / sp.sqrt(d)) ** 2, 2 * d)
        checks.append(check_identity(scaled, s**4))
    return checks
