"""The soundness corpus: true and false claims, and what symdl says of each.

Every claim carries its truth, decided by hand from the mathematics, not by symdl. A
false ``proved``/``verified`` (a wrong claim passed) or a false ``refuted`` (a true claim
failed) is a soundness bug; ``undecided`` is allowed but counted.

The false claims are the mistakes people make deriving by hand: a lost or doubled factor,
a sign flip, a transpose, a missing chain-rule factor (``⊙ σ'``, the inner derivative), a
small additive slip, ``W`` where ``Wᵀ`` belongs.

    python benchmarks/soundness.py            # the table for the README
    python benchmarks/soundness.py --list     # every claim with its verdict
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from symdl import check_derivative, check_identity
from symdl.catalog import ACTIVATIONS
from symdl.catalog.entry import X, Y, Z
from symdl.catalog.losses import LOSSES, TARGETS, VECTOR_SHAPES


@dataclass(frozen=True)
class Claim:
    """One claim: ``d f / d wrt == claim`` (or ``f == claim`` when ``wrt`` is None)."""

    label: str
    family: str
    true: bool
    f: Any
    claim: Any
    wrt: Any = None
    shapes: dict[str, str] = field(default_factory=dict)
    assume: dict[str, str] = field(default_factory=dict)

    def check(self, **options: Any) -> str:
        kw = dict(shapes=self.shapes, assume=self.assume, **options)
        if self.wrt is None:
            return check_identity(self.f, self.claim, **kw).verdict
        return check_derivative(self.f, self.wrt, self.claim, **kw).verdict


def activation_claims() -> Iterator[Claim]:
    """Each scalar activation's derivative, through an inner affine map, right and wrong."""
    inner = 3 * X - sp.Rational(1, 2)
    for entry in ACTIVATIONS:
        if entry.vector:
            continue
        f, d = entry.at()
        name = entry.name
        yield Claim(f"{name}: canonical derivative", "activation", True, f, d, X)
        chained = d.subs(X, inner)
        g = f.subs(X, inner)
        yield Claim(f"{name}(3x − 1/2): chain rule", "activation", True, g, 3 * chained, X)
        yield Claim(f"{name}(3x − 1/2): inner factor lost", "activation", False, g, chained, X)
        yield Claim(f"{name}: doubled", "activation", False, f, 2 * d, X)
        yield Claim(f"{name}: sign flipped", "activation", False, f, -d, X)
        yield Claim(f"{name}: off by 1e-3", "activation", False, f, d + sp.Rational(1, 1000), X)


def loss_claims() -> Iterator[Claim]:
    """Each loss's gradient by the prediction, right and wrong."""
    for entry in LOSSES:
        f, g = entry.at()
        if entry.vector:
            shapes, assume = dict(VECTOR_SHAPES), dict(entry.assume)
            f_text, g_text = entry.expr_text, entry.gradient_text
            yield Claim(
                f"{entry.name}: gradient", "loss", True, f_text, g_text, "z", shapes, assume
            )
            yield Claim(
                f"{entry.name}: sign flipped",
                "loss",
                False,
                f_text,
                f"-({g_text})",
                "z",
                shapes,
                assume,
            )
            yield Claim(
                f"{entry.name}: halved",
                "loss",
                False,
                f_text,
                f"({g_text})/2",
                "z",
                shapes,
                assume,
            )
            continue
        for y in _targets(entry.name):
            fy, gy = f.subs(Y, y), g.subs(Y, y)
            at = f"{entry.name} (y = {y})"
            yield Claim(f"{at}: gradient", "loss", True, fy, gy, Z)
            yield Claim(f"{at}: sign flipped", "loss", False, fy, -gy, Z)
            yield Claim(f"{at}: doubled", "loss", False, fy, 2 * gy, Z)


def _targets(name: str) -> list[sp.Expr]:
    allowed = TARGETS[name]
    if isinstance(allowed, sp.FiniteSet):
        return list(allowed)
    if allowed == sp.S.Reals:
        return [sp.Rational(1, 2)]
    return [sp.Rational(1, 4)]


MLP = {"W1": "4x3", "b1": "4", "W2": "2x4", "b2": "2", "x": "3", "y": "2"}
MLP_F = "sum((W2 @ tanh(W1 @ x + b1) + b2 - y)**2)"
MLP_R = "2*(W2 @ tanh(W1 @ x + b1) + b2 - y)"

