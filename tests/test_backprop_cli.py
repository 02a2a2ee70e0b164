"""symdl backprop: formats, files, checks and exit codes, through symdl.cli.main."""

from __future__ import annotations

import pytest

from symdl.cli import main

MLP = "dense(4,3) | relu | dense(3,2) | softmax_cross_entropy"


def test_text_is_the_default(capsys):
    assert main(["backprop", MLP]) == 0
    out = capsys.readouterr().out
    assert "Backpropagation through input(4) | dense(4,3)" in out
    assert "δ₁ = (W₂ᵀ δ₂) ⊙ relu'(z₁)" in out
    assert "not checked" in out


def test_check_exit_0_and_lists_the_checks(capsys):
    assert main(["backprop", "dense(3,2) | tanh | dense(2,2) | mse", "--check"]) == 0
    out = capsys.readouterr().out
    assert "Checks" in out and "verified  generated ∂L/∂W1 vs finite differences" in out


def test_numpy_prints_the_module_that_runs(capsys):
    from symdl.derive.backprop import backprop

    assert main(["backprop", MLP, "--format", "numpy"]) == 0
    out = capsys.readouterr().out
    assert out == backprop(MLP).source
    compile(out, "<test>", "exec")


def test_numpy_with_check_appends_comments(capsys):
    assert main(["backprop", MLP, "--format", "numpy", "--check"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().splitlines()[-1].startswith("#   verified  generated")
    compile(out, "<test>", "exec")


@pytest.mark.parametrize(
    ("fmt", "head"),
    [("latex", r"\documentclass"), ("md", "## Backpropagation"), ("html", "<!DOCTYPE html>")],
)
def test_formats_to_a_file(tmp_path, capsys, fmt, head):
    target = tmp_path / f"net.{fmt}"
    assert main(["backprop", MLP, "--format", fmt, "-o", str(target)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {target}"
    assert target.read_text(encoding="utf-8").startswith(head)


def test_loss_option(capsys):
    assert main(["backprop", "dense(3,2) | sigmoid", "--loss", "sigmoid_cross_entropy"]) == 0
    assert "sigmoid_cross_entropy" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "wanted"),
    [
        (["backprop", "dense(4,3) | relux | mse"], "no layer named 'relux'; did you mean 'relu'"),
        (["backprop", "dense(4,3) | dense(4,2) | mse"], "but layer 1 (dense(4,3)) outputs 3"),
        (["backprop", "dense(4,3) | relu"], "needs a scalar"),
        (["backprop", "__import__('os').system('true')"], "parse error"),
        (["backprop", "dense(4,3) | mse", "--loss", "mse"], "already ends with a loss"),
        (["backprop"], "give a NETWORK"),
        (["backprop", MLP, "--timeout", "0"], "--timeout must be positive"),
        (["backprop", MLP, "--format", "pdf"], "invalid choice"),
    ],
)
def test_bad_input_exits_3_with_a_short_message(capsys, argv, wanted):
    assert main(argv) == 3
    captured = capsys.readouterr()
    assert wanted in captured.err
    assert captured.out == ""
    assert "Traceback" not in captured.err
    assert captured.err.splitlines()[0].startswith("symdl")


def test_refuted_exits_1(monkeypatch, capsys):
    from symdl.derive.layers import dense

    monkeypatch.setitem(dense._FAST_BACKWARD, "tanh", "{gy} * (1.0 - {y})")
    assert main(["backprop", "dense(3,3) | tanh | dense(3,2) | mse", "--check"]) == 1
    out = capsys.readouterr().out
    assert "refuted: 8 checks" in out and "refuted   generated ∂L/∂" in out


def test_undecided_exits_2(monkeypatch, capsys):
    from symdl.derive import backprop_check
    from symdl.verify import Evidence, Report

    def undecided(block, shape, **kwargs):
        return Report("undecided", "rule", "symbolic", (Evidence("symbolic", "timeout", "-"),))

    monkeypatch.setattr(backprop_check, "check_rule", undecided)
    assert main(["backprop", "dense(3,2) | mse", "--check"]) == 2
    assert "undecided" in capsys.readouterr().out


def test_list_shows_the_registry(capsys):
    assert main(["backprop", "--list"]) == 0
    out = capsys.readouterr().out
    assert "dense(n_in, n_out)" in out and "softmax_cross_entropy" in out
