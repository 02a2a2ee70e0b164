"""The fast paths of symdl.verify.symbolic and symdl.verify.kinks: they only ever conclude
"zero" on an exact symbolic 0, anything else still goes to the budgeted child; remembered
outcomes and roots are the ones the slow path gives."""

from __future__ import annotations

import pytest
import sympy as sp

import symdl.verify.kinks as kinks_module
import symdl.verify.symbolic as symbolic_module
from symdl.errors import SymdlError
from symdl.parse import parse
from symdl.verify import check_identity
from symdl.verify.kinks import kink_roots
from symdl.verify.symbolic import IN_PROCESS_TERMS, decide_zero, expansion_bound

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)


@pytest.fixture
def no_child(monkeypatch):
    """Fail the test if any work is sent to a child process."""

    def refuse(*args, **kwargs):
        raise AssertionError("sent to a child process")

    monkeypatch.setattr(symbolic_module, "run_with_budget", refuse)
    monkeypatch.setattr(kinks_module, "run_with_budget", refuse)
    symbolic_module._cache.clear()
    kinks_module._roots_cache.clear()


@pytest.fixture
def children(monkeypatch):
    """Count the calls sent to a child process (and still run them)."""
    calls: list[str] = []
    real = symbolic_module.run_with_budget

    def counting(fn, *args, timeout):
        calls.append(fn.__name__)
        return real(fn, *args, timeout=timeout)

    monkeypatch.setattr(symbolic_module, "run_with_budget", counting)
    monkeypatch.setattr(kinks_module, "run_with_budget", counting)
    symbolic_module._cache.clear()
    kinks_module._roots_cache.clear()
    return calls


def test_expansion_bound_counts_terms():
    assert expansion_bound(x) == 1
    assert expansion_bound((x + y) ** 2) >= 4
    assert expansion_bound(sp.sin((x + 1) ** 3)) >= 8  # the argument is expanded too
    assert expansion_bound((x + y + 1) ** 40) > IN_PROCESS_TERMS
    assert expansion_bound(sp.Mul(*[x + i for i in range(20)])) > IN_PROCESS_TERMS


def test_an_expandable_zero_is_decided_in_process(no_child):
    d = (x + 1) ** 3 - (x**3 + 3 * x**2 + 3 * x + 1)
    outcome = decide_zero([d], timeout=5.0)
    assert outcome.zero is True and outcome.method == "expand"
    # u**(a - 1) against u**a/u (how two rules may write a power's derivative)
    u = sp.sin(x) + 2
    d = u ** (sp.tanh(y) - 1) * sp.cos(x) - u ** sp.tanh(y) * sp.cos(x) / u
    assert decide_zero([d], timeout=5.0).method == "powsimp and expand"
    d = 1 / (x + 1) + 1 / (x - 1) - 2 * x / (x**2 - 1)
    assert decide_zero([d], timeout=5.0).zero is True


def test_a_non_zero_difference_still_goes_to_the_child(children):
    outcome = decide_zero([(x + 1) ** 2 - (x**2 + 1)], timeout=20.0)
    assert outcome.zero is False and children == ["_reduce_all"]
    outcome = decide_zero([sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1], timeout=20.0)
    assert outcome.zero is True and outcome.method == "simplify"
    assert children == ["_reduce_all", "_reduce_all"]


def test_an_expansion_too_large_is_not_tried_here(children):
    d = (x + y + 1) ** 40 - (1 + x + y) ** 40  # structurally 0 once SymPy orders it
    assert decide_zero([d], timeout=20.0).zero is True
    big = (x + y + 1) ** 40 - sp.expand((x + y + 1) ** 40) + sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1
    assert expansion_bound(big) > IN_PROCESS_TERMS
    decide_zero([big], timeout=0.5)
    assert children  # the child ran it (in its budget), not this process


def test_outcomes_are_remembered(children):
    d = sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1
    first = decide_zero([d], timeout=20.0)
    again = decide_zero([d], timeout=20.0)
    assert first == again and first.zero is True and len(children) == 1
    wrong = (x + 1) ** 2 - (x**2 + 1)
    assert decide_zero([wrong], timeout=20.0).zero is False
    assert decide_zero([wrong], timeout=20.0).zero is False and len(children) == 2


def test_a_residual_the_pipe_cannot_carry_is_the_difference_itself(children, monkeypatch):
    # a catalogue function does not survive pickling: the outcome is still "not zero"
    # (with the unreduced difference), not "ran out of budget"
    gelu = parse("gelu(x)")
    assert symbolic_module._sendable(gelu) is None
    monkeypatch.setattr(symbolic_module, "_reduce", lambda d, t, seconds, kinks: (False, gelu, "s"))
    d = gelu - parse("swish(x)")
    outcome = decide_zero([d], timeout=20.0)
    assert outcome.zero is False and outcome.residuals == (d,)


def test_wrong_claims_stay_refuted():
    u = sp.sin(x) + 2
    wrong = [
        ((x + 1) ** 3, x**3 + 3 * x**2 + 3 * x),  # a missing term
        (u ** (sp.tanh(y) - 1), u ** sp.tanh(y) * u),  # exponent off by two
        (1 / (x + 2), 1 / (x - 2)),  # a sign slip
    ]
    for lhs, rhs in wrong:
        assert check_identity(lhs, rhs, points=4, timeout=10.0).verdict == "refuted"


def test_linear_kinks_are_solved_exactly_in_process(no_child):
    assert kink_roots([x - 3, 2 * x + 1], x, timeout=1.0) == [3, sp.Rational(-1, 2)]
    assert kink_roots([3 - x], x, timeout=1.0) == [3]  # -e is e's kink
    assert kink_roots([x - 3, 3 - x], x, timeout=1.0) == [3]


def test_other_kinks_are_solved_in_a_child_once(children):
    first = kink_roots([x**2 - 4, x - 1], x, timeout=20.0)
    assert sorted(first) == [-2, 1, 2] and children == ["_each_roots"]
    assert kink_roots([4 - x**2], x, timeout=20.0) == [-2, 2] and len(children) == 1
    assert kink_roots([sp.sin(x)], x, timeout=20.0) == []  # infinitely many: none listed


def test_a_kink_search_that_fails_is_not_remembered(monkeypatch):
    kinks_module._roots_cache.clear()

    def failing(*args, **kwargs):
        raise SymdlError("out of budget")

    monkeypatch.setattr(kinks_module, "run_with_budget", failing)
    with pytest.raises(SymdlError):
        kink_roots([x**2 - 2], x, timeout=1.0)
    assert not kinks_module._roots_cache


def test_a_method_sympy_fails_on_decides_nothing():
    # SymPy's simplify raises "nan is not comparable" on this Piecewise of max: the next
    # method is tried, and the outcome is "not reduced", never an error or a proof
    m = parse("mish(x/2)") / 5
    held = sp.Max(x, m) > 0
    d = sp.Piecewise((sp.Max(0, x, m), held), (0, True)) - sp.Piecewise((x, held), (0, True))
    outcome = decide_zero([d], timeout=30.0)
    assert outcome.zero is not True
    assert outcome.zero is False or "nan" not in outcome.reason