# (label, f, wrt, true gradient, [wrong variants], shapes, assumptions)
MATRIX: list[tuple[str, str, str, str, list[str], dict[str, str], dict[str, str]]] = [
    (
        "least squares by W",
        "sum((W @ x - y)**2)",
        "W",
        "2*(W @ x - y) @ x.T",
        ["2*x @ (W @ x - y).T", "(W @ x - y) @ x.T", "-2*(W @ x - y) @ x.T"],
        {"W": "3x3", "x": "3", "y": "3"},
        {},
    ),
    (
        "least squares by W, symbolic dims",
        "sum((W @ x - y)**2)",
        "W",
        "2*(W @ x - y) @ x.T",
        ["(W @ x - y) @ x.T"],
        {"W": "n x m", "x": "m x 1", "y": "n x 1"},
        {},
    ),
    (
        "least squares by x",
        "sum((W @ x - y)**2)",
        "x",
        "2*W.T @ (W @ x - y)",
        ["2*W @ (W @ x - y)", "W.T @ (W @ x - y)"],
        {"W": "3x3", "x": "3", "y": "3"},
        {},
    ),
    (
        "affine layer by b",
        "sum((W @ x + b - y)**2)",
        "b",
        "2*(W @ x + b - y)",
        ["W @ x + b - y", "2*(W @ x - y)"],
        {"W": "3x2", "x": "2", "b": "3", "y": "3"},
        {},
    ),
    (
        "logdet",
        "logdet(X)",
        "X",
        "inv(X).T",
        ["inv(X)", "-inv(X).T", "X.T"],
        {"X": "3x3"},
        {},
    ),
    ("det", "det(X)", "X", "det(X)*inv(X).T", ["det(X)*inv(X)", "inv(X).T"], {"X": "3x3"}, {}),
    (
        "trace of a product",
        "tr(A @ X @ B)",
        "X",
        "A.T @ B.T",
        ["A @ B", "B.T @ A.T", "B @ A"],
        {"A": "3x3", "X": "3x3", "B": "3x3"},
        {},
    ),
    (
        "trace of an inverse",
        "tr(inv(X))",
        "X",
        "-(inv(X) @ inv(X)).T",
        ["-(inv(X) @ inv(X))", "(inv(X) @ inv(X)).T"],
        {"X": "3x3"},
        {},
    ),
    (
        "quadratic form",
        "x.T @ A @ x",
        "x",
        "(A + A.T) @ x",
        ["2*A @ x", "A @ x", "(A - A.T) @ x"],
        {"A": "3x3", "x": "3"},
        {},
    ),
    (
        "quadratic form, symmetric A",
        "x.T @ A @ x",
        "x",
        "2*A @ x",
        ["A @ x", "-2*A @ x"],
        {"A": "3x3", "x": "3"},
        {"A": "symmetric"},
    ),
    (
        "Frobenius norm",
        "norm(W)",
        "W",
        "W / norm(W)",
        ["W", "2*W / norm(W)", "W.T / norm(W)"],
        {"W": "2x3"},
        {},
    ),
    ("squared Frobenius norm", "norm(W)**2", "W", "2*W", ["W", "2*W.T"], {"W": "3x3"}, {}),
    (
        "sigmoid layer",
        "sum(sigmoid(W @ x))",
        "W",
        "(sigmoid(W @ x) * (1 - sigmoid(W @ x))) @ x.T",
        ["sigmoid(W @ x) @ x.T", "x @ (sigmoid(W @ x) * (1 - sigmoid(W @ x))).T"],
        {"W": "3x3", "x": "3"},
        {},
    ),
    (
        "softmax cross-entropy by W",
        "-sum(y * log_softmax(W @ x + b))",
        "W",
        "(softmax(W @ x + b) - y) @ x.T",
        ["(y - softmax(W @ x + b)) @ x.T", "softmax(W @ x + b) @ x.T"],
        {"W": "3x2", "x": "2", "b": "3", "y": "3"},
        {"y": "probability"},
    ),
    (
        "logsumexp",
        "logsumexp(z)",
        "z",
        "softmax(z)",
        ["exp(z)", "log_softmax(z)"],
        {"z": "4"},
        {},
    ),
    (
        "tanh MLP by W2",
        MLP_F,
        "W2",
        f"({MLP_R}) @ tanh(W1 @ x + b1).T",
        [f"({MLP_R}) @ (W1 @ x + b1).T", f"tanh(W1 @ x + b1) @ ({MLP_R}).T"],
        MLP,
        {},
    ),
    (
        "tanh MLP by W1",
        MLP_F,
        "W1",
        f"((W2.T @ ({MLP_R})) * (1 - tanh(W1 @ x + b1)**2)) @ x.T",
        [
            f"(W2.T @ ({MLP_R})) @ x.T",
            f"((W2.T @ ({MLP_R})) * (1 - tanh(W1 @ x + b1))) @ x.T",
            f"((W2.T @ ({MLP_R})) * (1 - tanh(W1 @ x + b1)**2)) @ x.T / 2",
        ],
        MLP,
        {},
    ),
    (
        "tanh MLP by b1",
        MLP_F,
        "b1",
        f"(W2.T @ ({MLP_R})) * (1 - tanh(W1 @ x + b1)**2)",
        [f"W2.T @ ({MLP_R})"],
        MLP,
        {},
    ),
    (
        "relu layer",
        "sum(relu(W @ x) * c)",
        "W",
        "(heaviside(W @ x) * c) @ x.T",
        ["c @ x.T", "(heaviside(W @ x) * c) @ x.T * 2"],
        {"W": "3x2", "x": "2", "c": "3"},
        {},
    ),
    (
        "softmax Jacobian",
        "softmax(z)",
        "z",
        "diag(softmax(z)) - softmax(z) @ softmax(z).T",
        ["diag(softmax(z))", "softmax(z) @ softmax(z).T - diag(softmax(z))"],
        {"z": "3"},
        {},
    ),
]

