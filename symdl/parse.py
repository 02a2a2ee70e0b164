"""NumPy-notation text → SymPy, through a whitelist of Python syntax.

The text is read by :mod:`ast` and only these nodes are accepted: numbers, names,
``+ - * / ** @``, unary ``-``/``+``, ``.T``, and calls of the functions in
:data:`symdl.ops.FUNCTIONS` (optionally written ``np.exp``); the one keyword argument is
``axis=`` with an integer literal, for ``sum``, ``mean``, ``softmax``, ``log_softmax`` and
``logsumexp``. Nothing is ever evaluated as
Python: every node is translated by hand, and anything else is a :class:`ParseError` that
shows the text with a caret under the offending column.
"""

from __future__ import annotations

import ast
import math
import re
import warnings
from collections.abc import Mapping
from fractions import Fraction

import sympy as sp

from symdl import ops
from symdl.errors import ParseError, ShapeError, UnknownNameError, with_caret
from symdl.shapes import Scope, Shape

__all__ = ["LIMITS", "as_expression", "parse"]

#: Size limits on input text, so a hostile input is refused before any work is done.
LIMITS = {
    "length": 4000,  # characters
    "depth": 60,  # nesting of operations and calls
    "nodes": 2000,  # syntax nodes
    "digits": 60,  # digits of an integer literal
    "exponent": 1000,  # |k| for a literal power x**k
    "result_digits": 4000,  # digits of a constant computed from literals (2**1000 has 302)
}

