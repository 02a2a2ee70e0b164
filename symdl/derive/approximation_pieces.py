r"""The linear pieces of a scalar ReLU network, found exactly with rational arithmetic.

A ReLU network of one input is continuous and piecewise linear. On an interval where no
hidden unit changes sign it is affine, and that can be decided from the endpoints alone:
if every unit of the layers before layer :math:`\ell` keeps its sign on :math:`[p, q]`,
the pre-activations of layer :math:`\ell` are affine in :math:`x` there, so each keeps its
sign on :math:`[p, q]` exactly when its values at :math:`p` and :math:`q` do not have
strictly opposite signs. When one does, the interval is split at the zero of that affine
function, :math:`r = p + (q - p)\,z(p)/(z(p) - z(q))` — a rational number when the
weights and :math:`p, q` are rational. Repeating this until no unit changes sign lists the
affine pieces exactly (the argument behind region counting in Montúfar et al. 2014,
"On the Number of Linear Regions of Deep Neural Networks", §2).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symdl.derive.approximation_network import Network

__all__ = ["Piece", "affine_pieces", "square_error_range"]


@dataclass(frozen=True)
class Piece:
    """The network equals ``slope·x + intercept`` on ``[start, end]`` (exact rationals)."""

    start: sp.Rational
    end: sp.Rational
    slope: sp.Rational
    intercept: sp.Rational


def _preactivations(net: Network, x: sp.Rational) -> list[list[sp.Rational]]:
    """The pre-activation of every unit at ``x``, layer by layer (the last is the output)."""
    z: list[sp.Rational] = [x]
    out = []
    for layer in net.layers:
        pre = [
            sum((w * v for w, v in zip(row, z)), sp.S.Zero) + b
            for row, b in zip(layer.weights, layer.biases)
        ]
        out.append(pre)
        z = [v if v > 0 else sp.S.Zero for v in pre] if layer.activation == "relu" else pre
    return out


def _crossing(
    net: Network, left: list[list[sp.Rational]], right: list[list[sp.Rational]]
) -> int | None:
    """The first ReLU layer with a unit whose sign strictly changes between the two ends."""
    for i, (layer, zl, zr) in enumerate(zip(net.layers, left, right)):
        if layer.activation == "relu" and any(u * v < 0 for u, v in zip(zl, zr)):
            return i
    return None


def _output(net: Network, pre: list[list[sp.Rational]]) -> sp.Rational:
    value = pre[-1][0]
    return max(value, sp.S.Zero) if net.layers[-1].activation == "relu" else value


def affine_pieces(net: Network, a: object, b: object, *, merge: bool = True) -> tuple[Piece, ...]:
    """The affine pieces of the ReLU network ``net`` on ``[a, b]``, exactly.

    With ``merge`` (the default) neighbouring pieces with the same slope are joined, so the
    result is the list of *maximal* linear pieces.

    >>> from symdl.derive.approximation_deep import sawtooth_network
    >>> len(affine_pieces(sawtooth_network(3), 0, 1))
    8
    """
    if len(net.inputs) != 1 or any(ly.activation not in ("relu", "identity") for ly in net.layers):
        raise ValueError("affine_pieces needs a one-input network of ReLU and identity layers")
    if any(not isinstance(w, sp.Rational) for ly in net.layers for row in ly.weights for w in row):
        raise ValueError("affine_pieces needs rational weights")
    lo, hi = sp.Rational(sp.nsimplify(a)), sp.Rational(sp.nsimplify(b))
    if not lo < hi:
        raise ValueError(f"an interval needs a < b, got [{lo}, {hi}]")
    memo: dict[sp.Rational, list[list[sp.Rational]]] = {}

    def at(x: sp.Rational) -> list[list[sp.Rational]]:
        if x not in memo:
            memo[x] = _preactivations(net, x)
        return memo[x]

    pieces: list[Piece] = []
    stack = [(lo, hi)]
    while stack:
        p, q = stack.pop()
        left, right = at(p), at(q)
        layer = _crossing(net, left, right)
        if layer is None:
            fp, fq = _output(net, left), _output(net, right)
            slope = (fq - fp) / (q - p)
            pieces.append(Piece(p, q, slope, fp - slope * p))
            continue
        zl, zr = left[layer], right[layer]
        u, v = next((u, v) for u, v in zip(zl, zr) if u * v < 0)
        r = p + (q - p) * u / (u - v)
        stack += [(r, q), (p, r)]  # left half popped first: pieces come out in order
    if merge:
        pieces = _merged(pieces)
    return tuple(pieces)


def _merged(pieces: list[Piece]) -> list[Piece]:
    out = [pieces[0]]
    for piece in pieces[1:]:
        last = out[-1]
        if piece.slope == last.slope and piece.intercept == last.intercept:
            out[-1] = Piece(last.start, piece.end, last.slope, last.intercept)
        else:
            out.append(piece)
    return out


def square_error_range(pieces: tuple[Piece, ...]) -> tuple[sp.Rational, sp.Rational]:
    r"""The least and greatest value of :math:`\ell(x) - x^2` over the pieces, exactly.

    On a piece :math:`e(x) = sx + c - x^2` is a concave quadratic: its minimum is at an end
    of the piece, its maximum at an end or at the vertex :math:`x = s/2` when that is inside.
    """
    low, high = None, None
    for piece in pieces:
        ends = [piece.slope * x + piece.intercept - x**2 for x in (piece.start, piece.end)]
        vertex = piece.slope / 2
        inside = (
            [piece.slope * vertex + piece.intercept - vertex**2]
            if piece.start < vertex < piece.end
            else []
        )
        low = min(ends) if low is None else min(low, *ends)
        high = max(ends + inside) if high is None else max(high, *ends, *inside)
    assert low is not None and high is not None
    return low, high
