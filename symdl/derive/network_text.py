"""Network descriptions in text: ``"dense(784,128) | relu | dense(128,10) | mse"``.

The grammar, read through Python's :mod:`ast` with a whitelist (never ``eval``)::

    network  := [input(n, ...) |] item (| item)*
    item     := NAME | NAME(arg, ..., key=arg, ...) | residual(item (| item)*)
    arg      := integer | float | True | False | -number | (arg, ...)

``NAME`` is looked up in :data:`symdl.derive.layers.LAYERS` (an unknown name is an
:class:`~symdl.errors.UnknownNameError` suggesting close matches) and the arguments are
passed to its :class:`~symdl.derive.layers.base.LayerKind` ``build``. ``input(1, 28, 28)``
fixes the per-example input shape (otherwise the first layer's ``input_shape()`` does);
``residual(F)`` is the block ``y = x + F(x)``. Every error shows the text with a caret
under the offending part. Hostile input is bounded: length, nesting depth, number of
layers, and the size of every integer.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

from symdl.derive.backprop_network import Layer, Network, Residual
from symdl.derive.layers import LAYERS, Block, LayerKind
from symdl.errors import ParseError, ShapeError, SymdlError, UnknownNameError, with_caret

__all__ = [
    "MAX_INT",
    "MAX_NESTING",
    "MAX_TEXT",
    "layer",
    "layer_kind",
    "parse_network",
]

#: the longest description accepted, in characters
MAX_TEXT = 20_000
#: the deepest nesting of parentheses accepted
MAX_NESTING = 12
#: the largest integer argument accepted (in absolute value)
MAX_INT = 10_000_000
_MAX_BARS = 600
_MAX_TUPLE = 8
_RESERVED = ("input", "residual")


def parse_network(text: str) -> Network:
    """The :class:`~symdl.derive.backprop_network.Network` a description denotes.

    >>> net = parse_network("dense(4, 3) | relu | dense(3, 2) | mse")
    >>> net.input_shape, net.shapes
    ((4,), ((3,), (3,), (2,), ()))
    """
    if not isinstance(text, str):
        raise TypeError(f"a network description is text, not {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ParseError(f"the network description is longer than {MAX_TEXT} characters")
    # one line: a newline becomes a space (same length, so the columns still hold)
    line = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    if not line.strip():
        raise ParseError("the network description is empty")
    _check_nesting(line)
    for match in re.finditer(r"#|\d{12,}", line):
        if match.group() == "#":
            raise ParseError(
                "comments (#) are not part of a network description", line, match.start()
            )
        raise ParseError(f"integers above {MAX_INT:,} are not accepted", line, match.start())
    if line.count("|") > _MAX_BARS:
        raise ParseError(f"a network may have at most {_MAX_BARS} layers")
    try:
        tree = ast.parse(line.strip(), mode="eval")
    except SyntaxError as err:
        col = (err.offset or 1) - 1 + (len(line) - len(line.lstrip()))
        raise ParseError(f"not a network description: {err.msg}", line, col) from None
    except (ValueError, MemoryError, RecursionError) as err:
        raise ParseError(f"not a network description: {err}") from None
    reader = _Reader(line, len(line) - len(line.lstrip()))
    items = reader.chain(tree.body)
    input_shape = None
    if items and items[0] == "input":
        input_shape = reader.input_shape
        items = items[1:]
    if not items:
        raise ParseError("the network has no layers after input(...)", line, reader.input_col)
    return Network.build([i for i in items if not isinstance(i, str)], input_shape, text=line)


def layer(text: str) -> Block:
    """The one configured layer ``text`` describes (``"conv2d(2, 3, 3, stride=2)"``),
    read like a layer of a network description, for :func:`symdl.testing.check_layer`.

    >>> layer("dense(4, 3)").describe()
    'dense(4, 3)'
    """
    if not isinstance(text, str):
        raise TypeError(f"a layer description is text, not {type(text).__name__}")
    line = text.replace("\r", " ").replace("\n", " ").replace("\t", " ")
    if len(line) > MAX_TEXT or not line.strip():
        raise ParseError("a layer description is one layer, e.g. dense(4, 3)")
    _check_nesting(line)
    try:
        tree = ast.parse(line.strip(), mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError) as err:
        raise ParseError(f"not a layer description: {err}") from None
    reader = _Reader(line, len(line) - len(line.lstrip()))
    items = reader.chain(tree.body)
    if len(items) != 1 or not isinstance(items[0], Layer):
        raise ParseError(f"{text!r} is not one layer; write e.g. dense(4, 3)")
    return items[0].block


def layer_kind(name: str) -> LayerKind:
    """The registered kind ``name`` (or an :class:`UnknownNameError` with suggestions)."""
    if name in _RESERVED:
        raise UnknownNameError(f"{name} is not a layer; it is written {name}(...)")
    return LAYERS.get(name)


def _check_nesting(line: str) -> None:
    depth = 0
    for col, ch in enumerate(line):
        if ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise ParseError(f"nested more than {MAX_NESTING} deep", line, col)
        elif ch in ")]}":
            depth = max(0, depth - 1)


class _Reader:
    """Walks the whitelisted syntax tree into layers; anything else is a ParseError."""

    def __init__(self, line: str, shift: int) -> None:
        self.line = line
        self.shift = shift
        self.input_shape: tuple[int, ...] | None = None
        self.input_col: int | None = None
        self._encoded = line.strip().encode("utf-8")

    def col(self, node: ast.AST) -> int:
        offset = getattr(node, "col_offset", 0)
        return self.shift + len(self._encoded[:offset].decode("utf-8", "ignore"))

    def fail(self, message: str, node: ast.AST) -> ParseError:
        return ParseError(message, self.line, self.col(node))

    def written(self, node: ast.AST) -> str:
        start, end = getattr(node, "col_offset", 0), getattr(node, "end_col_offset", None)
        return self._encoded[start:end].decode("utf-8", "replace")

    def chain(self, node: ast.AST) -> list[Layer | Residual | str]:
        parts: list[ast.AST] = []
        while isinstance(node, ast.BinOp):
            if not isinstance(node.op, ast.BitOr):
                raise self.fail("layers are joined with |", node)
            parts.append(node.right)
            node = node.left
        parts.append(node)
        parts.reverse()
        out: list[Layer | Residual | str] = []
        for k, part in enumerate(parts):
            if isinstance(part, ast.Call) and _name(part.func) == "input":
                if k != 0:
                    raise self.fail("input(...) can only come first", part)
                self.input_shape = self.shape_args(part)
                self.input_col = self.col(part)
                out.append("input")
            else:
                out.append(self.item(part))
        return out

    def shape_args(self, node: ast.Call) -> tuple[int, ...]:
        if node.keywords or not node.args:
            raise self.fail("input(...) takes the per-example sizes, e.g. input(1, 28, 28)", node)
        sizes = []
        for arg in node.args:
            value = self.value(arg)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise self.fail("input(...) takes positive integer sizes", arg)
            sizes.append(value)
        return tuple(sizes)

    def item(self, node: ast.AST) -> Layer | Residual:
        if isinstance(node, ast.Name):
            return self.layer(node.id, node, (), {})
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name is None:
                raise self.fail("a layer is a name or a call like dense(784, 128)", node)
            if name == "input":
                raise self.fail("input(...) can only come first", node)
            if name == "residual":
                if len(node.args) != 1 or node.keywords:
                    raise self.fail("residual takes one stack of layers: residual(F)", node)
                branch = self.chain(node.args[0])
                if any(isinstance(b, str) for b in branch):
                    raise self.fail("input(...) cannot be inside a residual block", node)
                return Residual(
                    tuple(b for b in branch if not isinstance(b, str)),
                    self.written(node),
                    self.col(node),
                )
            self.known(name, node)
            args = tuple(self.value(a) for a in node.args)
            kwargs: dict[str, Any] = {}
            for kw in node.keywords:
                if kw.arg is None:
                    raise self.fail("**keyword arguments are not allowed", kw.value)
                kwargs[kw.arg] = self.value(kw.value)
            return self.layer(name, node, args, kwargs)
        raise self.fail("a layer is a name or a call like dense(784, 128)", node)

    def layer(
        self, name: str, node: ast.AST, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Layer:
        col = self.col(node)
        kind = self.known(name, node)
        if "(" not in kind.signature and (args or kwargs):
            raise ParseError(f"{kind.name} takes no arguments", self.line, col)
        block = _build(kind, args, kwargs, self.line, col)
        return Layer(block, tuple(kwargs.items()), self.written(node), col)

    def known(self, name: str, node: ast.AST) -> LayerKind:
        if name in _RESERVED:
            raise self.fail(f"{name} is written {name}(...)", node)
        if name not in LAYERS:
            raise UnknownNameError(
                with_caret(LAYERS.unknown_message(name), self.line, self.col(node))
            )
        return LAYERS.get(name)

    def value(self, node: ast.AST, depth: int = 0) -> Any:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool):
                return v
            if isinstance(v, int):
                if abs(v) > MAX_INT:
                    raise self.fail(f"integers above {MAX_INT:,} are not accepted", node)
                return v
            if isinstance(v, float):
                if not math.isfinite(v):
                    raise self.fail("numbers must be finite", node)
                return v
            raise self.fail("arguments are integers, floats, True/False or tuples", node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = node.operand
            if isinstance(operand, ast.Constant) and type(operand.value) in (int, float):
                v = self.value(operand, depth)
                return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.Tuple) and depth == 0:
            if len(node.elts) > _MAX_TUPLE:
                raise self.fail(f"tuples have at most {_MAX_TUPLE} entries", node)
            return tuple(self.value(e, depth + 1) for e in node.elts)
        raise self.fail("arguments are integers, floats, True/False or tuples", node)


def _name(node: ast.AST) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


def _build(
    kind: LayerKind, args: tuple[Any, ...], kwargs: dict[str, Any], line: str, col: int
) -> Block:
    """``kind.build(*args, **kwargs)``, its complaints shown with a caret."""
    try:
        block = kind.build(*args, **kwargs)
    except TypeError as err:
        raise ParseError(
            f"{kind.name}: {_plain(err)}; it is written {kind.signature}", line, col
        ) from None
    except ShapeError as err:
        raise ShapeError(with_caret(str(err), line, col)) from None
    except (SymdlError, ValueError, KeyError) as err:
        raise ParseError(f"{kind.name}: {_plain(err)}", line, col) from None
    if not isinstance(block, Block):
        raise TypeError(f"the layer kind {kind.name} built {type(block).__name__}, not a Block")
    return block


def _plain(err: Exception) -> str:
    text = str(err.args[0]) if err.args else str(err)
    return re.sub(r"^[\w.<>]+\(\) ", "", text)
