"""Searching with hypothesis from plain code (no test runner), and symdl's profiles."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument, NoSuchExample

from symdl.strategies._validate import _check_int

__all__ = ["PROFILES", "counterexample", "load_profile", "register_profiles"]

T = TypeVar("T")

#: Hypothesis profiles for users' suites: ``pytest --symdl-profile=symdl-thorough``.
PROFILES: Mapping[str, Mapping[str, Any]] = {
    "symdl-quick": {"max_examples": 25, "deadline": None},
    "symdl-thorough": {"max_examples": 500, "deadline": None},
}


def register_profiles() -> None:
    """Register :data:`PROFILES` with hypothesis (loading one is the caller's choice)."""
    for name, options in PROFILES.items():
        settings.register_profile(
            name, suppress_health_check=[HealthCheck.too_slow], **dict(options)
        )


def load_profile(name: str) -> None:
    """Register :data:`PROFILES` and load ``name`` (what ``--symdl-profile`` does)."""
    if name not in PROFILES:
        raise InvalidArgument(f"no symdl profile named {name!r}; profiles are {sorted(PROFILES)}")
    register_profiles()
    settings.load_profile(name)


def counterexample(
    strategy: st.SearchStrategy[T],
    fails: Callable[[T], bool],
    *,
    max_examples: int | None = None,
    seed: int | None = 0,
) -> T | None:
    """The minimal (shrunk) value of ``strategy`` for which ``fails`` is true, or ``None``
    when ``max_examples`` draws (default: the active hypothesis profile's) find none.

    Nothing is written to hypothesis's example database; ``seed`` makes the search
    reproducible (``None``: a fresh random search).
    """
    n = settings().max_examples if max_examples is None else max_examples
    _check_int(n, "max_examples", 1, 10**7)
    options = settings(
        max_examples=n,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        # no explain phase: it re-runs the check hundreds of times to annotate a report
        # that symdl writes itself
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )
    rng = random.Random(seed) if seed is not None else None
    try:
        return find(strategy, fails, settings=options, random=rng)
    except NoSuchExample:
        return None
