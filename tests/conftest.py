"""Shared test configuration: hypothesis profiles.

``default`` is quick for local runs; ``ci`` is thorough and is what ``.ci/run`` selects
(``HYPOTHESIS_PROFILE=ci``). Deadlines are off because a symbolic check legitimately
takes longer on its first call (SymPy caches warm up).
"""

import os

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
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
