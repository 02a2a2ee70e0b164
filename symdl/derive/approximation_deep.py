r"""Deep ReLU constructions: Telgarsky's sawtooth, Yarotsky's square and product.

The hat function :math:`g(y) = 2\,\mathrm{relu}(y) - 4\,\mathrm{relu}(y - \tfrac12) +
2\,\mathrm{relu}(y - 1)` maps :math:`[0, 1]` onto itself. Its k-fold composition
:math:`g_k` is a sawtooth with :math:`2^{k-1}` teeth, that is :math:`2^k` linear pieces,
computed by a ReLU network of depth k and width 3 (Telgarsky 2016, "Benefits of depth in
neural networks", §2). Yarotsky (2017, "Error bounds for approximations with deep ReLU
networks", Prop. 2) writes

.. math:: f_m(x) = x - \sum_{s=1}^{m} \frac{g_s(x)}{2^{2s}},

the piecewise-linear interpolant of :math:`x^2` at :math:`k/2^m`, with
:math:`\|f_m - x^2\|_{\infty,[0,1]} = 2^{-2m-2}`, and by polarisation
:math:`xy = 2\big(\tfrac{x+y}{2}\big)^2 - \tfrac{x^2}{2} - \tfrac{y^2}{2}` (Prop. 3).
Here the piece counts and the error are *computed*: the networks' linear pieces are listed
exactly (:func:`~symdl.derive.approximation_pieces.affine_pieces`) and the error on each
piece, a concave quadratic, is maximised in rational arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from symdl.derive.approximation_certificate import Approximation, sup_error
from symdl.derive.approximation_network import Layer, Network
from symdl.derive.approximation_pieces import Piece, affine_pieces, square_error_range
from symdl.verify.report import Evidence, Report

__all__ = [
    "PieceCount",
    "sawtooth_network",
    "square_network",
    "telgarsky_sawtooth",
    "yarotsky_product",
    "yarotsky_square",
]

ONE, ZERO, HALF = sp.S.One, sp.S.Zero, sp.S.Half
#: The hat g as a combination of relu(y), relu(y − ½), relu(y − 1).
HAT = (sp.Integer(2), sp.Integer(-4), sp.Integer(2))
HAT_BIASES = (ZERO, -HALF, -ONE)


def _check_depth(name: str, value: int, top: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= top:
        raise ValueError(f"{name} must be an integer in [1, {top}], got {value!r}")


def sawtooth_network(k: int) -> Network:
    """The ReLU network of :math:`g_k = g \\circ \\dots \\circ g` (k hidden layers, width 3)."""
    _check_depth("k", k, 30)
    layers = [Layer(((ONE,),) * 3, HAT_BIASES)]
    layers += [Layer((HAT,) * 3, HAT_BIASES) for _ in range(k - 1)]
    layers.append(Layer((HAT,), (ZERO,), "identity"))
    return Network(tuple(layers))


@dataclass(frozen=True)
class PieceCount:
    """The maximal linear pieces of a network on ``[0, 1]``, counted exactly."""

    k: int
    pieces: tuple[Piece, ...]
    expected: int
    network: Network
    evidence: Evidence

    @property
    def count(self) -> int:
        return len(self.pieces)

    @property
    def verdict(self) -> str:
        return "proved" if self.count == self.expected else "refuted"

    def report(self) -> Report:
        claim = f"g_{self.k} has exactly {self.expected} linear pieces on [0, 1]"
        return Report(self.verdict, claim, "exact pieces", evidence=(self.evidence,))  # type: ignore[arg-type]


def telgarsky_sawtooth(k: int) -> PieceCount:
    """:math:`g_k` on ``[0, 1]`` has exactly :math:`2^k` maximal linear pieces (proved).

    >>> telgarsky_sawtooth(4).count
    16
    """
    net = sawtooth_network(k)
    pieces = affine_pieces(net, 0, 1)
    slopes = sorted({abs(p.slope) for p in pieces})
    evidence = Evidence(
        "exact pieces",
        "proved" if len(pieces) == 2**k else "refuted",
        f"rational arithmetic lists {len(pieces)} maximal linear pieces of g_{k} on [0, 1] "
        f"(claimed 2^{k} = {2**k}); slopes ±{', '.join(str(s) for s in slopes)}",
        points=len(pieces) + 1,
    )
    return PieceCount(k, pieces, 2**k, net, evidence)


def _square_layers(m: int, row: tuple[sp.Expr, ...]) -> list[Layer]:
    """Hidden layers of :math:`f_m` whose first layer reads its input through ``row``.

    Units per layer: relu(g), relu(g − ½), relu(g − 1) and relu(f_s); since g_s ∈ [0, 1] and
    f_s ≥ 0 on [0, 1], every ReLU here acts as the identity on the values it carries.
    """
    layers = [Layer((row,) * 4, (*HAT_BIASES, ZERO))]
    for s in range(1, m):
        scale = sp.Rational(1, 4**s)
        carry = (*tuple(-scale * w for w in HAT), ONE)
        layers.append(Layer(((*HAT, ZERO),) * 3 + (carry,), (*HAT_BIASES, ZERO)))
    return layers


def _square_output(m: int) -> tuple[sp.Expr, ...]:
    return (*tuple(-sp.Rational(1, 4**m) * w for w in HAT), ONE)


def square_network(m: int) -> Network:
    """Yarotsky's :math:`f_m` as a ReLU network: m hidden layers of width 4."""
    _check_depth("m", m, 20)
    return Network((*_square_layers(m, (ONE,)), Layer((_square_output(m),), (ZERO,), "identity")))


