"""Variance recursions, their Monte Carlo check, and the three commands."""

import pytest

from symdl.cli import main
from symdl.derive.simulation import simulate
from symdl.derive.variance import propagate


def test_relu_closed_form_iterates():
    # q_l = (σ_w²/2)^(l−1)(q_1 − b/(1 − r)) + b/(1 − r) with r = σ_w²/2
    p = propagate("relu", depth=8, sigma_w2=1.5, sigma_b2=0.2, q0=2.0)
    assert p.method == "closed form"
    r, b, q1 = 0.75, 0.2, 1.5 * 2.0 + 0.2
    for s in p.layers:
        assert s.q == pytest.approx(r ** (s.layer - 1) * (q1 - b / (1 - r)) + b / (1 - r))
        assert s.gradient == pytest.approx(r ** (8 - s.layer))
    assert "3/4" in p.closed_form


def test_he_keeps_relu_variance_and_gradients():
    p = propagate("leaky_relu", depth=5, sigma_w2=2 / 1.04, parameters={"alpha": 0.2})
    assert all(s.q == pytest.approx(2 / 1.04) for s in p.layers)
    assert all(s.gradient == pytest.approx(1.0) for s in p.layers)


def test_glorot_on_unequal_widths():
    # linear units: forward gain n_in·v, backward gain n_out·v per layer
    widths = (100, 300, 100, 300)
    v = [2 / (widths[i] + widths[i + 1]) for i in range(3)]
    p = propagate("identity", depth=3, widths=widths, weight_variances=v)
    assert p.layers[0].q == pytest.approx(100 * v[0])
    assert p.layers[1].q == pytest.approx(100 * v[0] * 300 * v[1])
    assert p.layers[0].gradient == pytest.approx(100 * v[1] * 300 * v[2])


def test_float64_and_mpmath_iterates_agree_within_their_bounds():
    fast = propagate("tanh", depth=6, sigma_w2=1.5, sigma_b2=0.05)
    slow = propagate("tanh", depth=6, sigma_w2=1.5, sigma_b2=0.05, precision=20)
    for a, b in zip(fast.layers, slow.layers):
        assert abs(a.q - b.q) <= a.q_error + b.q_error + 1e-15
        assert abs(a.gradient - b.gradient) <= (a.gradient_error + 1e-14) * a.gradient


@pytest.mark.parametrize(
    "name, sw, sb", [("relu", 2.0, 0.0), ("tanh", 1.5, 0.05), ("tanh", 3.0, 0.05)]
)
def test_prediction_agrees_with_simulation(name, sw, sb):
    sim = simulate(name, sigma_w2=sw, sigma_b2=sb, depth=8, width=150, networks=40, batch=4)
    assert sim.agrees, [(c.layer, c.predicted, c.low, c.high) for c in sim.forward + sim.gradient]


def test_simulation_refutes_a_wrong_prediction():
    # the prediction for σ_w² = 1.5 does not describe networks drawn with σ_w² = 1.8
    wrong = propagate("tanh", depth=8, sigma_w2=1.5, sigma_b2=0.05)
    sim = simulate("tanh", sigma_w2=1.8, sigma_b2=0.05, depth=8, width=150, networks=40,
                   batch=4, prediction=wrong)  # fmt: skip
    assert not sim.agrees
    # He's σ_w² = 2 predicted for ReLU networks drawn at σ_w² = 1 (a factor of 2)
    wrong = propagate("relu", depth=6, sigma_w2=2.0)
    sim = simulate("relu", sigma_w2=1.0, depth=6, width=150, networks=40, prediction=wrong)
    assert not sim.agrees


@pytest.mark.slow
def test_wide_and_deep_simulation():
    # the setting: width ≥ 500, depth ≥ 30, many seeds
    sim = simulate("tanh", sigma_w2=1.5, sigma_b2=0.05, depth=30, width=500, networks=40)
    assert sim.agrees


def test_bad_input():
    with pytest.raises(ValueError, match="depth"):
        propagate("tanh", depth=0)
    with pytest.raises(ValueError, match="widths"):
        propagate("tanh", depth=2, widths=(3, 3))
    with pytest.raises(ValueError, match="confidence"):
        simulate("tanh", sigma_w2=1.0, depth=2, confidence=1.5)


def test_cli_variance_prints_the_api_numbers(capsys):
    code = main(["variance", "--activation", "relu", "--sigma-w2", "2", "--depth", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "q* = 2.0, χ₁ = 1.0 (critical)" in out
    assert "q_l = q_1" in out
    p = propagate("relu", depth=3, sigma_w2=2.0)
    assert f"{p.layers[2].q:>14.8g}" in out


def test_cli_variance_simulate_and_plot(capsys, tmp_path):
    target = tmp_path / "v.png"
    code = main(["variance", "--activation", "tanh", "--sigma-w2", "1.5", "--sigma-b2", "0.05",
                 "--depth", "4", "--simulate", "--width", "100", "--networks", "20",
                 "--plot", str(target)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "simulation: agrees" in out
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_init(capsys):
    assert main(["init", "--activation", "selu", "--precision", "30"]) == 0
    out = capsys.readouterr().out
    assert "λ = 1.05070098735548049341933498529" in out
    assert "α = 1.67326324235437728481704299167" in out
    assert "2/(n_in + n_out)" in out and "2/(n_in*(alpha**2 + 1))" in out
    assert main(["init", "--activation", "leaky_relu", "--param", "alpha=0.2"]) == 0
    assert "forward  σ_w² = 1.92307692307692307692307692308" in capsys.readouterr().out


def test_cli_critical_and_errors(capsys, tmp_path):
    assert main(["critical", "--activation", "tanh", "--sigma-b2", "0", "--precision", "15"]) == 0
    assert "1.0" in capsys.readouterr().out
    assert main(["critical", "--activation", "relu", "--sigma-b2", "0.1"]) == 3
    assert "single point" in capsys.readouterr().err
    assert main(["variance", "--activation", "gleu"]) == 3
    assert "did you mean 'gelu'" in capsys.readouterr().err
    assert main(["variance", "--activation", "tanh", "--precision", "1"]) == 3


def test_phase_diagram_png(tmp_path):
    from symdl.render.variance_plot import plot_phase_diagram

    out = plot_phase_diagram("tanh", tmp_path / "phase.png", resolution=6)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_only_linear_recursions_get_a_closed_form_iterate():
    assert propagate("elu", depth=2).closed_form == ""
    assert (
        propagate("relu", depth=2).closed_form
        == "q_l = 2**(1 - l)*q_1; Var δ^l / Var δ^L = (1/2)^(L − l)"
    )


def test_cli_accepts_an_expression(capsys):
    assert main(["init", "--activation", "erf(x)", "--precision", "20"]) == 0
    out = capsys.readouterr().out
    assert "closed form" in out and "asin" in out


def test_cli_variance_when_the_mean_field_is_undecided(capsys):
    # ELU at σ_w² = 2 grows sub-geometrically: no certified q*, but the layers stand
    assert main(["variance", "--activation", "elu", "--sigma-w2", "2", "--depth", "3"]) == 0
    out = capsys.readouterr().out
    assert "mean field: undecided — the length map" in out and "    3  " in out
