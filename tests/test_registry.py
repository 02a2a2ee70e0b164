from dataclasses import dataclass

import pytest

from symdl.errors import UnknownNameError
from symdl.registry import Registry


@dataclass(frozen=True)
class Thing:
    name: str


def test_add_get_and_order():
    things = Registry[Thing]("thing")
    for n in ("relu", "gelu", "tanh"):
        things.add(Thing(n))
    assert things.names() == ("relu", "gelu", "tanh")
    assert things.get("gelu") == Thing("gelu")
    assert "tanh" in things and "elu" not in things
    assert len(things) == 3 and [t.name for t in things] == ["relu", "gelu", "tanh"]


def test_unknown_name_suggests_close_matches():
    things = Registry[Thing]("activation")
    things.add(Thing("gelu"))
    expected = r"no activation named 'gleu'; did you mean 'gelu'\?"
    with pytest.raises(UnknownNameError, match=expected):
        things.get("gleu")
    with pytest.raises(UnknownNameError, match=r"^no activation named 'zzz'$"):
        things.get("zzz")


def test_duplicate_names_are_refused():
    things = Registry[Thing]("thing")
    things.add(Thing("a"))
    with pytest.raises(ValueError, match="already registered"):
        things.add(Thing("a"))
