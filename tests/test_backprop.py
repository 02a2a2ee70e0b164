"""backprop(network): the API contract, the derivation, the generated code, and its checks."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from symdl.derive.backprop import BackpropResult, backprop
from symdl.derive.backprop_network import Network, Residual
from symdl.derive.layers import LAYERS
from symdl.derive.layers.dense import Activation, Dense
from symdl.derive.network_text import parse_network
from symdl.errors import ShapeError, UnknownNameError

CHROMIUM = Path("/usr/bin/chromium")
MLP = "dense(4,3) | relu | dense(3,2) | softmax_cross_entropy"


@pytest.fixture(scope="module")
def mlp() -> BackpropResult:
    return backprop(MLP)


def _numbers(res: BackpropResult, batch: int = 5, seed: int = 0):
    params = res.init(seed=seed)
    x, data = res.inputs(batch, seed=seed)
    loss, tape = res.forward(x, params, data)
    return params, x, data, loss, res.backward(tape)


def test_contract_names_and_shapes(mlp):
    assert mlp.parameters == (("W1", (3, 4)), ("b1", (3,)), ("W2", (2, 3)), ("b2", (2,)))
    assert mlp.data == (("Y", (2,)),)
    params, x, _, loss, grads = _numbers(mlp)
    assert set(grads) == {"W1", "b1", "W2", "b2", "x"}
    assert all(grads[k].shape == params[k].shape for k in params)
    assert grads["x"].shape == x.shape == (5, 4)
    assert isinstance(loss, float) and loss > 0
    assert "def forward(x, params, data):" in mlp.source and "def backward(tape):" in mlp.source


def test_generated_gradients_equal_a_hand_written_backward(mlp):
    params, x, data, loss, grads = _numbers(mlp, batch=7, seed=3)
    W1, b1, W2, b2, Y = params["W1"], params["b1"], params["W2"], params["b2"], data["Y"]
    z1 = x @ W1.T + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2.T + b2
    p = np.exp(z2 - z2.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert loss == pytest.approx(-(Y * np.log(p)).sum() / 7, rel=1e-12)
    d2 = (p - Y) / 7
    d1 = (d2 @ W2) * (z1 > 0)
    for key, want in {"W2": d2.T @ a1, "b2": d2.sum(0), "W1": d1.T @ x, "b1": d1.sum(0)}.items():
        np.testing.assert_allclose(grads[key], want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(grads["x"], d1 @ W1, rtol=1e-12, atol=1e-15)


def test_the_tape_holds_only_what_backward_reads(mlp):
    _, tape = mlp.forward(*_numbers(mlp)[1:2], mlp.init(), mlp.inputs(5)[1])
    body = mlp.source.split("def backward(tape):")[1]
    for name in tape:
        assert re.search(rf"\b{name}\b", body.split("gloss = 1.0")[1]), name
    assert "t4_shift" not in tape and "b1" not in tape and "a1" in tape


def test_the_delta_recursion_is_stated_for_an_mlp(mlp):
    titles = [s.title for s in mlp.derivation]
    assert titles == ["Forward pass", "Backward pass, in reverse order", "The δ recursion"]
    texts = [line.equation.text for line in mlp.derivation[2].lines]
    assert "δ₁ = (W₂ᵀ δ₂) ⊙ relu'(z₁)" in texts
    assert "Δ₁ = (Δ₂ W₂) ⊙ relu'(Z₁)" in texts
    assert "∂L/∂W₂ = Δ₂ᵀ A₁" in texts
    backward = [line.equation.text for line in mlp.derivation[1].lines]
    assert backward[0] == "∂L/∂L = 1" and backward[1].startswith("∂L/∂Z₂ = (P − Y)/B")
    # reverse order: layer 3's gradients come before layer 1's
    labels = [line.label for line in mlp.derivation[1].lines[1:]]
    assert labels == sorted(labels, reverse=True)


def test_no_recursion_without_the_pattern():
    res = backprop("dense(3,2) | mse")
    assert [s.title for s in res.derivation][-1] == "Backward pass, in reverse order"


def test_deeper_mlp_names_every_layer():
    text = " | ".join(["dense(3,3) | tanh"] * 6) + " | dense(3,2) | mse"
    res = backprop(text)
    assert [k for k, _ in res.parameters][-2:] == ["W7", "b7"]
    recursion = [line.equation.text for line in res.derivation[2].lines]
    assert sum(t.startswith("δ") for t in recursion) == 6
    assert "δ₆ = (W₇ᵀ δ₇) ⊙ tanh'(z₆)" in recursion


def test_residual_sums_both_paths_and_checks():
    res = backprop("dense(3,3) | residual(dense(3,3) | tanh) | dense(3,2) | mse")
    assert "r1 = z1 + a2" in res.source
    assert "gz1 = gr1 + gu1" in res.source
    texts = [line.equation.text for line in res.derivation[1].lines]
    assert "∂L/∂Z₁ = ∂L/∂R₁ + ∂L/∂U₁" in texts and "∂L/∂A₂ = ∂L/∂R₁" in texts
    check = res.check()
    assert check.verdict == "verified", str(check)


def test_nested_residual_without_parameters_upstream():
    res = backprop(
        "input(3) | residual(tanh | residual(relu)) | dense(3,2) | mse", input_gradient=False
    )
    assert "'x'" not in res.source.split("def backward")[1]
    assert res.check().verdict == "verified"
    res = backprop("input(3) | residual(tanh | residual(relu)) | dense(3,2) | mse")
    assert res.check().verdict == "verified"


def test_loss_is_required_or_appended():
    with pytest.raises(ShapeError, match="not a loss: backpropagation needs a scalar"):
        backprop("dense(3,2) | relu")
    res = backprop("dense(3,2) | relu", loss="mse")
    assert res.network.loss is not None and res.network.loss.kind == "mse"
    with pytest.raises(ShapeError, match="already ends with a loss"):
        backprop("dense(3,2) | mse", loss="mse")
    with pytest.raises(ShapeError, match="is not a loss"):
        backprop("dense(3,2)", loss="relu")
    with pytest.raises(UnknownNameError, match="did you mean 'mse'"):
        backprop("dense(3,2)", loss="mse_")


def test_blocks_list_and_network_inputs():
    mse = LAYERS.get("mse").build()
    res = backprop([Activation("tanh"), Dense(4, 2), mse], input_shape=(4,))
    assert res.input_shape == (4,)
    assert res.parameters[0][0] == "W1"
    res2 = backprop([Dense(4, 4), Residual((Layer_(Activation("relu")),)), Dense(4, 1), mse])
    assert res2.check().verdict == "verified"
    with pytest.raises(TypeError):
        backprop(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        backprop(["dense"])  # type: ignore[list-item]
    assert isinstance(parse_network(MLP), Network)


def Layer_(block):
    from symdl.derive.backprop_network import Layer

    return Layer(block)


def test_input_gradient_off_drops_gx():
    res = backprop(MLP, input_gradient=False)
    assert "gx =" not in res.source
    grads = _numbers(res)[-1]
    assert "x" not in grads
    assert "∂L/∂X" not in res.text()


def test_forward_validates_its_arguments(mlp):
    params = mlp.init()
    x, data = mlp.inputs(2)
    with pytest.raises(ShapeError, match=r"shape \(B, 4\)"):
        mlp.forward(np.zeros((2, 5)), params, data)
    with pytest.raises(ShapeError, match="missing parameter 'b2'"):
        mlp.forward(x, {k: v for k, v in params.items() if k != "b2"}, data)
    with pytest.raises(ShapeError, match="'W1' must have shape"):
        mlp.forward(x, {**params, "W1": params["W1"].T}, data)
    with pytest.raises(ShapeError, match="missing data 'Y'"):
        mlp.forward(x, params, {})
    with pytest.raises(ValueError, match="batch"):
        mlp.inputs(0)


def test_support_functions_are_defined_once():
    res = backprop("dense(3,3) | gelu | dense(3,3) | gelu | dense(3,2) | mse")
    assert res.source.count("def gelu(") == 1
    assert res.check().verdict == "verified"


def test_check_of_a_correct_network_lists_every_distinct_kind(mlp):
    check = mlp.check()
    assert check.ok and check.verdict == "verified"
    labels = [label for label, _ in check.reports]
    assert labels[:3] == [
        "rule of dense(4, 3) on 4",
        "rule of relu on 3",
        "rule of softmax_cross_entropy on 2",
    ]
    assert labels[3:] == [
        f"generated ∂L/∂{name} vs finite differences (batch 3)"
        for name in ("x", "W1", "b1", "W2", "b2")
    ]


def test_a_large_network_checks_small_instances_and_samples_the_code():
    res = backprop("dense(50,40) | sigmoid | dense(40,10) | softmax_cross_entropy")
    check = res.check()
    assert check.verdict == "verified", str(check)
    labels = [label for label, _ in check.reports]
    assert "rule of dense(3, 2) on 3" in labels and "rule of dense(2, 4) on 2" in labels
    assert labels[-1] == "generated ∂L/∂b2 vs finite differences (batch 3, sampled)"


def test_keyword_configuration_is_checked_at_small_sizes():
    res = backprop("dense(30,20,bias=False) | tanh | dense(20,2) | mse")
    check = res.check()
    assert check.verdict == "verified"
    assert [k for k, _ in res.parameters] == ["W1", "W2", "b2"]


def test_wrong_generated_code_is_refuted(monkeypatch):
    from symdl.derive.layers import dense

    original = Dense.backward_code

    def bad(self, w, shape):  # drops the bias's term: ∂L/∂b = 0
        lines = original(self, w, shape)
        return [line.replace(".sum(axis=0)", ".sum(axis=0) * 0.0") for line in lines]

    res_good = backprop(MLP)
    monkeypatch.setattr(dense.Dense, "backward_code", bad)
    res = backprop(MLP)
    assert res.source != res_good.source
    check = res.check()
    assert check.verdict == "refuted"
    refuted = [label for label, r in check.reports if r.verdict == "refuted"]
    assert refuted == [
        "generated ∂L/∂b1 vs finite differences (batch 3)",
        "generated ∂L/∂b2 vs finite differences (batch 3)",
    ]


def test_wrong_activation_code_is_refuted(monkeypatch):
    from symdl.derive.layers import dense

    # tanh' written 1 − y instead of 1 − y²
    monkeypatch.setitem(dense._FAST_BACKWARD, "tanh", "{gy} * (1.0 - {y})")
    check = backprop("dense(3,3) | tanh | dense(3,2) | mse").check()
    assert check.verdict == "refuted"


class _HalfDense(Dense):
    """A planted bug in the rule and the code alike: ∂L/∂W off by a factor ½."""

    def backward_code(self, w, shape):
        return [
            line.replace(".T @", ".T * 0.5 @") if line.startswith(w.grads["W"]) else line
            for line in super().backward_code(w, shape)
        ]

    def backward_explicit(self, x, params, data, gy):
        gx, grads = super().backward_explicit(x, params, data, gy)
        return gx, {**grads, "W": grads["W"] / 2}


@pytest.mark.parametrize("size", [(3, 2), (30, 20)])
def test_a_wrong_rule_is_refuted_by_both_checks(size):
    res = backprop([_HalfDense(*size), LAYERS.get("mse").build()])
    check = res.check()
    assert check.verdict == "refuted"
    verdicts = {label.split(" on ")[0]: r.verdict for label, r in check.reports}
    dense_rules = [v for label, v in verdicts.items() if label.startswith("rule of dense")]
    assert dense_rules and set(dense_rules) == {"refuted"}, str(check)
    assert verdicts["rule of mse"] == "proved"
    code = {label.split(" vs ")[0]: r for label, r in check.reports if " vs " in label}
    assert code["generated ∂L/∂W1"].verdict == "refuted"
    assert {code[k].verdict for k in code if k != "generated ∂L/∂W1"} == {"verified"}
    if size == (3, 2):
        assert "1/2 times the true gradient" in str(code["generated ∂L/∂W1"])


class _Unregistered(Dense):
    kind = "unregistered_dense"


def test_a_large_unregistered_block_is_undecided_not_verified():
    check = backprop([_Unregistered(30, 20), LAYERS.get("mse").build()]).check()
    assert check.verdict == "undecided"
    reports = dict(check.reports)
    assert reports["rule of unregistered_dense(30, 20)"].verdict == "undecided"
    small = backprop([_Unregistered(3, 2), LAYERS.get("mse").build()]).check()
    assert small.verdict == "verified"


def test_renderings(mlp):
    text = mlp.text()
    assert all(len(line) <= 100 for line in text.splitlines())
    assert "δ₁ = (W₂ᵀ δ₂) ⊙ relu'(z₁)" in text and "not checked" in text
    assert "(with relu'(x) = H(x), the catalogue's canonical form)" in text
    assert "\\" not in text  # no LaTeX in the Unicode text
    check = mlp.check()
    assert "verified: 8 checks" in mlp.text(check)
    latex = mlp.latex(standalone=True)
    assert latex.startswith(r"\documentclass") and r"\boldsymbol{\delta}_{1}" in latex
    assert mlp.latex().startswith(r"\section*")
    assert r"\text{layer 2: with } \operatorname{ReLU}'(x) = H\left(x\right)" in latex
    md = mlp.markdown(check)
    assert "$$" in md and "### The δ recursion" in md and "**verified**" in md
    page = mlp.html(check)
    assert page.startswith("<!DOCTYPE html>") and "katex" in page
    assert not re.search(r"""(src|href)=["']?https?:""", page)
    assert "def backward(tape)" in page
    assert mlp._repr_latex_().startswith("$$\\begin{aligned}")
    assert mlp._repr_markdown_() == mlp.markdown()
    assert str(mlp) == text


