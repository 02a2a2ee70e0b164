"""The public API is exactly what symdl/__init__.py re-exports."""

import inspect

import symdl


def test_all_matches_the_public_names_bound():
    public = {
        name
        for name, value in vars(symdl).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert set(symdl.__all__) - {"__version__"} == public


def test_every_name_in_all_resolves():
    for name in symdl.__all__:
        assert getattr(symdl, name) is not None


def test_errors_subclass_the_builtin_they_refine():
    assert issubclass(symdl.ParseError, ValueError)
    assert issubclass(symdl.ShapeError, ValueError)
    assert issubclass(symdl.UnknownNameError, KeyError)
    assert issubclass(symdl.UnsupportedError, NotImplementedError)
    assert issubclass(symdl.BudgetExceeded, TimeoutError)
    for leaf in (symdl.ParseError, symdl.ShapeError, symdl.UnknownNameError):
        assert issubclass(leaf, symdl.SymdlError)


def test_report_is_frozen():
    import dataclasses

    import pytest

    report = symdl.check_derivative("x**2", "x", "2*x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.verdict = "refuted"  # type: ignore[misc]
