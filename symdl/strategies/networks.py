"""Random layer stacks with consistent shapes, as network descriptions in text.

Each drawn network is ``input(...) | [head] | body | loss``:

* the **head** (optional) is one registered kind at one of its registry examples
  (``conv2d(2, 2, 3)`` on ``2×4×4``, ``rnn(1, 2)`` on ``2×1``, …), followed, when its output
  is not a vector, by a parameter-free kind that makes it one (``flatten``, ``last``);
* the **body** is up to ``max_depth`` vector layers of width at most ``max_width``:
  ``dense(n, m)``, every parameter-free kind that keeps a vector's shape (the elementwise
  activations, ``dropout(p)`` at its example ``p``), every kind built as ``kind(n)`` that
  keeps it (``layer_norm(n)``, ``batch_norm(n)``), and residual blocks of those;
* a **loss** that takes a vector.

Which kinds qualify is found by building them and asking their shapes, so kinds added to
the registry later join the draw without changes here. ``kinds`` restricts the draw to the
named kinds (plus ``input`` and ``residual``, which are syntax).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from symdl.derive.layers import LAYERS, Block, LayerKind
from symdl.errors import SymdlError
from symdl.strategies._validate import _check_int, _check_type

__all__ = ["networks"]

_FAILS = (TypeError, ValueError, KeyError, SymdlError)


def networks(
    *,
    max_depth: int = 4,
    max_width: int = 5,
    kinds: Iterable[str] | None = None,
    heads: bool = True,
    residual: bool = True,
) -> st.SearchStrategy[str]:
    """Network descriptions (text for :func:`symdl.derive.network_text.parse_network`)
    whose shapes chain and that end with a loss (module doc).

    ``max_depth`` bounds the body's layers (a residual block counts its own), ``max_width``
    the body's vector sizes; ``heads=False`` keeps to vector networks; ``residual=False``
    leaves out residual blocks.
    """
    _check_int(max_depth, "max_depth", 0, 64)
    _check_int(max_width, "max_width", 1, 64)
    _check_type(bool, heads, "heads")
    _check_type(bool, residual, "residual")
    if kinds is None:
        allowed = tuple(LAYERS.names())
    else:
        if isinstance(kinds, str):
            raise InvalidArgument(f"kinds={kinds!r} must be an iterable of names, not a string")
        allowed = tuple(kinds)
        unknown = [k for k in allowed if k not in LAYERS]
        if unknown:
            raise InvalidArgument(f"kinds: {LAYERS.unknown_message(str(unknown[0]))}")
        allowed = tuple(LAYERS.get(k).name for k in allowed)
    losses = _losses(allowed)
    if not losses:
        raise InvalidArgument(f"kinds={list(allowed)!r} has no loss that takes a vector")
    head_list = _heads(allowed) if heads else ()
    return _networks(max_depth, max_width, allowed, losses, head_list, residual)


@st.composite
def _networks(
    draw: Any,
    max_depth: int,
    max_width: int,
    allowed: tuple[str, ...],
    losses: tuple[str, ...],
    head_list: tuple[tuple[str, int], ...],
    residual: bool,
) -> str:
    parts: list[str] = []
    if head_list and draw(st.booleans()):
        text, width = draw(st.sampled_from(head_list))
        parts.append(text)
    else:
        width = draw(st.integers(1, max_width))
        parts.append(f"input({width})")
    budget = draw(st.integers(0, max_depth))
    while budget > 0:
        item, width, used = _item(draw, width, max_width, allowed, residual and budget >= 2)
        parts.append(item)
        budget -= used
    parts.append(draw(st.sampled_from(losses)))
    return " | ".join(parts)


def _item(
    draw: Any, width: int, max_width: int, allowed: tuple[str, ...], residual: bool
) -> tuple[str, int, int]:
    """One body item at vector ``width``: (text, new width, layers used)."""
    keep = _keepers(width, allowed)
    choices = ["dense"] * ("dense" in allowed) + ["keep"] * bool(keep)
    if residual and ("dense" in allowed or keep):
        choices.append("residual")
    if not choices:
        return "", width, 10**9  # nothing fits: the body ends here
    choice = draw(st.sampled_from(choices))
    if choice == "dense":
        out = draw(st.integers(1, max_width))
        return f"dense({width}, {out})", out, 1
    if choice == "keep":
        return draw(st.sampled_from(keep)), width, 1
    inner = []
    for _ in range(draw(st.integers(1, 2))):
        if "dense" in allowed and (not keep or draw(st.booleans())):
            inner.append(f"dense({width}, {width})")
        else:
            inner.append(draw(st.sampled_from(keep)))
    return f"residual({' | '.join(inner)})", width, 1 + len(inner)


@cache
def _keepers(width: int, allowed: tuple[str, ...]) -> tuple[str, ...]:
    """Texts of layers that map a vector of ``width`` to one of the same width."""
    out = []
    for name in allowed:
        kind = LAYERS.get(name)
        if name == "dense" or _is_loss(kind):
            continue
        for text, args, kwargs in _configurations(kind, width):
            block = _build(kind, args, kwargs)
            if block is not None and _out(block, (width,)) == (width,):
                out.append(text)
                break
    return tuple(out)


def _configurations(
    kind: LayerKind, width: int
) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    configs: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = (
        [(kind.name, (), {})] if "(" not in kind.signature else []
    )
    configs += [(_call(kind.name, a, k), a, dict(k)) for a, k, _ in kind.examples if a or k]
    configs.append((_call(kind.name, (width,), {}), (width,), {}))
    return configs


@cache
def _losses(allowed: tuple[str, ...]) -> tuple[str, ...]:
    out = []
    for name in allowed:
        kind = LAYERS.get(name)
        if _is_loss(kind) and "(" not in kind.signature:
            block = _build(kind, (), {})
            if block is not None and _out(block, (3,)) == ():
                out.append(name)
    return tuple(out)


@cache
def _heads(allowed: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    """``input(shape) | kind(example) [| to-vector]`` texts and the vector width after them."""
    vectorisers = [
        n for n in allowed if "(" not in LAYERS.get(n).signature and not _is_loss(LAYERS.get(n))
    ]
    out = []
    for name in allowed:
        kind = LAYERS.get(name)
        if name == "dense" or "(" not in kind.signature:
            continue
        for args, kwargs, shape in kind.examples:
            block = _build(kind, args, dict(kwargs))
            after = _out(block, tuple(shape)) if block is not None else None
            if after is None:
                continue
            head = f"input({', '.join(map(str, shape))}) | {_call(name, args, kwargs)}"
            if len(after) == 1:
                out.append((head, after[0]))
                continue
            for v in vectorisers:
                flat = _build(LAYERS.get(v), (), {})
                final = _out(flat, after) if flat is not None else None
                if final is not None and len(final) == 1:
                    out.append((f"{head} | {v}", final[0]))
                    break
    return tuple(out)


def _is_loss(kind: LayerKind) -> bool:
    try:
        return bool(kind.build().is_loss) if "(" not in kind.signature else False
    except _FAILS:
        return False


def _build(kind: LayerKind, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Block | None:
    try:
        return kind.build(*args, **kwargs)
    except _FAILS:
        return None


def _out(block: Block, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    try:
        return tuple(block.output_shape(shape))
    except _FAILS:
        return None


def _call(name: str, args: tuple[Any, ...], kwargs: Any) -> str:
    inner = [_arg(a) for a in args] + [f"{k}={_arg(v)}" for k, v in dict(kwargs).items()]
    return f"{name}({', '.join(inner)})" if inner else name


def _arg(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_arg(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return repr(value)