# (label, lhs, rhs, truth, shapes, assumptions)
IDENTITIES: list[tuple[str, str, str, bool, dict[str, str], dict[str, str]]] = [
    ("tanh through sigmoid", "tanh(x)", "2*sigmoid(2*x) - 1", True, {}, {}),
    ("tanh through sigmoid, scale lost", "tanh(x)", "2*sigmoid(x) - 1", False, {}, {}),
    ("sigmoid symmetry", "sigmoid(-x)", "1 - sigmoid(x)", True, {}, {}),
    ("sigmoid symmetry, sign slip", "sigmoid(-x)", "sigmoid(x) - 1", False, {}, {}),
    ("softplus difference", "softplus(x) - softplus(-x)", "x", True, {}, {}),
    ("softplus difference, sign slip", "softplus(x) + softplus(-x)", "x", False, {}, {}),
    ("softplus definition", "log(1 + exp(x))", "softplus(x)", True, {}, {}),
    ("log-sigmoid", "log(sigmoid(x))", "-softplus(-x)", True, {}, {}),
    ("log-sigmoid, sign slip", "log(sigmoid(x))", "softplus(-x)", False, {}, {}),
    ("swish is x sigmoid", "swish(x)", "x*sigmoid(x)", True, {}, {}),
    ("relu from abs", "relu(x)", "(x + abs(x))/2", True, {}, {}),
    ("relu from abs, factor lost", "relu(x)", "x + abs(x)", False, {}, {}),
    ("softmax sums to one", "sum(softmax(z))", "1", True, {"z": "4"}, {}),
    ("softmax shift", "softmax(z + c)", "softmax(z)", True, {"z": "4"}, {}),
    ("softmax scale is not a shift", "softmax(2*z)", "softmax(z)", False, {"z": "4"}, {}),
    ("logsumexp shift", "logsumexp(z + c)", "logsumexp(z) + c", True, {"z": "4"}, {}),
    ("logsumexp shift, lost", "logsumexp(z + c)", "logsumexp(z)", False, {"z": "4"}, {}),
    ("log_softmax", "log_softmax(z)", "z - logsumexp(z)", True, {"z": "3"}, {}),
    ("transpose of a product", "(A @ B).T", "B.T @ A.T", True, {"A": "3x2", "B": "2x3"}, {}),
    (
        "transpose of a product, order",
        "(A @ B).T",
        "A.T @ B.T",
        False,
        {"A": "3x3", "B": "3x3"},
        {},
    ),
    ("inverse of a product", "inv(A @ B)", "inv(B) @ inv(A)", True, {"A": "3x3", "B": "3x3"}, {}),
    (
        "inverse of a product, order",
        "inv(A @ B)",
        "inv(A) @ inv(B)",
        False,
        {"A": "3x3", "B": "3x3"},
        {},
    ),
    (
        "trace cycle",
        "tr(A @ B @ C)",
        "tr(C @ A @ B)",
        True,
        {"A": "2x3", "B": "3x4", "C": "4x2"},
        {},
    ),
    (
        "trace is not any permutation",
        "tr(A @ B @ C)",
        "tr(B @ A @ C)",
        False,
        {"A": "3x3", "B": "3x3", "C": "3x3"},
        {},
    ),
    ("det of a product", "det(A @ B)", "det(A)*det(B)", True, {"A": "3x3", "B": "3x3"}, {}),
    (
        "det of a sum is not additive",
        "det(A + B)",
        "det(A) + det(B)",
        False,
        {"A": "2x2", "B": "2x2"},
        {},
    ),
    ("det of a scaled matrix", "det(2*A)", "8*det(A)", True, {"A": "3x3"}, {}),
    ("det of a scaled matrix, power lost", "det(2*A)", "2*det(A)", False, {"A": "3x3"}, {}),
    ("logdet of an inverse", "logdet(inv(A))", "-logdet(A)", True, {"A": "3x3"}, {"A": "spd"}),
    ("Frobenius through trace", "norm(W)**2", "tr(W.T @ W)", True, {"W": "3x2"}, {}),
    ("Frobenius is not the trace", "norm(W)", "tr(W)", False, {"W": "3x3"}, {}),
    ("quadratic form as trace", "x.T @ A @ x", "tr(A @ x @ x.T)", True, {"A": "3x3", "x": "3"}, {}),
    (
        "quadratic form, symmetric part",
        "x.T @ A @ x",
        "x.T @ (A + A.T) @ x / 2",
        True,
        {"A": "3x3", "x": "3"},
        {},
    ),
    (
        "quadratic form, antisymmetric part",
        "x.T @ A @ x",
        "x.T @ (A - A.T) @ x / 2",
        False,
        {"A": "3x3", "x": "3"},
        {},
    ),
    ("GELU tanh form is not exact", "gelu(x)", "gelu_tanh(x)", False, {}, {}),
    ("hard_tanh clip", "hard_tanh(x)", "maximum(-1, minimum(1, x))", True, {}, {}),
    ("leaky relu", "leaky_relu(x)", "maximum(x, 0.01*x)", True, {}, {}),
    ("elu at negatives", "elu(-abs(x))", "exp(-abs(x)) - 1", True, {}, {}),
    ("elu at negatives, shift lost", "elu(-abs(x))", "exp(-abs(x))", False, {}, {}),
]


