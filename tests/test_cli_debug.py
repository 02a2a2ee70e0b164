"""``symdl --debug``: the traceback for bug reports; without it, one line and no traceback."""

from __future__ import annotations

import pytest

from symdl.cli import main


@pytest.mark.parametrize(
    "argv",
    [
        ["check", "x +", "--wrt", "x", "--claim", "1"],
        ["check", "W @ x", "--wrt", "x", "--claim", "1", "--shape", "W=2x3", "x=2"],
        ["show", "gleu"],
    ],
)
def test_errors_are_one_line_without_debug_and_traced_with_it(argv, capsys):
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("symdl: ")
    assert main(["--debug", *argv]) == 3
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert "symdl: " in err.splitlines()[-1] or any(
        line.startswith("symdl: ") for line in err.splitlines()
    )


def test_an_internal_error_points_to_debug(monkeypatch, capsys):
    import symdl.cli

    def broken(args):
        raise RuntimeError("boom")

    monkeypatch.setattr(symdl.cli, "_show", broken)
    assert main(["show", "relu"]) == 4
    err = capsys.readouterr().err
    assert "internal error (RuntimeError: boom)" in err and "--debug" in err
    assert "Traceback" not in err
    assert main(["--debug", "show", "relu"]) == 4
    assert "Traceback" in capsys.readouterr().err