_BINOPS = {
    ast.Add: ops.add,
    ast.Sub: ops.sub,
    ast.Mult: ops.mul,
    ast.Div: ops.truediv,
    ast.Pow: ops.power,
    ast.MatMult: ops.matmul,
}
_CONSTANTS = {"pi": sp.pi}
_MODULE_PREFIXES = {"np", "numpy"}
_DESCRIBE = {
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.JoinedStr: "an f-string",
    ast.NamedExpr: "an assignment expression (:=)",
    ast.Subscript: "indexing",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.IfExp: "a conditional expression",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.Starred: "unpacking (*)",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


def parse(
    text: str,
    shapes: Mapping[str, str | Shape] | None = None,
    assume: Mapping[str, str] | None = None,
    *,
    scope: Scope | None = None,
) -> sp.Basic:
    """Parse NumPy-notation ``text`` into a SymPy scalar or matrix expression.

    >>> parse("sum((W @ x - y)**2)", {"W": "3x3", "x": "3", "y": "3"})
    sum(HadamardPower(W*x - y, 2))
    >>> parse("__import__(os)")
    Traceback (most recent call last):
    ...
    symdl.errors.ParseError: unknown function named '__import__'
      __import__(os)
      ^
    """
    if scope is None:
        scope = Scope.build(shapes, assume)
    return _Reader(text, scope).read()


def as_expression(obj: object, scope: Scope) -> sp.Basic:
    """Input-language text or a SymPy object, as a SymPy expression."""
    if isinstance(obj, str):
        return parse(obj, scope=scope)
    if isinstance(obj, bool):
        raise TypeError("expected an expression, got a bool")
    if isinstance(obj, int):
        return sp.Integer(obj)
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ValueError(f"expected a finite number, got {obj}")
        return sp.Rational(*Fraction(obj).as_integer_ratio())
    if isinstance(obj, sp.MatrixBase):
        return sp.ImmutableMatrix(obj)
    if isinstance(obj, sp.Basic):
        return obj
    raise TypeError(f"expected text or a SymPy expression, got {type(obj).__name__}")


class _Reader:
    def __init__(self, text: str, scope: Scope) -> None:
        self.text = text
        self.scope = scope
        self.nodes = 0

    def fail(self, message: str, node: ast.AST | int | None = None) -> ParseError:
        col = node if isinstance(node, int) else getattr(node, "col_offset", None)
        return ParseError(message, self.text, col)

    def read(self) -> sp.Basic:
        if not isinstance(self.text, str):
            raise ParseError(f"expected text, got {type(self.text).__name__}")
        self._screen()
        try:
            with warnings.catch_warnings():  # '1or x' warns before it fails; say it once
                warnings.simplefilter("ignore")
                tree = ast.parse(self.source, mode="eval")
        except SyntaxError as err:
            col = (err.offset or len(self.source) + 1) - 1 if err.lineno in (None, 1) else 0
            if err.offset == 0:  # CPython reports an unexpected end of input at offset 0
                col = len(self.source)
            reason = "incomplete expression" if col >= len(self.source) else err.msg
            raise self.fail(f"not a valid expression ({reason})", col + self.offset) from None
        except (RecursionError, MemoryError, ValueError):
            raise self.fail("the expression is too deeply nested or too large", 0) from None
        result = self.visit(tree.body, depth=0)
        if result.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise self.fail("the expression divides by zero or is not finite", 0)
        return result

    def _screen(self) -> None:
        text = self.text
        if len(text) > LIMITS["length"]:
            raise ParseError(
                f"the expression has {len(text)} characters; the limit is {LIMITS['length']}"
            )
        # A pasted U+2212 minus sign means '-'; any other non-ASCII character is refused,
        # since Python would fold look-alikes such as 'ｅｘｐ' into 'exp'.
        text = text.replace("\u2212", "-")
        for col, ch in enumerate(text):
            if (ord(ch) < 32 and ch != "\t") or ord(ch) == 127:
                raise self.fail(f"control character {ch!r} is not allowed", col)
            if ord(ch) > 127:
                raise self.fail(f"character {ch!r} (U+{ord(ch):04X}) is not allowed", col)
            if ch == "=" and _is_axis_keyword(text, col):
                continue
            if ch in "\n\r\\;#'\"`$!?{}[]:,<>=|&~^" and ch != ",":
                hint = _KEYWORD_HINT if ch == "=" else ""
                raise self.fail(f"character {ch!r} is not part of the input language{hint}", col)
        depth = 0
        for col, ch in enumerate(text):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth > LIMITS["depth"]:
                raise self.fail(f"parentheses nested deeper than {LIMITS['depth']}", col)
        if not text.strip():
            raise ParseError("the expression is empty")
        self.source = text.strip()
        self.offset = len(text) - len(text.lstrip())

    def visit(self, node: ast.AST, depth: int) -> sp.Basic:
        self.nodes += 1
        if self.nodes > LIMITS["nodes"]:
            raise self.fail(f"the expression has more than {LIMITS['nodes']} parts", node)
        if depth > LIMITS["depth"]:
            raise self.fail(f"the expression is nested deeper than {LIMITS['depth']}", node)
        if hasattr(node, "col_offset"):
            node.col_offset += self.offset  # columns refer to the text as the user wrote it
        try:
            return self._visit(node, depth + 1)
        except ShapeError as err:
            if getattr(err, "located", False):
                raise
            located = ShapeError(with_caret(str(err), self.text, getattr(node, "col_offset", None)))
            located.located = True  # type: ignore[attr-defined]
            raise located from None

    def _visit(self, node: ast.AST, depth: int) -> sp.Basic:
        if isinstance(node, ast.Constant):
            return self._number(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return ops.neg(self.visit(node.operand, depth))
            if isinstance(node.op, ast.UAdd):
                return self.visit(node.operand, depth)
            raise self.fail(f"operator {type(node.op).__name__} is not allowed", node)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.fail(f"operator {type(node.op).__name__} is not allowed", node)
            left = self.visit(node.left, depth)
            right = self.visit(node.right, depth)
            if op is ops.power:
                self._check_power(left, right, node)
            return self._finite(op(left, right), node)
        if isinstance(node, ast.Attribute):
            if node.attr == "T":
                return ops.transpose(self.visit(node.value, depth))
            raise self.fail(f"attribute '.{node.attr}' is not allowed (only .T)", node)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        what = _DESCRIBE.get(type(node), type(node).__name__)
        raise self.fail(f"{what} is not allowed in symdl expressions", node)

    def _number(self, node: ast.Constant) -> sp.Basic:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"literal {value!r} is not a number", node)
        if isinstance(value, int):
            if value.bit_length() > 4 * LIMITS["digits"] or len(str(abs(value))) > LIMITS["digits"]:
                raise self.fail(f"integer literal longer than {LIMITS['digits']} digits", node)
            return sp.Integer(value)
        if not math.isfinite(value) or (value != 0 and not 1e-300 < abs(value) < 1e300):
            raise self.fail("number literal out of range", node)
        # The decimal as written, exactly: 0.044715 is 44715/10**6, not its binary neighbour.
        segment = ast.get_source_segment(self.source, _unshifted(node, self.offset))
        exponent = re.search(r"[eE]([+-]?\d+)", segment or "")
        if exponent and abs(int(exponent.group(1))) > 400:  # 1e-9999999 is 0.0 as a float
            raise self.fail("number literal out of range", node)
        exact = Fraction(segment) if segment else Fraction(value)
        return sp.Rational(exact.numerator, exact.denominator)

    def _name(self, node: ast.Name) -> sp.Basic:
        name = node.id
        if name.startswith("_"):
            raise self.fail(f"names starting with '_' are not allowed ({name!r})", node)
        if name in ops.FUNCTIONS:
            raise self.fail(f"{name!r} is a function; call it as {name}(...)", node)
        if name in _CONSTANTS and name not in self.scope.shapes:
            return _CONSTANTS[name]
        return self.scope.symbol(name)

    def _call(self, node: ast.Call, depth: int) -> sp.Basic:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in _MODULE_PREFIXES
        ):
            name = func.attr
        elif isinstance(func, ast.Name):
            name = func.id
        else:
            raise self.fail("only calls of named functions such as exp(x) are allowed", node)
        try:
            entry = ops.FUNCTIONS.get(name)
        except UnknownNameError as err:
            raise self.fail(f"unknown {str(err)[3:]}", node) from None
        axis = self._axis(name, entry, node.keywords)
        starred = next((a for a in node.args if isinstance(a, ast.Starred)), None)
        if starred is not None:
            raise self.fail("unpacking (*) is not allowed in symdl expressions", starred)
        if not entry.arity <= len(node.args) <= entry.arity + entry.optional:
            plural = "s" if entry.arity + entry.optional != 1 else ""
            takes = (
                f"{entry.arity} or {entry.arity + entry.optional}"
                if entry.optional
                else f"{entry.arity}"
            )
            raise self.fail(f"{name}() takes {takes} argument{plural}, got {len(node.args)}", node)
        args = [self.visit(a, depth) for a in node.args]
        for extra, a in zip(node.args[entry.arity :], args[entry.arity :]):
            if not (isinstance(a, sp.Expr) and a.is_number and a.is_extended_real):
                raise self.fail(f"{name}(): the optional argument must be a real number", extra)
        if axis is None:
            return self._finite(entry.build(*args), node)
        value, keyword = axis
        if not ops.is_array(args[0]):
            raise self.fail(
                f"{name}(): axis={value} needs an array, but the argument is a scalar", keyword
            )
        if value not in (0, 1, -1, -2):
            raise self.fail(
                f"{name}(): axis {value} is out of range for a 2-D array (use 0, 1, -1 or -2)",
                keyword,
            )
        assert entry.along is not None
        return self._finite(entry.along(args[0], value), node)

    def _axis(
        self, name: str, entry: ops.InputFunction, keywords: list[ast.keyword]
    ) -> tuple[int, int] | None:
        """The literal of ``axis=`` (the only keyword of the input language), or None."""
        if not keywords:
            return None
        first = keywords[0]
        # keywords are not visited, so their columns still refer to the stripped text
        at = first.col_offset + self.offset
        if first.arg is None:
            raise self.fail("unpacking (**) is not allowed in symdl expressions", at)
        if first.arg != "axis":  # the screen lets '=' through only after 'axis'
            raise self.fail(f"{name}() takes no keyword argument {first.arg!r}", at)
        if entry.along is None:
            raise self.fail(
                f"{name}() takes no axis= argument (only {', '.join(_AXIS_FUNCTIONS)} do)", at
            )
        if len(keywords) > 1:
            raise self.fail(
                f"{name}() takes one keyword argument, axis=", keywords[1].col_offset + self.offset
            )
        value = _integer_literal(first.value)
        if value is None:
            raise self.fail(
                f"{name}(): axis must be an integer literal (0, 1, -1 or -2)",
                first.value.col_offset + self.offset,
            )
        return value, at

    def _finite(self, value: sp.Basic, node: ast.AST) -> sp.Basic:
        if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            raise self.fail("this divides by zero or is not finite", node)
        if value.has(sp.I):
            raise self.fail("this is not a real number (log or sqrt of a negative constant)", node)
        return value

    def _check_power(self, base: sp.Basic, exponent: sp.Basic, node: ast.BinOp) -> None:
        if isinstance(exponent, sp.Number) and abs(exponent) > LIMITS["exponent"]:
            raise self.fail(
                f"exponent {exponent} is larger than {LIMITS['exponent']} in magnitude", node
            )
        if isinstance(base, sp.Number) and isinstance(exponent, sp.Number) and base != 0:
            digits = float(abs(exponent)) * abs(math.log10(abs(float(base)) or 1e-300))
            if digits > LIMITS["result_digits"]:
                raise self.fail("the constant is too large to compute exactly", node)


