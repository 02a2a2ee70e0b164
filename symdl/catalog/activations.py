"""Activation functions as data, each with its derivative in the form textbooks write.

Every canonical derivative here is proved equal to SymPy's derivative by the test suite
(``tests/test_catalog_activations.py``), and every property (range, monotonicity, …) is
established by :mod:`symdl.catalog.properties`, never typed in.
"""

from __future__ import annotations

import sympy as sp

from symdl.catalog.entry import Activation, Parameter, X
from symdl.nodes import catalog_function, sigmoid, softplus
from symdl.ops import FUNCTIONS, InputFunction, elementwise
from symdl.parse import parse
from symdl.registry import Registry

__all__ = ["ACTIVATIONS", "SELU_ALPHA", "SELU_LAMBDA"]

ACTIVATIONS = Registry[Activation]("activation")

_R = sp.erfc(1 / sp.sqrt(2))
#: SELU's α₀₁ in closed form (Klambauer et al. 2017, "Self-Normalizing Neural Networks",
#: eq. 14): 1.6732632423543772848170429916717…
SELU_ALPHA = -sp.sqrt(2 / sp.pi) / (_R * sp.exp(sp.Rational(1, 2)) - 1)
#: SELU's λ₀₁ in closed form (same reference): 1.0507009873554804934193349852946…
SELU_LAMBDA = (
    (1 - _R * sp.sqrt(sp.E))
    * sp.sqrt(2 * sp.pi)
    * (
        2 * sp.erfc(sp.sqrt(2)) * sp.E**2
        + sp.pi * _R**2 * sp.E
        - 2 * (2 + sp.pi) * _R * sp.sqrt(sp.E)
        + sp.pi
        + 2
    )
    ** sp.Rational(-1, 2)
)

x = X
_alpha = Parameter("alpha", sp.Rational(1, 100), "positive", doc="slope for x < 0")
_prelu_alpha = Parameter(
    "alpha", sp.Rational(1, 4), "real", learnable=True, doc="learnable slope for x < 0"
)
_elu_alpha = Parameter("alpha", sp.Integer(1), "positive", doc="saturation value −α")
_beta = Parameter("beta", sp.Integer(1), "positive", doc="sharpness")
a, b = sp.Symbol("alpha", positive=True), sp.Symbol("beta", positive=True)
a_real = sp.Symbol("alpha", real=True)


def _piecewise(pos: sp.Expr, neg: sp.Expr) -> sp.Expr:
    return sp.Piecewise((pos, x > 0), (neg, True))


def _add(name: str, expr: sp.Expr, derivative: sp.Expr, latex: str, **kw: object) -> None:
    ACTIVATIONS.add(Activation(name, expr, derivative, latex, **kw))  # type: ignore[arg-type]


