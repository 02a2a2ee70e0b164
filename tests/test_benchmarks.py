"""Smoke tests of the benchmark harness on its tiny configuration, peers absent.

They check that every benchmark runs, writes JSON and Markdown stamped with the machine
and date, that a missing peer reads "not installed", and that the measuring apparatus is
right (the reference gradients, the planted bugs). No timings are asserted.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import accuracy_suite, peers
from benchmarks.__main__ import BENCHMARKS, main
from benchmarks.accuracy_suite import cases, reference
from benchmarks.bug_problem import BUGS, CORRECT, Problem
from benchmarks.config import Config
from benchmarks.peers_accuracy import relative_errors
from benchmarks.table import Table


@pytest.fixture
def no_peers(monkeypatch):
    real, real_spec = peers._load, peers._load_spec
    absent = ("torch", "jax", "numdifftools")
    monkeypatch.setattr(peers, "_load", lambda name: None if name in absent else real(name))
    monkeypatch.setattr(peers, "_load_spec", lambda name: name not in absent and real_spec(name))


def test_every_benchmark_runs_quick_and_writes_stamped_results(tmp_path, capsys, no_peers):
    assert main(["--quick", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    for name in BENCHMARKS:
        payload = json.loads((tmp_path / f"{name}.json").read_text())
        assert payload["machine"] and payload["date"].endswith("UTC")
        assert payload["tables"] and all(t["rows"] for t in payload["tables"])
        markdown = (tmp_path / f"{name}.md").read_text()
        assert payload["date"] in markdown and "|---|" in markdown
    assert "not installed" in printed


def test_absent_peers_read_not_installed(no_peers):
    from benchmarks import peers_bugs

    (table,) = peers_bugs.run(Config(quick=True))
    column = {name: i for i, name in enumerate(table.header)}
    for row in table.rows:
        assert row[column["torch gradcheck"]] == "not installed"
        assert row[column["jax check_grads rev"]] == "not installed"
        assert row[column["numdifftools"]] == "not installed"
    assert peers.versions().keys() == {"scipy"}


def test_symdl_flags_every_planted_bug_and_no_correct_gradient(no_peers):
    from benchmarks import peers_bugs

    (table,) = peers_bugs.run(Config(quick=True))
    rows = {row[0]: row for row in table.rows}
    symdl = table.header.index("symdl gradcheck")
    sampled = table.header.index("symdl sampled")
    for bug in BUGS:
        assert rows[bug][symdl] == rows[bug][sampled] == "1/1", bug
    for correct in CORRECT:
        assert rows[correct][symdl] == rows[correct][sampled] == "0/1", correct


@pytest.mark.parametrize("kind", BUGS)
def test_each_planted_bug_changes_the_gradient(kind):
    problem = Problem(4, seed=3)
    right = problem.grad(problem.W)
    wrong = problem.claim(kind)(problem.W)
    assert wrong.shape == right.shape
    assert np.max(np.abs(wrong - right)) > 1e-7 * np.max(np.abs(right))


def test_the_problem_gradient_is_right_by_central_differences():
    problem = Problem(3, seed=1)
    h = 1e-6
    fd = np.zeros_like(problem.W)
    for index in np.ndindex(problem.W.shape):
        e = np.zeros_like(problem.W)
        e[index] = h
        fd[index] = (problem.loss(problem.W + e) - problem.loss(problem.W - e)) / (2 * h)
    np.testing.assert_allclose(problem.grad(problem.W), fd, rtol=1e-6, atol=1e-9)
    assert problem.grad(problem.W.astype(np.float32)).dtype == np.float32


def test_the_reference_gradient_matches_a_closed_form():
    r"""∇ Σ c ⊙ softmax(x) = p ⊙ (c − ⟨p, c⟩), p = softmax(x)."""
    (case,) = [c for c in cases() if c.name.startswith("Σ c ⊙ softmax")]
    x, c = case.theta, accuracy_suite._CS
    p = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    closed = p * (c - np.dot(p, c))
    assert np.max(relative_errors(reference(case), closed)) < 1e-14
    assert np.max(relative_errors(reference(case), closed[::-1])) > 1e-2


def test_relative_errors_judge_tiny_entries_against_the_gradient_scale():
    truth = np.array([1.0, 1e-12])
    assert relative_errors(np.array([1.0, 2e-12]), truth)[1] == pytest.approx(1e-9)
    assert relative_errors(np.array([-1.0, 1e-12]), truth)[0] == pytest.approx(2.0)


def test_unknown_benchmark_and_bad_trials_are_usage_errors(capsys):
    with pytest.raises(SystemExit):
        main(["no_such_benchmark"])
    assert "no benchmark named 'no_such_benchmark'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["peers_bugs", "--trials", "0"])


def test_table_markdown_carries_the_stamp():
    table = Table("t", "A title", ("a", "b"), (("1", "2"),), ("a note",))
    text = table.markdown({"machine": "M", "date": "D", "peers": "P"})
    assert text.splitlines()[:3] == ["### A title", "", "*M; D; peers: P*"]
    assert "| 1 | 2 |" in text and "- a note" in text


def test_the_accuracy_suite_is_the_same_on_every_call():
    first, second = cases(quick=True), cases(quick=True)
    assert [c.name for c in first] == [c.name for c in second]
    assert all(np.array_equal(a.theta, b.theta) for a, b in zip(first, second))
