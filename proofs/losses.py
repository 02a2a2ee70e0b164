"""Gradients of the standard losses with respect to predictions and logits."""

from symdl import check_derivative, check_identity, derive_steps, proof


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
    loss = "-y*log(sigmoid(z)) - (1 - y)*log(1 - sigmoid(z))"
    return [derive_steps(loss, "z"), check_derivative(loss, "z", "sigmoid(z) - y")]


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


@proof(
    "Mean squared error gradient",
    statement="∂/∂ŷ mean((ŷ − y)²) = 2(ŷ − y)/n (n = 4 here).",
    references=["Goodfellow, Bengio, Courville, Deep Learning (2016), §5.5.1"],
    tags=["loss", "mse"],
)
def mean_squared_error_gradient():
    return check_derivative("mean((p - y)**2)", "p", "2*(p - y)/4", shapes={"p": "4", "y": "4"})


@proof(
    "Focal loss derivative",
    statement=(
        "For FL = −(1 − p_t)^γ log p_t with p_t = σ(yx), y ∈ {−1, +1}, γ > 0: "
        "dFL/dx = y(1 − p_t)^γ (γ p_t log p_t + p_t − 1) — checked for both labels."
    ),
    references=[
        "Lin, Goyal, Girshick, He, Dollár, Focal Loss for Dense Object Detection "
        "(ICCV 2017), Appendix B"
    ],
    tags=["loss", "focal", "sigmoid"],
)
def focal_loss_derivative():
    checks = []
    for y in ("1", "-1"):
        pt = f"sigmoid({y}*x)"
        checks.append(
            check_derivative(
                f"-(1 - {pt})**g*log({pt})",
                "x",
                f"{y}*(1 - {pt})**g*(g*{pt}*log({pt}) + {pt} - 1)",
                assume={"g": "positive"},
            )
        )
    return checks


@proof(
    "Huber loss: the derivative is the clipped residual",
    statement=(
        "Huber's loss h(r) = r²/2 for |r| ≤ δ and δ(|r| − δ/2) otherwise, written "
        "m(|r| − m/2) with m = min(|r|, δ), has h'(r) = max(−δ, min(r, δ)): the gradient of "
        "a residual never exceeds δ in magnitude."
    ),
    references=[
        "Huber, Robust Estimation of a Location Parameter, Ann. Math. Statist. 35(1) (1964)"
    ],
    tags=["loss", "huber", "robust", "kink"],
)
def huber_derivative():
    m = "minimum(abs(r), d)"
    return check_derivative(
        f"{m}*(abs(r) - {m}/2)", "r", "maximum(-d, minimum(r, d))", assume={"d": "positive"}
    )
