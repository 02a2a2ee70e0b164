"""Random input-language text of smooth functions, with a depth bound."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from symdl.ops import FUNCTIONS
from symdl.strategies._validate import _check_int

__all__ = ["expressions"]

#: One-argument forms that are C^∞ and defined on all of ℝ, and stay bounded enough for
#: float64 code (exp only of a bounded argument).
_UNARY = (
    "sin({})",
    "cos({})",
    "tanh({})",
    "sigmoid({})",
    "softplus({})",
    "erf({})",
    "gelu({})",
    "swish({})",
    "exp(sin({}))",
    "log(1 + ({})**2)",
    "({})**2",
    "({})**3",
)
_BINARY = ("({}) + ({})", "({}) - ({})", "({})*({})", "({})/(1 + ({})**2)")
_CONSTANTS = ("1", "2", "3", "(1/2)", "(3/2)")


def expressions(*, variables: Sequence[str] = ("x",), max_depth: int = 3) -> st.SearchStrategy[str]:
    """Input-language text of smooth scalar functions of ``variables``.

    Every expression is :math:`C^\\infty` and defined on all of :math:`\\mathbb{R}^k`: the
    forms are ``sin cos tanh sigmoid softplus erf gelu swish``, ``exp(sin(·))``,
    ``log(1 + (·)**2)``, squares, cubes, ``+ - *`` and ``a/(1 + b**2)``, over the
    variables and small constants, nested at most ``max_depth`` deep (one more product
    when a draw holds no variable, so every draw mentions one; it may still simplify to a
    constant, as ``(x) - (x)`` does).
    """
    names = tuple(variables) if not isinstance(variables, str) else (variables,)
    if not names:
        raise InvalidArgument("variables must name at least one variable")
    for name in names:
        if not (isinstance(name, str) and name.isidentifier()):
            raise InvalidArgument(f"{name!r} is not a variable name")
        if name in FUNCTIONS or name in ("pi", "e"):
            raise InvalidArgument(f"{name!r} is a function or constant of the input language")
    _check_int(max_depth, "max_depth", 0, 8)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    # a draw of constants only becomes a multiple of the first variable
    return _grown(names, max_depth).map(
        lambda text: text if pattern.search(text) else f"({text})*{names[0]}"
    )


@cache
def _grown(names: tuple[str, ...], depth: int) -> st.SearchStrategy[str]:
    leaves = st.sampled_from(names) | st.sampled_from(_CONSTANTS)
    if depth == 0:
        return leaves
    inner = _grown(names, depth - 1)
    unary = st.tuples(st.sampled_from(_UNARY), inner).map(lambda t: t[0].format(t[1]))
    binary = st.tuples(st.sampled_from(_BINARY), inner, inner).map(
        lambda t: t[0].format(t[1], t[2])
    )
    return st.one_of(inner, unary, binary)
