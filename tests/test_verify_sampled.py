"""``sampled_gradcheck``: random projections find one wrong entry in thousands, and a
correct gradient (float64 or float32) is never refuted; bad options are clear errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from symdl import PrecisionWarning
from symdl.verify.sampled import sampled_gradcheck

_RNG = np.random.default_rng(11)
D, B = 40, 8
X = _RNG.normal(size=(D, B))
Y = 0.5 * _RNG.normal(size=(D, B))
W0 = _RNG.normal(size=(D, D)) / np.sqrt(D)


def loss(W):
    r"""L(W) = (1/2B) Σ (tanh(W X) − Y)²: a dense layer over a batch of B columns."""
    return 0.5 * np.sum((np.tanh(W @ X.astype(W.dtype)) - Y) ** 2) / B


def grad(W):
    t = np.tanh(W @ X.astype(W.dtype))
    delta = (t - Y.astype(W.dtype)) * (1 - t * t)
    return delta @ X.astype(W.dtype).T / B


def _one_entry(factor):
    def wrong(W):
        g = grad(W)
        g[7, 31] *= factor
        return g

    return wrong


BUGS = {
    "sign flip": _one_entry(-1.0),
    "1e-6 relative error in one entry": _one_entry(1 + 1e-6),
    "transposed": lambda W: grad(W).T,
    "factor 1/2": lambda W: grad(W) / 2,
    "missing 1/batch": lambda W: grad(W) * B,
}


@pytest.mark.parametrize("bug", BUGS)
def test_planted_bugs_are_refuted(bug):
    report = sampled_gradcheck(loss, BUGS[bug], W0, projections=4, coordinates=2)
    assert report.verdict == "refuted", str(report)
    assert report.diagnosis


@pytest.mark.parametrize("seed", range(3))
def test_correct_float64_gradient_is_verified(seed):
    report = sampled_gradcheck(loss, grad, W0, seed=seed, projections=4, coordinates=2)
    assert report.verdict == "verified", str(report)
    assert report.evidence[0].worst_error < report.evidence[0].tolerance


def test_correct_float32_gradient_is_verified_with_a_warning():
    with pytest.warns(PrecisionWarning):
        report = sampled_gradcheck(loss, grad, W0.astype(np.float32), projections=4)
    assert report.verdict == "verified", str(report)
    assert any("upcast" in note for note in report.notes)


def test_a_sampled_coordinate_names_the_entry():
    small = W0[:2, :2].copy()

    def f(W):
        return float(np.sum(np.sin(W) * W))

    def g(W):
        out = np.cos(W) * W + np.sin(W)
        out[1, 0] += 0.01
        return out

    report = sampled_gradcheck(f, g, small, projections=0, coordinates=4)
    assert report.verdict == "refuted"
    assert report.entries[0].index == (1, 0)


def test_several_groups_are_checked_separately():
    def f(a, b):
        return float(np.sum(a**2) + np.sum(np.exp(b)))

    def g(a, b):
        return 2 * a, np.exp(b) * (1 + 1e-5)

    a, b = np.linspace(-1, 1, 50), np.linspace(0, 1, 30)
    report = sampled_gradcheck(f, g, a, b, projections=3, coordinates=0)
    assert report.verdict == "refuted"
    assert [ev.outcome for ev in report.evidence] == ["agree", "differ"]
    good = sampled_gradcheck(f, lambda a, b: (2 * a, np.exp(b)), a, b, projections=3)
    assert good.verdict == "verified"


def test_wrong_shape_and_non_finite_are_refuted():
    assert sampled_gradcheck(loss, lambda W: grad(W)[:, :3], W0).verdict == "refuted"
    assert sampled_gradcheck(loss, lambda W: grad(W) * np.nan, W0).verdict == "refuted"


@pytest.mark.parametrize(
    "options",
    [{"projections": -1}, {"projections": 0, "coordinates": 0}, {"alpha": 0.0}, {"wrt": [3]}],
)
def test_bad_options_are_clear_errors(options):
    with pytest.raises(ValueError):
        sampled_gradcheck(loss, grad, W0, **options)


def test_non_scalar_f_is_a_shape_error():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="scalar"):
            sampled_gradcheck(lambda W: W, grad, W0)