def matrix_claims() -> Iterator[Claim]:
    for label, f, wrt, right, wrongs, shapes, assume in MATRIX:
        yield Claim(label, "matrix", True, f, right, wrt, shapes, assume)
        for k, wrong in enumerate(wrongs, 1):
            yield Claim(
                f"{label}: wrong variant {k}", "matrix", False, f, wrong, wrt, shapes, assume
            )


def identity_claims() -> Iterator[Claim]:
    for label, lhs, rhs, truth, shapes, assume in IDENTITIES:
        yield Claim(label, "identity", truth, lhs, rhs, None, shapes, assume)


def corpus() -> list[Claim]:
    """Every claim of the corpus, in a fixed order."""
    return [*activation_claims(), *loss_claims(), *matrix_claims(), *identity_claims()]


def outcome(claim: Claim, verdict: str) -> str:
    """``ok``, ``undecided``, ``false pass`` (a wrong claim passed) or ``false refutation``."""
    if verdict == "undecided":
        return "undecided"
    passed = verdict in ("proved", "verified")
    if passed == claim.true:
        return "ok"
    return "false pass" if passed else "false refutation"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print every claim and verdict")
    args = parser.parse_args(argv)
    claims = corpus()
    tally: Counter[tuple[str, str]] = Counter()
    worst = 0.0
    start = time.perf_counter()
    for claim in claims:
        t0 = time.perf_counter()
        verdict = claim.check()
        worst = max(worst, time.perf_counter() - t0)
        result = outcome(claim, verdict)
        tally[(claim.family, result)] += 1
        if args.list or result not in ("ok",):
            truth = "true " if claim.true else "false"
            print(f"{result:<16} {verdict:<9} {truth} {claim.family:<10} {claim.label}")
    total = time.perf_counter() - start
    print(
        f"\nsoundness corpus — {platform.node()} ({platform.machine()}), "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}\n"
    )
    print("| family | claims (true / false) | false passes | false refutations | undecided |")
    print("|---|---|---|---|---|")
    families = sorted({c.family for c in claims})
    for fam in [*families, "all"]:
        members = [c for c in claims if fam in ("all", c.family)]
        counts = Counter(o for (f, o), v in tally.items() if fam in ("all", f) for _ in range(v))
        n_true = sum(c.true for c in members)
        print(
            f"| {fam} | {len(members)} ({n_true} / {len(members) - n_true}) | "
            f"{counts['false pass']} | {counts['false refutation']} | {counts['undecided']} |"
        )
    print(f"\n{total:.0f} s in all; the slowest claim took {worst:.1f} s")
    bad = sum(v for (_, o), v in tally.items() if o in ("false pass", "false refutation"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
