"""The peers, imported only if installed (``pip install -e ".[bench]"``).

Each accessor returns the module or ``None``; a benchmark whose peer is absent reports
"not installed" in its cells and never fails.
"""

from __future__ import annotations

import importlib
import importlib.util
import warnings
from importlib import metadata
from types import ModuleType

NOT_INSTALLED = "not installed"


def _load(name: str) -> ModuleType | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return importlib.import_module(name)
    except ImportError:
        return None


def torch() -> ModuleType | None:
    module = _load("torch")
    if module is not None:
        module.set_num_threads(1)  # one thread: comparable with NumPy on a shared machine
    return module


def jax() -> ModuleType | None:
    module = _load("jax")
    if module is not None:
        module.config.update("jax_enable_x64", True)  # float64 must mean float64
        module.config.update("jax_platforms", "cpu")
    return module


def numdifftools() -> ModuleType | None:
    return _load("numdifftools")


def versions() -> dict[str, str]:
    """name → version of every peer that is installed (SciPy always is), read from the
    package metadata without importing it: JAX starts threads on import, and symdl's time
    budgets fork."""
    import scipy

    found = {"scipy": scipy.__version__}
    for name in ("torch", "jax", "numdifftools"):
        if _load_spec(name):
            try:
                found[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                found[name] = "?"
    return found


def _load_spec(name: str) -> bool:
    return importlib.util.find_spec(name) is not None
