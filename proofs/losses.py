"""Gradients of the standard losses with respect to predictions and logits."""

from symdl import check_derivative, check_identity, proof


@proof(
    "Gradient of the squared error of a linear model",
    statement="∂/∂W ‖Wx − y‖² = 2(Wx − y)xᵀ.",
    references=["Petersen & Pedersen, The Matrix Cookbook (2012), eq. (84)–(89)"],
    tags=["loss", "mse", "matrix"],
)
def squared_error_gradient():
    shapes = {"W": "n x m", "x": "m x 1", "y": "n x 1"}
    return check_derivative("sum((W @ x - y)**2)", "W", "2*(W @ x - y) @ x.T", shapes=shapes)


@proof(
    "Softmax cross-entropy gradient",
    statement="For a probability vector y, ∂/∂z (−Σ y log softmax(z)) = softmax(z) − y.",
    tags=["loss", "cross-entropy", "softmax"],
)
def softmax_cross_entropy_gradient():
    return check_derivative(
        "-sum(y * log_softmax(z))",
        "z",
        "softmax(z) - y",
        shapes={"z": "4", "y": "4"},
        assume={"y": "probability"},
    )


@proof(
    "Binary cross-entropy on logits",
    statement="∂/∂z [−y log σ(z) − (1 − y) log(1 − σ(z))] = σ(z) − y.",
    tags=["loss", "cross-entropy", "sigmoid"],
)
def bce_logits_gradient():
    return check_derivative(
        "-y*log(sigmoid(z)) - (1 - y)*log(1 - sigmoid(z))", "z", "sigmoid(z) - y"
    )


@proof(
    "Softmax outputs form a distribution",
    statement="Σ_i softmax(z)_i = 1.",
    tags=["softmax", "probability"],
)
def softmax_sums_to_one():
    return check_identity("sum(softmax(z))", "1", shapes={"z": "5"})


@proof(
    "Log-sum-exp gradient is the softmax",
    statement="∇_z log Σ_i e^{z_i} = softmax(z).",
    tags=["softmax", "logsumexp"],
)
def logsumexp_gradient():
    return check_derivative("logsumexp(z)", "z", "softmax(z)", shapes={"z": "n"})