def test_long_lines_wrap_at_100_columns():
    text = " | ".join(["dense(3,3) | tanh"] * 40) + " | dense(3,2) | mse"
    out = backprop(text).text()
    assert all(len(line) <= 100 for line in out.splitlines())


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex is not on PATH")
def test_standalone_latex_compiles(tmp_path, mlp):
    docs = [
        mlp.latex(mlp.check(), standalone=True),
        backprop("dense(3,3) | residual(dense(3,3) | gelu) | dense(3,2) | mse").latex(
            standalone=True
        ),
    ]
    for tex in docs:
        (tmp_path / "n.tex").write_text(tex, encoding="utf-8")
        done = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "n.tex"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed")
def test_html_renders_in_headless_chromium(tmp_path, mlp):
    page = tmp_path / "n.html"
    page.write_text(
        backprop("dense(4,4) | residual(dense(4,4) | gelu) | dense(4,2) | mse").html(),
        encoding="utf-8",
    )
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000"]
    dom = subprocess.run(
        [str(CHROMIUM), *flags, "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'class="katex' in dom.stdout  # KaTeX ran
    assert 'class="katex-error"' not in dom.stdout  # and met no math it could not parse


@pytest.mark.skipif(
    not all(k in LAYERS for k in ("conv2d", "maxpool2d", "flatten")), reason="no conv layers"
)
def test_a_vanishing_gradient_is_undecided_not_refuted():
    # batch norm subtracts the batch mean, so layer norm's shift β₁ has gradient 0 exactly;
    # the generated code gives it as rounding noise of cancelling terms
    text = "input(2) | layer_norm(2) | batch_norm(2) | softmax_cross_entropy"
    if not all(k in LAYERS for k in ("layer_norm", "batch_norm")):
        pytest.skip("no normalisation layers")
    from symdl.derive.backprop_check import check_network_code

    reports = dict(check_network_code(backprop(text), seed=1))
    beta = reports["generated ∂L/∂beta1 vs finite differences (batch 3)"]
    assert beta.verdict in ("verified", "undecided")
    if beta.verdict == "undecided":
        assert "vanishes identically" in beta.notes[-1]
    others = [r.verdict for label, r in reports.items() if "beta1" not in label]
    assert set(others) == {"verified"}


def test_a_small_cnn():
    res = backprop(
        "input(1,6,6) | conv2d(1,2,3) | relu | maxpool2d(2) | flatten | dense(8,3) "
        "| softmax_cross_entropy"
    )
    assert [k for k, _ in res.parameters][:2] == ["W1", "b1"]
    assert res.check().verdict == "verified"