def yarotsky_square(m: int, *, points: int = 4097, seed: int = 0) -> Approximation:
    r""":math:`f_m \approx x^2` on [0, 1] with :math:`\sup|f_m - x^2| = 2^{-2m-2}`, proved.

    The network's linear pieces are listed exactly and :math:`f_m - x^2` is maximised on
    each; the result must equal Yarotsky's :math:`2^{-2m-2}` exactly.

    >>> yarotsky_square(3).exact_error
    1/256
    """
    net = square_network(m)
    pieces = affine_pieces(net, 0, 1)
    low, high = square_error_range(pieces)
    claimed = sp.Rational(1, 2 ** (2 * m + 2))
    exact = max(abs(low), abs(high))
    status = "proved" if exact == claimed else "estimated"
    evidence = Evidence(
        "exact pieces",
        "proved" if exact == claimed else "refuted",
        f"rational arithmetic lists {len(pieces)} linear pieces of f_{m} on [0, 1]; on each, "
        f"f_{m}(x) − x² is concave and is maximised at an end or at its vertex: it ranges "
        f"over [{low}, {high}], so sup|f_{m} − x²| = {exact} (Yarotsky: 2^(−{2 * m + 2}) = "
        f"{claimed})",
        points=len(pieces) + 1,
    )
    bound = float(exact)  # a power of two: exact in float64
    x = sp.Symbol("x", real=True)
    observed, precise, grid, high_ev = sup_error(
        x**2, net, [(ZERO, ONE)], bound=bound, points=points, seed=seed
    )
    return Approximation(
        target="x**2",
        construction=f"Yarotsky f_{m}(x) = x − Σ_(s=1..{m}) g_s(x)/4^s (deep ReLU, width 4)",
        domain=((ZERO, ONE),),
        network=net,
        bound=bound,
        status=status,  # type: ignore[arg-type]
        evidence=(evidence, grid, high_ev),
        observed=observed,
        observed_precise=precise,
        parameters={"m": m, "pieces": len(pieces), "error range": f"[{low}, {high}]"},
        exact_error=exact,
    )


def yarotsky_product(m: int, *, points: int = 129, seed: int = 0) -> Approximation:
    r""":math:`xy` on :math:`[0, 1]^2` as :math:`2f_m(\tfrac{x+y}{2}) - \tfrac12(f_m(x) + f_m(y))`.

    With :math:`e = f_m - (\cdot)^2 \in [0, \delta]`, :math:`\delta = 2^{-2m-2}` (proved by
    :func:`yarotsky_square`), the error :math:`2e(\tfrac{x+y}{2}) - \tfrac12 e(x) -
    \tfrac12 e(y)` lies in :math:`[-\delta, 2\delta]`, so the bound :math:`2\delta` is
    proved. Three copies of the width-4 network side by side: width 12, depth m.

    >>> yarotsky_product(2).bound
    0.03125
    """
    square = yarotsky_square(m, points=257, seed=seed)
    delta = square.exact_error
    assert delta is not None
    low_high = square.parameters["error range"]
    rows = ((HALF, HALF), (ONE, ZERO), (ZERO, ONE))
    copies = [_square_layers(m, row) for row in rows]
    layers = []
    for depth in range(m):
        parts = [c[depth] for c in copies]
        width_in = 2 if depth == 0 else 4
        weights, biases = [], []
        for j, part in enumerate(parts):
            for r, b in zip(part.weights, part.biases):
                if depth == 0:
                    weights.append(tuple(r))
                else:  # block diagonal: copy j reads only its own four units
                    pad = (ZERO,) * width_in
                    weights.append(pad * j + tuple(r) + pad * (len(parts) - 1 - j))
                biases.append(b)
        layers.append(Layer(tuple(weights), tuple(biases)))
    out = _square_output(m)
    coefficients = (sp.Integer(2), -HALF, -HALF)
    layers.append(Layer((tuple(c * w for c in coefficients for w in out),), (ZERO,), "identity"))
    net = Network(tuple(layers), ("x", "y"))
    bound_exact = 2 * delta
    evidence = Evidence(
        "exact pieces + polarisation",
        "proved" if square.status == "proved" else "estimated",
        f"f_{m}(u) − u² ∈ {low_high} on [0, 1] (exact, {square.parameters['pieces']} pieces); "
        f"(x+y)/2, x, y ∈ [0, 1]; so P − xy = 2e((x+y)/2) − e(x)/2 − e(y)/2 ∈ "
        f"[−{delta}, {2 * delta}] and |P − xy| ≤ {bound_exact}",
    )
    x, y = sp.Symbol("x", real=True), sp.Symbol("y", real=True)
    bound = float(bound_exact)
    observed, precise, grid, high_ev = sup_error(
        x * y, net, [(ZERO, ONE), (ZERO, ONE)], bound=bound, points=points, seed=seed
    )
    return Approximation(
        target="x*y",
        construction=f"Yarotsky product 2f_{m}((x+y)/2) − f_{m}(x)/2 − f_{m}(y)/2 (deep ReLU)",
        domain=((ZERO, ONE), (ZERO, ONE)),
        network=net,
        bound=bound,
        status=square.status,
        evidence=(evidence, grid, high_ev),
        observed=observed,
        observed_precise=precise,
        parameters={"m": m},
    )
