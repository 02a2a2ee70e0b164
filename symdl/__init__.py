"""symdl: derive the mathematics of deep learning symbolically, and prove it right."""

from symdl.catalog import ACTIVATIONS
from symdl.codegen import NumpyFunction, numpy_function
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
from symdl.proofbook import proof
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

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS",
    "FUNCTIONS",
    "BudgetExceeded",
    "Entry",
    "Evidence",
    "Kink",
    "NumpyFunction",
    "ParseError",
    "PrecisionWarning",
    "Report",
    "Scope",
    "ShapeError",
    "SymdlError",
    "UnknownNameError",
    "UnsupportedError",
    "__version__",
    "check_derivative",
    "check_identity",
    "gradcheck",
    "numpy_function",
    "parse",
    "parse_shape",
    "proof",
    "to_text",
]
