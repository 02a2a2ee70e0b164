"""Neurons y = f(Wx + b): the catalogue's derivatives, a neuron's gradients, and why the
non-linearity matters."""

from symdl import ACTIVATIONS, check_derivative, check_identity, proof

_LAYER = {"W": "3x2", "x": "2", "b": "3"}


@proof(
    "Every catalogue activation's derivative in canonical form",
    statement=(
        "For each scalar activation in symdl's catalogue (at its default parameters), "
        "f'(x) equals the derivative the catalogue states in textbook form — σ(x)(1 − σ(x)), "
        "1 − tanh²(x), H(x) for ReLU (with its kink at 0 checked one-sidedly), …"
    ),
    references=[
        "Goodfellow, Bengio, Courville, Deep Learning (2016), §6.3",
        "the reference of each catalogue entry (symdl show NAME)",
    ],
    tags=["neuron", "activation", "catalogue"],
)
def catalogue_derivatives():
    checks = []
    for activation in ACTIVATIONS:
        if activation.vector:
            continue
        f, derivative = activation.at()
        (x,) = f.free_symbols  # the activation's input, once the parameters are set
        checks.append(check_derivative(f, x, derivative))
    return checks


@proof(
    "A neuron's gradients: y = σ(Wx + b)",
    statement=(
        "For L = Σ σ(Wx + b), with δ = σ'(Wx + b) = σ(1 − σ): ∂L/∂W = δxᵀ, ∂L/∂b = δ, ∂L/∂x = Wᵀδ."
    ),
    references=["Goodfellow, Bengio, Courville, Deep Learning (2016), §6.5"],
    tags=["neuron", "backprop", "sigmoid"],
)
def neuron_gradients():
    f = "sum(sigmoid(W @ x + b))"
    delta = "(sigmoid(W @ x + b)*(1 - sigmoid(W @ x + b)))"
    return [
        check_derivative(f, "W", f"{delta} @ x.T", shapes=_LAYER),
        check_derivative(f, "b", delta, shapes=_LAYER),
        check_derivative(f, "x", f"W.T @ {delta}", shapes=_LAYER),
    ]


@proof(
    "A layer's weight gradient at symbolic sizes",
    statement="∂/∂W Σ tanh(Wx + b) = (1 − tanh²(Wx + b))xᵀ for W of any size n×m.",
    references=["Goodfellow, Bengio, Courville, Deep Learning (2016), §6.5.4"],
    tags=["neuron", "backprop", "tanh", "symbolic-size"],
)
def layer_gradient_any_size():
    return check_derivative(
        "sum(tanh(W @ x + b))",
        "W",
        "(1 - tanh(W @ x + b)**2) @ x.T",
        shapes={"W": "n x m", "x": "m", "b": "n"},
    )


@proof(
    "Without a non-linearity, depth adds nothing",
    statement=(
        "W₂(W₁x + b₁) + b₂ = (W₂W₁)x + (W₂b₁ + b₂): two affine layers are one affine layer."
    ),
    references=["Goodfellow, Bengio, Courville, Deep Learning (2016), §6.1"],
    tags=["neuron", "linear", "depth"],
)
def linear_layers_collapse():
    shapes = {"W1": "3x2", "W2": "2x3", "b1": "3", "b2": "2", "x": "2"}
    return check_identity(
        "W2 @ (W1 @ x + b1) + b2", "(W2 @ W1) @ x + (W2 @ b1 + b2)", shapes=shapes
    )


@proof(
    "Logistic regression: the gradient is (σ(wᵀx + b) − y)x",
    statement=(
        "For the binary cross-entropy of p = σ(wᵀx + b) against y: "
        "∂/∂w [−y log p − (1 − y) log(1 − p)] = (p − y)x, and ∂/∂b = p − y."
    ),
    references=["Bishop, Pattern Recognition and Machine Learning (2006), §4.3.2, eq. (4.91)"],
    tags=["neuron", "logistic-regression", "cross-entropy", "sigmoid"],
)
def logistic_regression_gradient():
    shapes = {"w": "3", "x": "3"}
    p = "sigmoid(w.T @ x + b)"
    loss = f"-y*log({p}) - (1 - y)*log(1 - {p})"
    return [
        check_derivative(loss, "w", f"x @ ({p} - y)", shapes=shapes),
        check_derivative(loss, "b", f"{p} - y", shapes=shapes),
    ]


@proof(
    "Softmax regression: the gradient is (softmax(Wx) − y)xᵀ",
    statement=(
        "For a probability vector y and logits Wx: "
        "∂/∂W (−Σ yᵢ log softmax(Wx)ᵢ) = (softmax(Wx) − y)xᵀ."
    ),
    references=["Bishop, Pattern Recognition and Machine Learning (2006), §4.3.4, eq. (4.109)"],
    tags=["neuron", "softmax-regression", "cross-entropy", "softmax"],
)
def softmax_regression_gradient():
    return check_derivative(
        "-sum(y*log_softmax(W @ x))",
        "W",
        "(softmax(W @ x) - y) @ x.T",
        shapes={"W": "3x2", "x": "2", "y": "3"},
        assume={"y": "probability"},
    )
