"""``symdl approx`` and the approximation pictures: the CLI prints what the API returns."""

from __future__ import annotations

import json

import pytest

from symdl.cli import main
from symdl.derive.approximation import approximate, convergence, yarotsky_product
from symdl.render.approximation_plot import plot_approximation, plot_convergence


def test_approx_prints_the_certificate(capsys):
    code = main(["approx", "sin(3*x)", "--on", "-1,1", "--eps", "1e-3"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.strip() == str(approximate("sin(3*x)", ("-1", "1"), eps=1e-3))
    assert out.startswith("proved: ‖f − f_n‖∞ ≤ 0.0009732")
    assert "68 hidden neurons" in out


def test_approx_json_and_plot(capsys, tmp_path):
    picture = tmp_path / "sin.png"
    args = ["approx", "sin(x)", "--on", "0,pi", "--eps", "1e-3", "--json", "--plot", str(picture)]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["neurons"] == 36 and data["status"] == "proved"
    assert data["observed_sup_error"] <= data["bound"] <= 1e-3
    assert picture.stat().st_size > 10_000 and picture.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("activation", ["sigmoid", "deep", "hard_tanh"])
def test_approx_other_activations(capsys, activation):
    assert (
        main(["approx", "x**2", "--on", "-1,1", "--eps", "0.05", "--activation", activation]) == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("proved: ") and "observed sup error" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x*z", "--on", "0,1", "--eps", "0.1"], "only the variable"),
        (["x*y", "--on", "0,1", "--eps", "0.1", "--activation", "tanh"], "ReLU interpolation only"),
        (["x", "--on", "1", "--eps", "0.1"], "--on expects A,B"),
        (["x", "--on", "1,0", "--eps", "0.1"], "a < b"),
        (["x", "--on", "0,1", "--eps", "-1"], "eps must be"),
        (["x", "--on", "0,1", "--eps", "0.1", "--activation", "gelu"], "not a bounded sigmoidal"),
        (["x", "--on", "0,1", "--eps", "0.1", "--activation", "sigmiod"], "did you mean"),
        (["x", "--eps", "0.1"], "--on"),
    ],
)
def test_approx_bad_input(capsys, args, message):
    assert main(["approx", *args]) == 3
    assert message in capsys.readouterr().err


def test_plots_of_a_product_and_of_convergence(tmp_path):
    product = plot_approximation(yarotsky_product(2), tmp_path / "xy.png")
    assert product.stat().st_size > 10_000
    series = convergence("x**2", (0, 1), [1e-1, 1e-2], activations=["relu", "tanh"], points=1001)
    assert [p.construction for p in series] == ["relu", "relu", "tanh", "tanh"]
    assert all(p.observed <= p.bound <= p.eps for p in series)
    picture = plot_convergence(series, tmp_path / "conv.png", title="x² on [0, 1]")
    assert picture.read_bytes()[:4] == b"\x89PNG"


def test_approx_of_a_function_of_x_and_y(capsys, tmp_path):
    picture = tmp_path / "xy.png"
    code = main(["approx", "x*y", "--on", "0,1", "--eps", "0.01", "--plot", str(picture)])
    out = capsys.readouterr().out
    assert code == 0 and "triangulation (6×6 cells)" in out
    assert out.startswith("proved: ‖f − f_n‖∞ ≤ 0.006944 for f = x*y on [0, 1] × [0, 1]")
    assert picture.stat().st_size > 10_000