_AXIS_FUNCTIONS = ("sum", "mean", "softmax", "log_softmax", "logsumexp")
_KEYWORD_HINT = " (the only keyword argument is axis=, as in sum(A, axis=1))"


def _is_axis_keyword(text: str, col: int) -> bool:
    """The ``=`` at ``col`` is the one of an ``axis=`` keyword argument (not ``==``)."""
    before = text[:col].rstrip()
    after = text[col + 1 : col + 2]
    word = re.search(r"[A-Za-z0-9_]+$", before)
    return after != "=" and word is not None and word.group(0) == "axis"


def _integer_literal(node: ast.AST) -> int | None:
    """The value of ``1`` or ``-1`` written as a literal (never a name or an expression)."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int and abs(node.value) < 10**6:
        return sign * node.value
    return None


def _unshifted(node: ast.AST, offset: int) -> ast.AST:
    """A copy of ``node``'s position in the stripped source (we shifted it for messages)."""
    copy = ast.Constant(value=None)
    copy.lineno = node.lineno  # type: ignore[attr-defined]
    copy.end_lineno = node.end_lineno  # type: ignore[attr-defined]
    copy.col_offset = node.col_offset - offset  # type: ignore[attr-defined]
    copy.end_col_offset = node.end_col_offset  # type: ignore[attr-defined]
    return copy
