"""Sample points where a side is beyond mpmath's reach are replaced, not fatal.

``exp(exp(exp(exp(x))))`` has no representable value at x = 30; the checker drops such a
point (saying so in a note), draws another, and decides on the points it can evaluate.
"""

from __future__ import annotations

from symdl import check_derivative, check_identity

TOWER = "exp(exp(exp(exp(x))))"


def test_a_false_claim_with_unusable_points_is_refuted_at_a_finite_point():
    report = check_identity(TOWER, "0")
    assert report.verdict == "refuted"
    assert any("dropped" in note for note in report.notes)
    # the counterexample is one whose values are finite, so the diagnosis reads sensibly
    assert "inf" not in report.diagnosis[0]
    assert all(e.rel_error <= 2.0 for e in report.entries)


def test_a_true_identity_with_unusable_points_still_passes():
    assert check_identity(TOWER, "exp(exp(exp(exp(x))))").verdict == "proved"


def test_a_true_derivative_with_unusable_points_still_passes():
    claim = "exp(exp(exp(exp(x))))*exp(exp(exp(x)))*exp(exp(x))*exp(x)"
    assert check_derivative(TOWER, "x", claim).verdict in ("proved", "verified")


def test_a_wrong_derivative_with_unusable_points_is_refuted():
    claim = "exp(exp(exp(exp(x))))*exp(exp(exp(x)))*exp(exp(x))"  # the innermost e^x lost
    assert check_derivative(TOWER, "x", claim).verdict == "refuted"


def test_too_few_usable_points_is_undecided_not_verified():
    # the domain x > e^(e^e) ≈ 3.8e6 is beyond every sampling scale
    report = check_identity("log(log(log(log(x))))", "0")
    assert report.verdict == "undecided"
