"""Gradients in matrix notation, derived by the matrix engine and proved for every size.

Each proof derives the gradient with the reverse-mode engine (proved at two concrete sizes
by induction over the reverse sweep, and checked by finite differences of its generated
code, before it is called proved) and checks the
textbook form with ``check_derivative``, where the engine shows the claim equal to its
gradient for every value of the symbolic dimensions.
"""

from symdl import check_derivative, matrix_gradient, proof

LINEAR = {"W": "m x n", "x": "n", "b": "m", "y": "m"}
MLP = {
    "W1": "h x n",
    "W2": "h x h",
    "W3": "m x h",
    "x": "n",
    "b1": "h",
    "b2": "h",
    "b3": "m",
    "y": "m",
}


def _derived_and_claimed(f, wrt, claims, shapes, assume=None):
    reports = [matrix_gradient(f, wrt, shapes=shapes, assume=assume, timeout=120).report]
    for var, claim in claims.items():
        reports.append(check_derivative(f, var, claim, shapes=shapes, assume=assume))
    return reports


@proof(
    "Least squares: gradients by the weights and the bias",
    statement="∂/∂W ‖Wx + b − y‖² = 2(Wx + b − y)xᵀ and ∂/∂b = 2(Wx + b − y), for all m, n.",
    references=["Petersen & Pedersen, The Matrix Cookbook (2012), eq. (84)–(89)"],
    tags=["matrix", "gradient", "loss"],
)
def least_squares():
    return _derived_and_claimed(
        "sum((W @ x + b - y)**2)",
        "W,b",
        {"W": "2*(W @ x + b - y) @ x.T", "b": "2*(W @ x + b - y)"},
        LINEAR,
    )


@proof(
    "Backpropagation through a depth-3 tanh network",
    statement=(
        "For L = ‖W₃ tanh(W₂ tanh(W₁x + b₁) + b₂) + b₃ − y‖², with zᵢ, aᵢ = tanh(zᵢ): "
        "δ₃ = 2(W₃a₂ + b₃ − y), δ₂ = (W₃ᵀδ₃) ⊙ (1 − a₂²), δ₁ = (W₂ᵀδ₂) ⊙ (1 − a₁²), "
        "∂L/∂Wᵢ = δᵢ aᵢ₋₁ᵀ (a₀ = x), ∂L/∂bᵢ = δᵢ."
    ),
    references=["Goodfellow, Bengio & Courville, Deep Learning (2016), §6.5.4"],
    tags=["matrix", "gradient", "backprop"],
)
def tanh_mlp():
    a1 = "tanh(W1 @ x + b1)"
    a2 = f"tanh(W2 @ {a1} + b2)"
    d3 = f"(2*(W3 @ {a2} + b3 - y))"
    d2 = f"((W3.T @ {d3}) * (1 - {a2}**2))"
    d1 = f"((W2.T @ {d2}) * (1 - {a1}**2))"
    return _derived_and_claimed(
        "sum((W3 @ tanh(W2 @ tanh(W1 @ x + b1) + b2) + b3 - y)**2)",
        "W1,b1,W2,b2,W3,b3",
        {"W1": f"{d1} @ x.T", "W2": f"{d2} @ {a1}.T", "W3": f"{d3} @ {a2}.T", "b1": d1},
        MLP,
    )


@proof(
    "Softmax cross-entropy by the weights",
    statement=(
        "For a probability vector y, ∂/∂W (−Σ y ⊙ log softmax(Wx + b)) = (softmax(Wx + b) − y)xᵀ."
    ),
    tags=["matrix", "gradient", "softmax", "cross-entropy"],
)
def softmax_cross_entropy():
    return _derived_and_claimed(
        "-sum(y * log_softmax(W @ x + b))",
        "W",
        {"W": "(softmax(W @ x + b) - y) @ x.T"},
        LINEAR,
        {"y": "probability"},
    )


@proof(
    "Matrix Cookbook identities",
    statement=(
        "∂ log det X/∂X = X⁻ᵀ; ∂ tr(AXB)/∂X = AᵀBᵀ; ∂ xᵀAx/∂x = (A + Aᵀ)x; "
        "∂‖W‖_F/∂W = W/‖W‖_F; ∂ det X/∂X = det(X) X⁻ᵀ — for every n."
    ),
    references=["Petersen & Pedersen, The Matrix Cookbook (2012), eq. (49), (57), (81), (100)"],
    tags=["matrix", "gradient", "linear-algebra"],
)
def cookbook():
    square = {"X": "n x n", "A": "n x n", "B": "n x n", "x": "n", "W": "n x m"}
    table = [
        ("logdet(X)", "X", "inv(X).T"),
        ("tr(A @ X @ B)", "X", "A.T @ B.T"),
        ("x.T @ A @ x", "x", "(A + A.T) @ x"),
        ("norm(W)", "W", "W / norm(W)"),
        ("det(X)", "X", "det(X) * inv(X).T"),
    ]
    reports = []
    for f, wrt, claim in table:
        reports += _derived_and_claimed(f, wrt, {wrt: claim}, square)
    return reports
