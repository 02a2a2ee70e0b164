"""Identities with |a|, sign, max, min, heaviside and Piecewise-held cases, proved by sign
cases (symdl.verify.sign_cases): right claims proved, kinks included; wrong ones — wrong
only at the kink, off by a sign in one case, impossible combinations — never."""

from __future__ import annotations

import pytest
import sympy as sp

from symdl.parse import parse
from symdl.verify.sign_cases import MAX_CASES, zero_by_cases
from symdl.verify.symbolic import decide_zero

x = sp.Symbol("x", real=True)
y = sp.Symbol("y", real=True)
H = sp.Rational(1, 2)
P = sp.Piecewise

TRUE = [
    (sp.Abs(x) * sp.sign(x), x),
    (sp.sign(x) ** 3, sp.sign(x)),
    # softsign' as the differentiator writes it, against the catalogue's form
    ((1 - x * sp.sign(x) + sp.Abs(x)) / (1 + sp.Abs(x)) ** 2, 1 / (1 + sp.Abs(x)) ** 2),
    (sp.Max(x, 0), (x + sp.Abs(x)) / 2),
    (sp.Max(x, y) - sp.Min(x, y), sp.Abs(x - y)),
    (sp.Heaviside(x), (1 + sp.sign(x)) / 2),  # heaviside(0) = 1/2 = (1 + sign 0)/2
    (sp.Heaviside(x - y) + sp.Heaviside(y - x), 1),
    (sp.Heaviside(x, 1) + sp.Heaviside(-x, 0), 1),
    # a case of the min rule, held to where it applies
    (P((x, x < H), (0, True)), P((sp.Min(H, x), x < H), (0, True))),
    (P((x, x <= H), (0, True)), P((sp.Min(H, x), x <= H), (0, True))),
    (P((x, x > sp.sin(y)), (0, True)), P((sp.Max(sp.sin(y), x), x > sp.sin(y)), (0, True))),
    (parse("softsign(x)") * (1 + sp.Abs(x)), x),  # a catalogue function, written out
    (sp.Heaviside(sp.erfc(x) + 3), 1),  # positive everywhere: one case
    (sp.Heaviside((x + 4) ** 2 - x), 1),  # a polynomial without a real root
]

WRONG = [
    (sp.Abs(x), x),  # wrong for x < 0
    (sp.Abs(x) * sp.sign(x), -x),
    (sp.sign(x) ** 2, 1),  # wrong only at the kink x = 0
    (sp.Heaviside(x, 0) + sp.Heaviside(-x, 0), 1),  # wrong only at the kink
    (sp.Heaviside(x - y) * sp.Heaviside(y - x), 0),  # 1/4 where x = y
    ((1 + x * sp.sign(x) + sp.Abs(x)) / (1 + sp.Abs(x)) ** 2, 1 / (1 + sp.Abs(x)) ** 2),
    (sp.Max(x, y), x),
    (sp.Max(x, y) - sp.Min(x, y), x - y),
    (P((H, x < H), (0, True)), P((sp.Min(H, x), x < H), (0, True))),  # the other case's value
    (P((x, x < H), (0, True)), P((sp.Max(H, x), x < H), (0, True))),  # max for min
]


@pytest.mark.parametrize(("lhs", "rhs"), TRUE, ids=str)
def test_true_identities_are_proved_by_cases(lhs, rhs):
    assert zero_by_cases(lhs - rhs) is not None
    outcome = decide_zero([lhs - rhs], timeout=20.0)
    assert outcome.zero is True, outcome


@pytest.mark.parametrize(("lhs", "rhs"), WRONG, ids=str)
def test_wrong_identities_are_never_proved(lhs, rhs):
    assert zero_by_cases(lhs - rhs) is None
    assert decide_zero([lhs - rhs], timeout=20.0).zero is not True


def test_the_method_counts_the_cases():
    assert zero_by_cases(sp.Abs(x) * sp.sign(x) - x) == "sign cases (3)"
    # a case that is 0 as soon as x is decided does not split on y
    assert zero_by_cases(sp.Abs(x) * sp.sign(y) - x * sp.sign(x) * sp.sign(y)) == "sign cases (3)"
    two = sp.Max(x, y) * sp.sign(x) - sp.Max(x, y) * sp.Abs(x) / x
    # three cases of x, each three of x - y (max written with |x - y|); as every check, on
    # the domain where both sides are defined (x ≠ 0 for |x|/x)
    assert zero_by_cases(two) == "sign cases (9)"


def test_nothing_to_split_is_no_proof():
    assert zero_by_cases(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1) is None  # no atoms: not its job
    assert zero_by_cases(sp.DiracDelta(x) * sp.sign(x)) is None  # distributions: refused
    assert zero_by_cases(sp.Abs(x) - x, seconds=0) is None


