"""symdl: derive the mathematics of deep learning symbolically, and prove it right."""

from symdl.catalog import ACTIVATIONS
from symdl.codegen import NumpyFunction, numpy_function
from symdl.derivation import Derivation, Step
from symdl.derive.approximation import (
    Approximation,
    Layer,
    Network,
    affine_pieces,
    approximate,
    convergence,
    deep_interpolation,
    relu_interpolation,
    sigmoid_staircase,
    telgarsky_sawtooth,
    triangulation_interpolation,
    yarotsky_product,
    yarotsky_square,
)
from symdl.derive.backprop import BackpropResult, backprop, parse_network
from symdl.derive.differentials import DifferentialDerivation, derive_by_differentials
from symdl.derive.gaussian import (
    Expectation,
    GaussianActivation,
    cross_moment,
    gaussian_activation,
    moment,
)
from symdl.derive.initialisation import (
    Initialisation,
    InitScheme,
    SeluConstants,
    glorot,
    he,
    init_for,
    lecun,
    selu_constants,
)
from symdl.derive.layers import LAYERS
from symdl.derive.layers.batch_norm_steps import BatchNormSteps, batch_norm_steps
from symdl.derive.layers.dropout import DropoutMoments, dropout_moments
from symdl.derive.matrix import MatrixGradient, matrix_gradient
from symdl.derive.matrix_code import GradientCode
from symdl.derive.matrix_hessian import MatrixHessian, matrix_hessian
from symdl.derive.meanfield import (
    CriticalPoint,
    MeanField,
    critical_line,
    critical_point,
    fixed_point,
    mean_field,
)
from symdl.derive.network_text import layer
from symdl.derive.rnn_gradients import RNNGradientBound, rnn_gradient_bound
from symdl.derive.simulation import LayerCheck, Simulation, simulate
from symdl.derive.steps import derive as derive_steps
from symdl.derive.steps_softmax import SoftmaxJacobian, softmax_jacobian
from symdl.derive.variance import LayerStatistics, VarianceProfile, correlation_map, propagate
from symdl.errors import (
    BudgetExceeded,
    ParseError,
    PrecisionWarning,
    ShapeError,
    SymdlError,
    UnknownNameError,
    UnsupportedError,
)
from symdl.ops import FUNCTIONS
from symdl.parse import parse
from symdl.proofbook import (
    DerivationRecord,
    Proof,
    ProofResult,
    discover,
    proof,
    run_proofs,
)
from symdl.shapes import Scope, parse_shape
from symdl.unparse import to_text
from symdl.verify import (
    Entry,
    Evidence,
    Kink,
    Report,
    check_derivative,
    check_identity,
    gradcheck,
)
from symdl.verify.sampled import sampled_gradcheck

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "FUNCTIONS",
    "LAYERS",
    "Approximation",
    "BackpropResult",
    "BatchNormSteps",
    "BudgetExceeded",
    "CriticalPoint",
    "Derivation",
    "DerivationRecord",
    "DifferentialDerivation",
    "DropoutMoments",
    "Entry",
    "Evidence",
    "Expectation",
    "GaussianActivation",
    "GradientCode",
    "InitScheme",
    "Initialisation",
    "Kink",
    "Layer",
    "LayerCheck",
    "LayerStatistics",
    "MatrixGradient",
    "MatrixHessian",
    "MeanField",
    "Network",
    "NumpyFunction",
    "ParseError",
    "PrecisionWarning",
    "Proof",
    "ProofResult",
    "RNNGradientBound",
    "Report",
    "Scope",
    "SeluConstants",
    "ShapeError",
    "Simulation",
    "SoftmaxJacobian",
    "Step",
    "SymdlError",
    "UnknownNameError",
    "UnsupportedError",
    "VarianceProfile",
    "__version__",
    "affine_pieces",
    "approximate",
    "backprop",
    "batch_norm_steps",
    "check_derivative",
    "check_identity",
    "convergence",
    "correlation_map",
    "critical_line",
    "critical_point",
    "cross_moment",
    "deep_interpolation",
    "derive_by_differentials",
    "derive_steps",
    "discover",
    "dropout_moments",
    "fixed_point",
    "gaussian_activation",
    "glorot",
    "gradcheck",
    "he",
    "init_for",
    "layer",
    "lecun",
    "matrix_gradient",
    "matrix_hessian",
    "mean_field",
    "moment",
    "numpy_function",
    "parse",
    "parse_network",
    "parse_shape",
    "proof",
    "propagate",
    "relu_interpolation",
    "rnn_gradient_bound",
    "run_proofs",
    "sampled_gradcheck",
    "selu_constants",
    "sigmoid_staircase",
    "simulate",
    "softmax_jacobian",
    "telgarsky_sawtooth",
    "to_text",
    "triangulation_interpolation",
    "yarotsky_product",
    "yarotsky_square",
]
