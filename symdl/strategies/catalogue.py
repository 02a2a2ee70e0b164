"""Strategies over the catalogue: activations, losses, and safe points of a function."""

from __future__ import annotations

from functools import cache

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from symdl.catalog.activations import ACTIVATIONS
from symdl.catalog.entry import Activation, Loss
from symdl.catalog.losses import LOSSES
from symdl.errors import SymdlError
from symdl.strategies._validate import _check_type
from symdl.verify.safe_regions import safe_regions

__all__ = ["activations", "losses", "points"]


@cache
def _has_kinks(name: str) -> bool:
    from symdl.catalog.properties import establish_kinks

    return bool(establish_kinks(ACTIVATIONS.get(name).at()[0]).value)


def activations(
    *, vector: bool = False, kinks: bool | None = None
) -> st.SearchStrategy[Activation]:
    """Catalogue activations: scalar ones (``vector=False``) or vector maps (softmax, …).

    ``kinks=True`` keeps the activations with an established kink (ReLU, hard tanh, …),
    ``kinks=False`` the ones without, ``None`` all of them.
    """
    _check_type(bool, vector, "vector")
    if kinks is not None:
        _check_type(bool, kinks, "kinks")
        if vector:
            raise InvalidArgument("kinks= applies to scalar activations (vector=False)")
    entries = [
        a
        for a in ACTIVATIONS
        if a.vector == vector and (kinks is None or _has_kinks(a.name) == kinks)
    ]
    return st.sampled_from(entries)


def losses(*, vector: bool | None = None) -> st.SearchStrategy[Loss]:
    """Catalogue losses: scalar (``vector=False``), vector (``True``) or both (``None``)."""
    if vector is not None:
        _check_type(bool, vector, "vector")
    return st.sampled_from([loss for loss in LOSSES if vector is None or loss.vector == vector])


# ---- points ------------------------------------------------------------------------------


def points(
    target: object,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    avoid_kinks: bool = True,
    margin: float = 0.05,
) -> st.SearchStrategy[float]:
    """Finite floats where ``target`` (an activation, its name, or one-variable text) is
    safe to differentiate: inside its domain and at least ``margin`` away from every domain
    edge and pole, and from every kink unless ``avoid_kinks=False``.

    The kinks and the domain are read off the entry's expression, so ReLU's points keep
    away from 0 and ``log(x)``'s stay above ``margin``.
    """
    _check_type(bool, avoid_kinks, "avoid_kinks")
    try:
        regions = safe_regions(
            target,
            min_value=min_value,
            max_value=max_value,
            margin=margin,
            avoid_kinks=avoid_kinks,
        )
    except (SymdlError, ValueError, TypeError) as err:
        raise InvalidArgument(str(err)) from err
    if not regions.intervals:
        raise InvalidArgument(
            f"no float in [{min_value}, {max_value}] is inside the domain of {regions.expr} "
            f"and {margin} away from {[str(p) for p in regions.avoided]}"
        )
    return st.one_of(
        *(
            st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False)
            for lo, hi in regions.intervals
        )
    )
