"""Derivatives of activation functions, in the form textbooks write them.

Some are also derived step by step: each step names its rule and is checked on its own.
"""

from symdl import check_derivative, check_identity, derive_steps, proof


@proof(
    "Sigmoid derivative",
    statement="σ'(x) = σ(x)(1 − σ(x)) for σ(x) = 1/(1 + e^{−x}), derived step by step.",
    references=["Goodfellow, Bengio, Courville, Deep Learning (2016), §6.3.2"],
    tags=["activation", "sigmoid"],
)
def sigmoid_derivative():
    steps = derive_steps("sigmoid(x)", "x")
    return [steps, check_derivative("sigmoid(x)", "x", "sigmoid(x)*(1 - sigmoid(x))")]


@proof(
    "Tanh derivative",
    statement="tanh'(x) = 1 − tanh²(x).",
    tags=["activation", "tanh"],
)
def tanh_derivative():
    return check_derivative("tanh(x)", "x", "1 - tanh(x)**2")


@proof(
    "Tanh is a rescaled sigmoid",
    statement="tanh(x) = 2σ(2x) − 1.",
    tags=["activation", "tanh", "sigmoid"],
)
def tanh_is_rescaled_sigmoid():
    return check_identity("tanh(x)", "2*sigmoid(2*x) - 1")


@proof(
    "Softplus derivative is the sigmoid",
    statement="d/dx log(1 + e^x) = σ(x), derived step by step.",
    tags=["activation", "softplus"],
)
def softplus_derivative():
    return [derive_steps("softplus(x)", "x"), check_derivative("softplus(x)", "x", "sigmoid(x)")]


@proof(
    "ReLU derivative and its kink",
    statement=(
        "relu'(x) = H(x) for x ≠ 0; at 0 the one-sided derivatives are 0 and 1, and any "
        "value in [0, 1] (H(0) = 1/2 here) is a subgradient."
    ),
    tags=["activation", "relu", "kink"],
)
def relu_derivative():
    return check_derivative("relu(x)", "x", "heaviside(x)")


@proof(
    "Swish derivative",
    statement="d/dx x·σ(x) = σ(x) + x·σ(x)(1 − σ(x)).",
    references=["Ramachandran, Zoph, Le, Searching for Activation Functions (2017)"],
    tags=["activation", "swish"],
)
def swish_derivative():
    return check_derivative("x*sigmoid(x)", "x", "sigmoid(x) + x*sigmoid(x)*(1 - sigmoid(x))")


@proof(
    "GELU derivative",
    statement="d/dx x·Φ(x) = Φ(x) + x·φ(x), with Φ(x) = (1 + erf(x/√2))/2, φ(x) = e^{−x²/2}/√(2π).",
    references=["Hendrycks & Gimpel, Gaussian Error Linear Units (GELUs), arXiv:1606.08415"],
    tags=["activation", "gelu"],
)
def gelu_derivative():
    claim = "(1 + erf(x/sqrt(2)))/2 + x*exp(-x**2/2)/sqrt(2*pi)"
    return [derive_steps("gelu(x)", "x"), check_derivative("gelu(x)", "x", claim)]


@proof(
    "ELU derivative",
    statement="ELU'(x) = 1 for x > 0 and α·eˣ = ELU(x) + α for x < 0 (α = 1 here).",
    references=[
        "Clevert, Unterthiner, Hochreiter, Fast and Accurate Deep Network Learning "
        "by Exponential Linear Units (ICLR 2016)"
    ],
    tags=["activation", "elu", "kink"],
)
def elu_derivative():
    return check_derivative("elu(x)", "x", "heaviside(x) + heaviside(-x)*(elu(x) + 1)")


@proof(
    "Mish derivative",
    statement="d/dx x·tanh(softplus(x)) = tanh(softplus(x)) + x·σ(x)·(1 − tanh²(softplus(x))).",
    references=["Misra, Mish: A Self Regularized Non-Monotonic Activation Function (2019)"],
    tags=["activation", "mish"],
)
def mish_derivative():
    return check_derivative(
        "mish(x)", "x", "tanh(softplus(x)) + x*sigmoid(x)*(1 - tanh(softplus(x))**2)"
    )


@proof(
    "Softsign derivative",
    statement="d/dx x/(1 + |x|) = 1/(1 + |x|)².",
    tags=["activation", "softsign"],
)
def softsign_derivative():
    return check_derivative("softsign(x)", "x", "1/(1 + abs(x))**2")


@proof(
    "Softmax Jacobian",
    statement="∂softmax(z)/∂z = diag(p) − p pᵀ with p = softmax(z).",
    references=["Goodfellow, Bengio, Courville, Deep Learning (2016), §6.2.2.3"],
    tags=["activation", "softmax", "jacobian"],
)
def softmax_jacobian():
    return check_derivative(
        "softmax(z)",
        "z",
        "diag(softmax(z)) - softmax(z) @ softmax(z).T",
        shapes={"z": "n"},
    )


@proof(
    "A layer y = f(Wx + b) with a catalogue activation",
    statement="∂/∂W Σ gelu(Wx + b) = gelu'(Wx + b) xᵀ (a row of gelu' per output).",
    tags=["neuron", "gelu", "matrix"],
)
def neuron_weight_gradient():
    return check_derivative(
        "sum(gelu(W @ x + b))",
        "W",
        "((1 + erf((W @ x + b)/sqrt(2)))/2 + (W @ x + b)*exp(-(W @ x + b)**2/2)/sqrt(2*pi)) @ x.T",
        shapes={"W": "3x4", "x": "4", "b": "3"},
    )
