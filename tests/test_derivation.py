"""Derivations of the acceptance list: every step checked, the canonical result reached,
golden LaTeX (``SYMDL_UPDATE_GOLDEN=1 pytest tests/test_derivation.py`` rewrites it), and
a deliberately broken step marked failed by verification and by every renderer."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest
import sympy as sp

from symdl.catalog import ACTIVATIONS
from symdl.catalog.entry import X
from symdl.derivation import Derivation, Step, mathematical_verdict
from symdl.derive.steps import derive
from symdl.errors import ShapeError, SymdlError
from symdl.nodes import sigmoid

GOLDEN = Path(__file__).parent / "golden" / "derivations"

x = sp.Symbol("x", real=True)
z = sp.Symbol("z", real=True)
y = sp.Symbol("y", real=True)


def _canonical(name: str) -> sp.Expr:
    return ACTIVATIONS.get(name).at()[1].xreplace({X: x})


#: name → (expression, variable, the derivative in the form the derivation must reach)
ACCEPTANCE = {
    "sigmoid": ("sigmoid(x)", "x", _canonical("sigmoid")),
    "tanh": ("tanh(x)", "x", _canonical("tanh")),
    "relu": ("relu(x)", "x", sp.Heaviside(x)),
    "gelu": ("gelu(x)", "x", _canonical("gelu")),
    "mish": ("mish(x)", "x", _canonical("mish")),
    "softplus": ("softplus(x)", "x", _canonical("softplus")),
    "x_pow_x": ("x**x", "x", x**x * (sp.log(x) + 1)),
    "bce_logits": (
        "-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))",
        "z",
        sigmoid(z) - y,
    ),
}


@pytest.fixture(scope="module")
def checked() -> dict[str, Derivation]:
    return {name: derive(text, wrt).verify() for name, (text, wrt, _) in ACCEPTANCE.items()}


@pytest.mark.parametrize("name", ACCEPTANCE)
def test_every_step_checks_and_the_result_is_canonical(checked, name):
    d = checked[name]
    assert d.sound, d.text()
    assert d.verdict == "proved"
    assert all(s.status == "proved" for s in d.steps)
    assert all(c.status == "proved" for s in d.steps for c in s.cases)
    assert d.final is not None and mathematical_verdict(d.final) == "proved"
    assert not d.fallbacks
    want = ACCEPTANCE[name][2]
    assert sp.simplify(d.result - want) == 0
    assert d.result == want or name in ("gelu",), d.result  # the canonical form itself


@pytest.mark.parametrize("name", ACCEPTANCE)
def test_latex_matches_golden_file(checked, name):
    path = GOLDEN / f"{name}.tex"
    text = checked[name].latex(standalone=True)
    if os.environ.get("SYMDL_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with SYMDL_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")


def test_lines_are_chained(checked):
    for d in checked.values():
        assert d.steps[0].before == sp.Derivative(d.expr, d.wrt)
        for a, b in zip(d.steps, d.steps[1:]):
            assert a.after == b.before
        assert d.steps[-1].after == d.result
        assert not d.result.has(sp.Derivative)


def test_relu_has_two_cases_and_the_kink(checked):
    (step,) = [s for s in checked["relu"].steps if s.cases]
    assert step.rule == "ReLU, case by case"
    assert [c.condition for c in step.cases] == [x > 0, x < 0]
    assert all(c.status == "proved" for c in step.cases)
    assert len(step.kinks) == 1 and "not differentiable" in step.kinks[0]
    text = checked["relu"].text()
    assert "case x > 0" in text and "case x < 0" in text and "kink" in text


def test_named_rules_appear(checked):
    rules = {name: [s.rule for s in d.steps] for name, d in checked.items()}
    assert rules["sigmoid"][0] == "definition of sigmoid"
    assert rules["sigmoid"][-1] == "definition of the sigmoid"
    assert "quotient rule" in rules["tanh"]
    assert rules["x_pow_x"][0] == "logarithmic differentiation"
    assert "derivative of the softplus" in rules["mish"]
    assert "chain rule with the derivative of the hyperbolic tangent" in rules["mish"]
    assert "chain rule with the derivative of the error function" in rules["gelu"]
    assert "derivative of the sigmoid" in rules["bce_logits"]
    chain = [s for s in checked["gelu"].steps if s.rule.startswith("chain rule")]
    assert chain[0].bindings == (("u", sp.sqrt(2) * x / 2),)


# ---- a broken step is marked failed, and the derivation is never shown as sound ---------


def _break(d: Derivation, index: int, wrong: sp.Basic) -> Derivation:
    steps = list(d.steps)
    steps[index] = replace(steps[index], after=wrong, check=None)
    return replace(d, steps=tuple(steps), final=None)


@pytest.fixture(scope="module")
def broken() -> Derivation:
    d = derive("softplus(x)", "x")
    # "divide by e^x" claims 2/(1 + e^{-x}): off by a factor of 2
    i = [s.rule for s in d.steps].index("divide numerator and denominator by e^x")
    return _break(d, i, 2 / (1 + sp.exp(-x))).verify()


def test_a_wrong_step_is_refuted_and_marked(broken):
    assert not broken.sound
    assert broken.verdict == "refuted"
    assert broken.failed_steps == (5, 6)  # 6 starts from a line 5 no longer reaches
    assert broken.steps[4].status == "failed"
    assert broken.steps[4].check is not None and broken.steps[4].check.line.verdict == "refuted"
    assert all(s.status == "proved" for s in broken.steps[:4])
    assert broken.steps[4].problem == "its check refuted it"


def test_a_step_that_does_not_continue_the_line_fails():
    d = derive("softplus(x)", "x")
    i = [s.rule for s in d.steps].index("divide numerator and denominator by e^x")
    steps = list(d.steps)
    # a true step, but it starts from a line the derivation never reached
    steps[i] = replace(steps[i], before=2 * steps[i].before, after=2 * steps[i].after)
    bad = replace(d, steps=tuple(steps)).verify()
    assert bad.steps[i].check.verdict == "proved"
    assert bad.steps[i].status == "failed" and bad.steps[i].detached
    assert bad.steps[i].problem == "does not continue the previous line"
    assert bad.failed_steps == (i + 1, i + 2) and not bad.sound


def test_renderers_show_the_failed_step(broken):
    text = broken.text()
    assert "NOT SOUND" in text and "✗ FAILED" in text
    assert "every step and the final claim checked" not in text
    latex = broken.latex(standalone=True)
    assert r"\textbf{FAILED}" in latex and "NOT SOUND" in latex
    md = broken.markdown()
    assert "NOT SOUND" in md and "**✗ FAILED**" in md
    page = broken.html()
    assert 'class="verdict unsound"' in page and '<tr class="failed">' in page
    assert broken._repr_latex_().count(r"\textbf{FAILED}") == 2  # steps 5 and 6
    assert "NOT SOUND" in broken._repr_markdown_()


def test_a_wrong_rule_claim_fails_even_when_the_line_is_right():
    d = derive("x*sin(x)", "x")
    steps = list(d.steps)
    target, value = steps[0].claim
    steps[0] = replace(steps[0], claim=(target, 2 * value))  # the rule's own claim, doubled
    bad = replace(d, steps=tuple(steps)).verify()
    assert bad.steps[0].check.line.verdict == "proved"
    assert bad.steps[0].check.claim.verdict == "refuted"
    assert bad.steps[0].status == "failed" and not bad.sound


def test_a_wrong_case_fails_the_step():
    d = derive("relu(x)", "x")
    (step,) = [s for s in d.steps if s.cases]
    wrong_case = replace(step.cases[1], after=sp.Derivative(x, x))  # "ReLU(x) = x for x < 0"
    fixed = replace(step, cases=(step.cases[0], wrong_case))
    bad = replace(d, steps=(fixed, *d.steps[1:])).verify()
    assert bad.steps[0].cases[1].status == "failed"
    assert bad.steps[0].status == "failed" and not bad.sound


def test_a_wrong_final_result_is_not_sound():
    d = derive("sigmoid(x)", "x")
    last = d.steps[-1]
    wrong = sigmoid(x) * (1 + sigmoid(x))  # sign slip in the last step
    bad = replace(d, steps=(*d.steps[:-1], replace(last, after=wrong)), result=wrong).verify()
    assert bad.final is not None and bad.final.verdict == "refuted"
    assert bad.failed_steps == (len(d.steps),) and not bad.sound


def test_unchecked_is_never_sound():
    d = derive("x**2", "x")
    assert d.verdict == "unchecked" and not d.sound and not d.checked
    assert "UNCHECKED" in d.text()
    assert "Unchecked" in d.latex()
    assert all(s.status == "unchecked" for s in d.steps)


def test_jupyter_reprs():
    d = derive("x**3", "x").verify()
    assert d._repr_latex_().startswith(r"\begin{align*}")
    assert d._repr_markdown_() == d.markdown()
    assert "$$" in d._repr_markdown_()


def test_bad_input_is_a_clear_error():
    with pytest.raises(ShapeError):
        derive("W @ v", "v")
    with pytest.raises(SymdlError):
        derive("x**2", "2x")
    with pytest.raises(SymdlError):
        derive("x +", "x")


def test_a_step_is_a_frozen_record():
    step = Step("variable rule", r"x' = 1", sp.Derivative(x, x), sp.Integer(1))
    with pytest.raises(AttributeError):
        step.rule = "other"  # type: ignore[misc]


# ---- the softmax Jacobian ----------------------------------------------------------------


@pytest.fixture(scope="module")
def softmax():
    from symdl.derive.steps_softmax import softmax_jacobian

    return softmax_jacobian(n=3).verify(points=4)


def test_softmax_jacobian_entries_are_checked(softmax):
    assert softmax.sound and softmax.verdict == "verified"  # the matrix claim for every n
    assert softmax.diagonal.verdict == "proved" and softmax.off_diagonal.verdict == "proved"
    z1, z2, z3 = (sp.Symbol(f"z{k}", real=True) for k in (1, 2, 3))
    total = sp.exp(z1) + sp.exp(z2) + sp.exp(z3)
    p1, p2 = sp.exp(z1) / total, sp.exp(z2) / total
    assert sp.simplify(softmax.diagonal.result - p1 * (1 - p1)) == 0
    assert sp.simplify(softmax.off_diagonal.result + p1 * p2) == 0
    assert softmax.diagonal.steps[0].rule == "quotient rule"
    assert "J = diag(p) − p pᵀ" in softmax.text()


def test_softmax_jacobian_latex_matches_golden_file(softmax):
    path = GOLDEN / "softmax_jacobian.tex"
    text = softmax.latex(standalone=True)
    if os.environ.get("SYMDL_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_softmax_jacobian_with_a_sign_slip_is_not_sound(softmax):
    off = softmax.off_diagonal
    last = off.steps[-1]
    wrong = -last.after  # +p1 p2 instead of −p1 p2
    bad_off = replace(off, steps=(*off.steps[:-1], replace(last, after=wrong)), result=wrong)
    bad = replace(softmax, off_diagonal=bad_off).verify(points=4)
    assert bad.off_diagonal.failed_steps == (len(off.steps),)
    assert not bad.sound and bad.verdict == "refuted"
    assert "NOT SOUND" in bad.text() and "NOT SOUND" in bad.markdown()


def test_softmax_jacobian_sizes():
    from symdl.derive.steps_softmax import softmax_jacobian

    with pytest.raises(ValueError, match="n must be"):
        softmax_jacobian(n=1)
    assert softmax_jacobian(n=2).verdict == "unchecked"


def test_a_step_the_checker_does_not_support_ends_undecided(monkeypatch):
    import symdl.derivation as derivation_module
    from symdl.errors import UnsupportedError

    def unsupported(*args, **kwargs):
        raise UnsupportedError("no entrywise form for this node")

    monkeypatch.setattr(derivation_module, "check_identity", unsupported)
    report = derivation_module._identity(sp.Symbol("x"), sp.Symbol("x"), {})
    assert report.verdict == "undecided"
    assert "UnsupportedError" in report.notes[0]


def test_an_equality_met_again_is_checked_once(monkeypatch):
    import symdl.derivation as derivation_module

    calls: list[tuple[sp.Basic, sp.Basic]] = []
    real = derivation_module.check_identity

    def counting(lhs, rhs, **options):
        calls.append((lhs, rhs))
        return real(lhs, rhs, **options)

    monkeypatch.setattr(derivation_module, "check_identity", counting)
    d = derive("x*sin(x)**2", "x", simplify=False).verify(points=4)
    assert d.verdict == "proved"
    assert len(calls) == len(set(calls))  # each distinct equality once
    lines = sum(1 + (s.claim is not None) for s in d.steps)
    assert len(calls) < lines  # consecutive lines evaluate to the same equality
    # the reports reused are the very ones the check made: every step still proved
    assert all(s.status == "proved" for s in d.steps)


def test_the_memo_never_hides_a_wrong_step():
    # the same wrong equality met twice is refuted both times, and a right one after it
    # is not confused with it
    wrong = Step("power rule", "", sp.Derivative(x**3, x), 2 * x**2)
    right = Step("power rule", "", sp.Derivative(x**3, x), 3 * x**2)
    memo: dict = {}
    first = wrong.verify(memo=memo, points=4)
    again = wrong.verify(memo=memo, points=4)
    assert first.status == again.status == "failed" and len(memo) == 1
    assert right.verify(memo=memo, points=4).status == "proved" and len(memo) == 2
