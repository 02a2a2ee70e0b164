"""Measure check_layer on batch normalisation: planted bugs caught, correct code passed.

``python examples/planted_layer_bugs.py [SEEDS]`` runs check_layer with hypothesis seeds
0 … SEEDS−1 on the correct backward pass and on four planted bugs, and prints one
Markdown row per variant: detected, diagnosis naming the lost term (where there is one),
median batch size of the shrunk counterexample, and mean seconds per check.
"""

import statistics
import sys
import time

import numpy as np

from symdl.testing import LayerSpec, Mismatch, check_layer

EPS = 1e-5
SPEC = LayerSpec(
    "gamma*(x - mean(x))/sqrt(mean((x - mean(x))**2) + 1e-5) + beta",
    shapes={"x": "n"},
    wrt=("x", "gamma", "beta"),
)


def forward(x, gamma, beta):
    mu = x.mean()
    return gamma * (x - mu) / np.sqrt(((x - mu) ** 2).mean() + EPS) + beta


def _parts(g, x):
    std = np.sqrt(x.var() + EPS)
    return std, (x - x.mean()) / std


def correct(g, x, gamma, beta):
    std, xh = _parts(g, x)
    return gamma / std * (g - g.mean() - xh * (g * xh).mean()), np.sum(g * xh), np.sum(g)


def no_mean_term(g, x, gamma, beta):
    std, xh = _parts(g, x)
    return gamma / std * (g - xh * (g * xh).mean()), np.sum(g * xh), np.sum(g)


def no_variance_term(g, x, gamma, beta):
    std, xh = _parts(g, x)
    return gamma / std * (g - g.mean()), np.sum(g * xh), np.sum(g)


def biased_variance(g, x, gamma, beta):  # the backward of a forward that uses n − 1
    std = np.sqrt(x.var(ddof=1) + EPS)
    xh = (x - x.mean()) / std
    return gamma / std * (g - g.mean() - xh * (g * xh).mean()), np.sum(g * xh), np.sum(g)


def gamma_sign(g, x, gamma, beta):
    dx, dgamma, dbeta = correct(g, x, gamma, beta)
    return dx, -dgamma, dbeta


VARIANTS = [
    ("correct (false alarms)", correct, None),
    ("mean term dropped", no_mean_term, "through mean(x) is missing"),
    ("variance term dropped", no_variance_term, "through mean((x - mean(x))**2) is missing"),
    ("variance with n − 1", biased_variance, None),
    ("sign of ∂L/∂γ flipped", gamma_sign, None),
]


def main(seeds: int) -> None:
    print("| backward pass | checks | refuted | lost term named | median n shrunk | s/check |")
    print("|---|---|---|---|---|---|")
    for label, backward, named in VARIANTS:
        refuted = named_ok = 0
        sizes, times = [], []
        for seed in range(seeds):
            start = time.perf_counter()
            try:
                check_layer(forward, backward, SPEC, seed=seed, max_examples=100)
            except Mismatch as err:
                refuted += 1
                sizes.append(len(err.report.counterexample["x"]))
                named_ok += bool(named) and any(named in d for d in err.report.diagnosis)
            times.append(time.perf_counter() - start)
        size = f"{statistics.median(sizes):g}" if sizes else "–"
        name = f"{named_ok}" if named else "–"
        row = f"| {label} | {seeds} | {refuted} | {name} | {size} | {statistics.mean(times):.1f} |"
        print(row)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