_add("identity", x, sp.Integer(1), r"\mathrm{id}", doc="the identity map")
_add(
    "sigmoid",
    sigmoid(x),
    sigmoid(x) * (1 - sigmoid(x)),
    r"\sigma",
    aliases=("logistic",),
    doc="the logistic sigmoid 1/(1 + e^{−x})",
)
_add("tanh", sp.tanh(x), 1 - sp.tanh(x) ** 2, r"\tanh", doc="hyperbolic tangent")
_add(
    "relu",
    sp.Max(0, x),
    sp.Heaviside(x),
    r"\operatorname{ReLU}",
    reference="Nair & Hinton, Rectified Linear Units Improve RBMs (ICML 2010)",
    doc="max(0, x); the derivative at the kink is taken as 1/2 (any value in [0, 1] is a "
    "subgradient)",
)
_add(
    "relu6",
    sp.Piecewise((0, x < 0), (x, x < 6), (6, True)),
    sp.Piecewise((0, x < 0), (1, x < 6), (0, True)),
    r"\operatorname{ReLU6}",
    reference="Howard et al., MobileNets (2017)",
    doc="min(max(0, x), 6)",
)
_add(
    "leaky_relu",
    _piecewise(x, a * x),
    _piecewise(sp.Integer(1), a),
    r"\operatorname{LeakyReLU}",
    parameters=(_alpha,),
    reference="Maas, Hannun, Ng, Rectifier Nonlinearities (ICML 2013)",
    doc="x for x > 0, αx otherwise",
)
_add(
    "prelu",
    _piecewise(x, a_real * x),
    _piecewise(sp.Integer(1), a_real),
    r"\operatorname{PReLU}",
    parameters=(_prelu_alpha,),
    reference="He et al., Delving Deep into Rectifiers (ICCV 2015), eq. 1 and 4",
    doc="leaky ReLU with a learnable slope α (initialised to 0.25); ∂f/∂α = min(0, x)",
)
_add(
    "elu",
    _piecewise(x, a * (sp.exp(x) - 1)),
    _piecewise(sp.Integer(1), a * sp.exp(x)),
    r"\operatorname{ELU}",
    parameters=(_elu_alpha,),
    reference="Clevert, Unterthiner, Hochreiter, ELUs (ICLR 2016)",
    doc="x for x > 0, α(eˣ − 1) otherwise",
)
_lam = sp.Symbol("lambda", positive=True)
_add(
    "selu",
    _lam * _piecewise(x, a * (sp.exp(x) - 1)),
    _lam * _piecewise(sp.Integer(1), a * sp.exp(x)),
    r"\operatorname{SELU}",
    parameters=(
        Parameter("lambda", SELU_LAMBDA, "positive", doc="scale λ₀₁ (exact closed form)"),
        Parameter("alpha", SELU_ALPHA, "positive", doc="α₀₁ (exact closed form)"),
    ),
    reference="Klambauer et al., Self-Normalizing Neural Networks (NeurIPS 2017), eq. 14",
    doc="λ·ELU_α(x) with λ and α the exact fixed-point constants",
)
_add(
    "celu",
    _piecewise(x, a * (sp.exp(x / a) - 1)),
    _piecewise(sp.Integer(1), sp.exp(x / a)),
    r"\operatorname{CELU}",
    parameters=(_elu_alpha,),
    reference="Barron, Continuously Differentiable Exponential Linear Units (2017)",
    doc="x for x > 0, α(e^{x/α} − 1) otherwise; C¹ for every α",
)
_Phi = (1 + sp.erf(x / sp.sqrt(2))) / 2
_phi = sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi)
_add(
    "gelu",
    x * _Phi,
    _Phi + x * _phi,
    r"\operatorname{GELU}",
    reference="Hendrycks & Gimpel, Gaussian Error Linear Units (2016)",
    doc="x·Φ(x) with Φ the standard normal CDF; derivative Φ(x) + x·φ(x)",
)
_c = sp.sqrt(2 / sp.pi)
_k = sp.Rational(44715, 10**6)
_u = _c * (x + _k * x**3)
_add(
    "gelu_tanh",
    x * (1 + sp.tanh(_u)) / 2,
    (1 + sp.tanh(_u)) / 2 + x * (1 - sp.tanh(_u) ** 2) * _c * (1 + 3 * _k * x**2) / 2,
    r"\operatorname{GELU}_{\tanh}",
    reference="Hendrycks & Gimpel (2016), the tanh approximation with 0.044715",
    doc="½x(1 + tanh(√(2/π)(x + 0.044715x³)))",
)
_add(
    "softplus",
    softplus(b * x) / b,
    sigmoid(b * x),
    r"\operatorname{softplus}",
    parameters=(_beta,),
    reference="Dugas et al., Incorporating Second-Order Functional Knowledge (NeurIPS 2000)",
    doc="log(1 + e^{βx})/β",
)
_add(
    "swish",
    x * sigmoid(b * x),
    sigmoid(b * x) + b * x * sigmoid(b * x) * (1 - sigmoid(b * x)),
    r"\operatorname{swish}",
    parameters=(_beta,),
    aliases=("silu",),
    reference="Ramachandran, Zoph, Le, Searching for Activation Functions (2017); "
    "Elfwing et al. (2018) for SiLU (β = 1)",
    doc="x·σ(βx)",
)
_add(
    "mish",
    x * sp.tanh(softplus(x)),
    sp.tanh(softplus(x)) + x * sigmoid(x) * (1 - sp.tanh(softplus(x)) ** 2),
    r"\operatorname{mish}",
    reference="Misra, Mish: A Self Regularized Non-Monotonic Activation Function (2019)",
    doc="x·tanh(softplus(x))",
)
_add(
    "softsign",
    x / (1 + sp.Abs(x)),
    1 / (1 + sp.Abs(x)) ** 2,
    r"\operatorname{softsign}",
    doc="x/(1 + |x|)",
)
_add(
    "hard_sigmoid",
    sp.Piecewise((0, x < -3), (x / 6 + sp.Rational(1, 2), x < 3), (1, True)),
    sp.Piecewise((0, x < -3), (sp.Rational(1, 6), x < 3), (0, True)),
    r"\operatorname{hardsigmoid}",
    reference="PyTorch's Hardsigmoid: relu6(x + 3)/6",
    doc="clip(x/6 + 1/2, 0, 1)",
)
_add(
    "hard_tanh",
    sp.Piecewise((-1, x < -1), (x, x < 1), (1, True)),
    sp.Piecewise((0, x < -1), (1, x < 1), (0, True)),
    r"\operatorname{hardtanh}",
    doc="clip(x, −1, 1)",
)

_Z = {"z": "n"}
_add(
    "softmax",
    parse("softmax(z)", _Z),
    parse("diag(softmax(z)) - softmax(z) @ softmax(z).T", _Z),
    r"\operatorname{softmax}",
    vector=True,
    doc="e^{z_i}/Σ_j e^{z_j}; Jacobian diag(p) − ppᵀ (J_ij = ∂p_i/∂z_j)",
)
_add(
    "log_softmax",
    parse("log_softmax(z)", _Z),
    parse("diag(ones_like(z)) - ones_like(z) @ softmax(z).T", _Z),
    r"\log\operatorname{softmax}",
    vector=True,
    doc="z_i − log Σ_j e^{z_j}; Jacobian I − 𝟙pᵀ (row i is e_i − p)",
)


def _register_in_the_input_language() -> None:
    """Every scalar activation becomes an input-language function (default parameters)."""
    for entry in ACTIVATIONS:
        if entry.vector:
            continue
        if entry.name in FUNCTIONS:  # sigmoid, tanh, relu, softplus: aliases share the node
            builtin = FUNCTIONS.get(entry.name)
            for alias in entry.aliases:
                FUNCTIONS.add(InputFunction(alias, 1, builtin.build, builtin.kind, builtin.doc))
            continue
        f, d = entry.at()
        node = catalog_function(entry.name, X, f, d, entry.latex)
        for name in (entry.name, *entry.aliases):
            if name == "identity":
                continue
            doc = f"{entry.doc} (catalogue activation, default parameters)"
            FUNCTIONS.add(
                InputFunction(
                    name, 1, lambda a, node=node: elementwise(node, a), "elementwise", doc
                )
            )


_register_in_the_input_language()
