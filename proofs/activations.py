"""Derivatives of activation functions, in the form textbooks write them."""

from symdl import check_derivative, check_identity, proof


@proof(
    "Sigmoid derivative",
    statement="σ'(x) = σ(x)(1 − σ(x)) for σ(x) = 1/(1 + e^{−x}).",
    references=["Goodfellow, Bengio, Courville, Deep Learning (2016), §6.3.2"],
    tags=["activation", "sigmoid"],
)
def sigmoid_derivative():
    return check_derivative("sigmoid(x)", "x", "sigmoid(x)*(1 - sigmoid(x))")


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
    statement="d/dx log(1 + e^x) = σ(x).",
    tags=["activation", "softplus"],
)
def softplus_derivative():
    return check_derivative("softplus(x)", "x", "sigmoid(x)")


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
