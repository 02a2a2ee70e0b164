"""Matrix derivatives that appear throughout deep learning."""

from symdl import check_derivative, proof


@proof(
    "Gradient of the log-determinant",
    statement="∂/∂X log det X = X^{−T} (for det X > 0; no symmetry assumed).",
    references=["Petersen & Pedersen, The Matrix Cookbook (2012), eq. (57)"],
    tags=["matrix", "logdet", "normalising-flows"],
)
def logdet_gradient():
    return check_derivative("logdet(X)", "X", "inv(X).T", shapes={"X": "3x3"})


@proof(
    "Gradient of a quadratic form",
    statement="∂/∂x xᵀAx = (A + Aᵀ)x; for symmetric A this is 2Ax.",
    references=["Petersen & Pedersen, The Matrix Cookbook (2012), eq. (81)"],
    tags=["matrix", "quadratic-form"],
)
def quadratic_form_gradient():
    general = check_derivative("x.T @ A @ x", "x", "(A + A.T) @ x", shapes={"A": "3x3", "x": "3"})
    symmetric = check_derivative(
        "x.T @ A @ x", "x", "2*A @ x", shapes={"A": "3x3", "x": "3"}, assume={"A": "symmetric"}
    )
    return [general, symmetric]


@proof(
    "Backprop through a dense tanh layer",
    statement="∂/∂W Σ tanh(Wx + b) = (1 − tanh²(Wx + b)) xᵀ — the δ of the layer times xᵀ.",
    tags=["neuron", "backprop", "tanh"],
)
def dense_tanh_layer_gradient():
    shapes = {"W": "3x2", "x": "2", "b": "3"}
    return check_derivative(
        "sum(tanh(W @ x + b))", "W", "(1 - tanh(W @ x + b)**2) @ x.T", shapes=shapes
    )
