"""Mean-field quantities: q*, χ₁, c*, the critical line, depth scales."""

import math

import mpmath
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symdl.derive.meanfield import critical_line, critical_point, fixed_point, mean_field
from symdl.derive.variance import correlation_map


def test_tanh_is_critical_at_sigma_w2_one_without_bias():
    p = critical_point("tanh", 0.0)
    assert p.sigma_w2 == 1 and p.q_star == 0
    assert mean_field("tanh", sigma_w2=1.0, sigma_b2=0.0).phase == "critical"
    assert mean_field("tanh", sigma_w2=0.9, sigma_b2=0.0).phase == "ordered"
    assert mean_field("tanh", sigma_w2=1.1, sigma_b2=0.0, precision=15).phase == "chaotic"


def test_critical_point_satisfies_chi_one():
    # Schoenholz et al. (2017), fig. 1: for tanh at σ_b² = 0.05 the critical σ_w² ≈ 1.76
    p = critical_point("tanh", 0.05, precision=15)
    assert float(p.sigma_w2) == pytest.approx(1.76, abs=0.005)
    mf = mean_field("tanh", sigma_w2=float(p.sigma_w2), sigma_b2=0.05, precision=15)
    assert abs(float(mf.q_star) - float(p.q_star)) < 1e-12
    assert abs(float(mf.chi_1) - 1) < 1e-12
    # a wrong σ_w² (1 % off) is not critical
    off = mean_field("tanh", sigma_w2=1.01 * float(p.sigma_w2), sigma_b2=0.05, precision=15)
    assert off.phase == "chaotic" and abs(float(off.chi_1) - 1) > 1e-3


def test_rectifiers_are_critical_only_without_bias():
    assert critical_point("relu", 0.0).sigma_w2 == 2
    assert float(critical_point("leaky_relu", 0.0).sigma_w2) == pytest.approx(2 / 1.0001)
    with pytest.raises(ValueError, match="single point"):
        critical_point("relu", 0.1)
    mf = mean_field("relu", sigma_w2=1.0, sigma_b2=0.5)
    assert float(mf.q_star) == 1.0 and float(mf.chi_1) == 0.5  # σ_b²/(1 − σ_w²/2), σ_w²/2
    assert mf.xi_c == pytest.approx(1 / math.log(2))
    assert mean_field("relu", sigma_w2=2.5, sigma_b2=0.0).phase == "divergent"


def test_fixed_point_is_a_fixed_point():
    from symdl.derive.gaussian import moment

    for name, sw, sb in (("tanh", 1.5, 0.05), ("hard_tanh", 2.0, 0.1)):
        q, err = fixed_point(name, sigma_w2=sw, sigma_b2=sb, precision=18)
        with mpmath.workdps(30):
            image = sw * moment(name, q, "square", precision=25).value + sb
            assert abs(image - q) <= err and err < 1e-16


def test_chaotic_phase_has_a_stable_correlation_below_one():
    mf = mean_field("tanh", sigma_w2=3.0, sigma_b2=0.05, precision=15)
    assert mf.phase == "chaotic" and 0 < mf.c_star < 1
    image = correlation_map("tanh", mf.c_star, q=float(mf.q_star), sigma_w2=3.0, sigma_b2=0.05)
    assert abs(image - mf.c_star) < 1e-9
    assert 0 < mf.chi_c < 1 and mf.xi_c == pytest.approx(-1 / math.log(mf.chi_c))


def test_relu_correlation_map_from_the_arc_cosine_kernel():
    # He init, no bias: c' = (√(1 − c²) + (π − arccos c)c)/π (Cho & Saul 2009)
    for c in (-0.5, 0.0, 0.3, 0.9):
        want = (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi
        got = correlation_map("relu", c, q=1.7, sigma_w2=2.0, sigma_b2=0.0)
        assert got == pytest.approx(want, rel=1e-13)


def test_critical_line_parametric_points_have_chi_one():
    for p in critical_line("tanh", [0.3, 1.0], precision=15):
        mf = mean_field("tanh", sigma_w2=float(p.sigma_w2), sigma_b2=float(p.sigma_b2),
                        q0=float(p.q_star), precision=15)  # fmt: skip
        assert abs(float(mf.chi_1) - 1) < 1e-10


@settings(max_examples=6)
@given(
    name=st.sampled_from(["tanh", "relu", "elu", "swish", "hard_tanh"]),
    sw=st.floats(min_value=0.3, max_value=1.9),
    sb=st.floats(min_value=0.01, max_value=1.0),
)
def test_phase_follows_chi_one(name, sw, sb):
    mf = mean_field(name, sigma_w2=sw, sigma_b2=sb, precision=15)
    if mf.phase == "divergent":
        return
    assert mf.q_star > 0
    assert (mf.phase == "ordered") == (mf.chi_1 < 1 - mf.chi_error)
    assert mf.xi_q > 0 and mf.xi_c > 0


def test_bad_input():
    with pytest.raises(ValueError, match="sigma_w2"):
        mean_field("tanh", sigma_w2=-1.0, sigma_b2=0.0)
    with pytest.raises(ValueError, match="φ\\(0\\) ≠ 0"):
        critical_point("sigmoid", 0.0, precision=15)
    assert mpmath.isinf(fixed_point("identity", sigma_w2=2.0, sigma_b2=0.0)[0])


def test_a_crawl_toward_zero_is_not_a_fixed_point():
    # hard_tanh at σ_w² = 1 shrinks q by about q·e^{−1/(2q)} a layer: the iteration stalls
    # far from 0 in float64, but the only fixed point is q* = 0 (a positive one would need
    # E[(u² − 1); |u| > 1] = 0)
    mf = mean_field("hard_tanh", sigma_w2=1.0, sigma_b2=0.0, precision=15)
    assert mf.q_star == 0 and mf.phase == "critical"
    mf = mean_field("relu6", sigma_w2=2.0, sigma_b2=0.0, precision=15)
    assert mf.q_star == 0 and any("sub-geometrically" in n for n in mf.notes)