def test_too_many_cases_give_up():
    # five independent arguments need 3**5 > MAX_CASES cases
    syms = sp.symbols("a:e", real=True)
    assert 3 ** len(syms) > MAX_CASES
    d = sum(sp.Abs(s) * sp.sign(s) - s for s in syms)
    assert zero_by_cases(d) is None


# -- away from the kinks -------------------------------------------------------------------

# true wherever no argument is 0, false at a kink (or proved everywhere anyway)
OFF_KINKS_TRUE = [
    # cases that cannot occur, ruled out by what the enclosing cases decided
    (sp.Heaviside(sp.cos(y)) * sp.Heaviside(x) * sp.Heaviside(-x - sp.cos(y)), 0),
    (sp.Heaviside(x, 0), sp.Heaviside(x)),  # two conventions for the value at 0
    (sp.sign(x) ** 2, 1),
    (sp.Heaviside(x, 0) + sp.Heaviside(-x, 0), 1),
    (sp.Heaviside(x - y) * sp.Heaviside(y - x), 0),
    # a combination that cannot occur: 2x < 0 where x > 0
    (sp.Heaviside(x) * sp.Heaviside(2 * x), sp.Heaviside(x, 0)),
    (sp.Heaviside(x) * sp.Heaviside(x + 1), sp.Heaviside(x, 1)),
    # SymPy's derivative of max(x, 0, 2x) against the pairwise rule's
    (
        sp.Heaviside(x - sp.Max(0, 2 * x)) + 2 * sp.Heaviside(2 * x - sp.Max(0, x)),
        (sp.Heaviside(-x) + 2 * sp.Heaviside(x)) * sp.Heaviside(sp.Max(x, 2 * x)),
    ),
]

# wrong on a whole region, so wrong away from the kinks too
OFF_KINKS_WRONG = [
    (sp.Abs(x), x),
    (sp.Abs(x) * sp.sign(x), -x),  # sign flipped
    (sp.Heaviside(x), sp.Heaviside(-x)),  # the cases swapped
    (sp.Max(x, y), x),
    (2 * sp.Heaviside(x, 0), sp.Heaviside(x)),  # off by a factor
    (sp.Heaviside(x) * sp.Heaviside(x - 1), sp.Heaviside(x)),  # wrong for 0 < x < 1
    (sp.Abs(x + 1), x + 1),  # the linear substitution keeps x < -1
    (sp.Heaviside(x) * x, sp.Heaviside(x - 1) * x),
    (sp.Heaviside(x) * sp.Heaviside(x**2 - 1), sp.Heaviside(x)),  # wrong for 0 < x < 1
    (sp.Heaviside(x) * sp.Heaviside(x**3 / (x + 1) - H), sp.Heaviside(x - H)),
    (sp.Heaviside(sp.erfc(x) - 1), 1),  # erfc(x) < 1 for x > 0
]


@pytest.mark.parametrize(("lhs", "rhs"), OFF_KINKS_TRUE, ids=str)
def test_identities_true_off_the_kinks_are_proved_there_only(lhs, rhs):
    method = zero_by_cases(lhs - rhs, kinks=False)
    assert method is not None
    assert method.startswith("sign cases away from kinks")
    assert zero_by_cases(lhs - rhs) is None  # not at the kinks
    outcome = decide_zero([lhs - rhs], timeout=20.0, kinks=False)
    assert outcome.zero is True and "away from kinks" in outcome.method
    assert decide_zero([lhs - rhs], timeout=20.0).zero is not True


@pytest.mark.parametrize(("lhs", "rhs"), OFF_KINKS_WRONG, ids=str)
def test_identities_wrong_on_a_region_are_never_proved_off_the_kinks(lhs, rhs):
    assert zero_by_cases(lhs - rhs, kinks=False) is None
    assert decide_zero([lhs - rhs], timeout=20.0, kinks=False).zero is not True


def test_a_zero_case_that_cannot_occur_leaves_an_identity_true_at_the_kinks_too():
    # x³/(x + 1) < 1/12 on (0, 1/2): the third factor's zero case is empty there, and at
    # x = 0 and x = 1/2 the third factor is H(negative) = 0
    d = sp.Heaviside(x) * sp.Heaviside(H - x) * sp.Heaviside(x**3 / (x + 1) - H)
    method = zero_by_cases(d)
    assert method is not None and method.startswith("sign cases (") and "empty" in method
    assert zero_by_cases(d + sp.Heaviside(x) * sp.Heaviside(H - x) * (x - H) ** 2) is None


def test_an_argument_identically_zero_keeps_its_zero_case():
    # a = sin²x + cos²x − 1 is 0 everywhere: leaving out "a = 0" would leave out every x
    a = sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1
    d = sp.Heaviside(a) - sp.Heaviside(a) ** 2  # 0 where a ≠ 0, 1/4 where a = 0
    assert zero_by_cases(d, kinks=False) is None


def test_excluding_kinks_leaves_identities_true_everywhere_proved():
    assert decide_zero([sp.Abs(x) * sp.sign(x) - x], timeout=20.0, kinks=False).zero is True
