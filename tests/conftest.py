"""Shared test configuration: hypothesis profiles.

``default`` is quick for local runs and draws new examples each time; ``ci`` is thorough,
derandomized (the same examples on every run) and is what ``.ci/run`` selects
(``HYPOTHESIS_PROFILE=ci``). Deadlines are off because a symbolic check legitimately
takes longer on its first call (SymPy caches warm up).
"""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    # the same examples on every run, so a landing gate is reproducible; the default
    # profile keeps exploring new examples on every local run
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True, scope="session")
def _private_cache_home(tmp_path_factory):
    """Tests never write to the user's ~/.cache (the proof runner caches results there)."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache-home"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before
