"""The soundness corpus (benchmarks/soundness.py): no false verdict on any claim.

Each claim's truth was decided by hand; symdl must never pass a false claim nor refute a
true one. ``undecided`` is allowed (and counted by the benchmark for the README).
"""

from __future__ import annotations

import pytest

from benchmarks.soundness import corpus, outcome

CORPUS = corpus()


def test_the_corpus_is_large_and_balanced():
    assert len(CORPUS) >= 200
    true = sum(c.true for c in CORPUS)
    assert true >= 60 and len(CORPUS) - true >= 120
    assert {c.family for c in CORPUS} == {"activation", "loss", "matrix", "identity"}
    assert len({(c.family, c.label) for c in CORPUS}) == len(CORPUS)


@pytest.mark.slow
@pytest.mark.parametrize("claim", CORPUS, ids=[f"{c.family}: {c.label}" for c in CORPUS])
def test_no_false_verdict(claim):
    verdict = claim.check()
    assert outcome(claim, verdict) in ("ok", "undecided"), (
        f"{'true' if claim.true else 'false'} claim got {verdict}"
    )
