"""Random layer stacks (symdl.strategies.networks): the generated backward of every drawn
network matches finite differences of its generated forward."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from symdl.derive.backprop import backprop
from symdl.derive.backprop_check import check_network_code
from symdl.derive.network_text import parse_network
from symdl.strategies.networks import networks


def _judge(text: str, seed: int) -> None:
    res = backprop(text)
    for label, report in check_network_code(res, seed=seed):
        # a kink (ReLU at 0, a max-pooling tie) within the finite-difference step, or a
        # gradient that vanishes identically (a shift before batch norm), are the only
        # reasons not to be verified, and they must be reported as such, never refuted
        vanishing = any("vanishes identically" in note for note in report.notes)
        assert report.verdict == "verified" or (
            report.verdict == "undecided" and (report.kinks or vanishing)
        ), f"{text}\n{label}\n{report}"


#: each example compiles a network and runs finite differences (~0.25 s): a third of the
#: profile's examples keeps the file under a minute on the quick profile
FEWER = settings(max_examples=max(10, settings().max_examples // 3))


@FEWER
@given(networks(max_depth=5, heads=False), st.integers(0, 2**16))
def test_random_vector_stacks_match_finite_differences(text, seed):
    _judge(text, seed)


@FEWER
@given(networks(max_depth=3), st.integers(0, 2**16))
def test_random_stacks_with_any_registered_head_match_finite_differences(text, seed):
    _judge(text, seed)


@given(networks(max_depth=6, max_width=4))
def test_drawn_networks_parse_and_end_with_a_loss(text):
    net = parse_network(text)
    assert net.loss is not None
    assert len(net.items) >= 1


@given(networks(kinds=["dense", "tanh", "mse"], max_depth=4, heads=False))
def test_kinds_restrict_the_draw(text):
    assert set(re.findall(r"[A-Za-z_]\w*", text)) <= {"input", "residual", "dense", "tanh", "mse"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_depth": -1},
        {"max_depth": 1.5},
        {"max_width": 0},
        {"kinds": "dense"},
        {"kinds": ["dense", "relux"]},
        {"kinds": ["dense", "relu"]},
        {"heads": 1},
        {"residual": None},
    ],
)
def test_bad_arguments_are_invalid_argument(kwargs):
    with pytest.raises(InvalidArgument):
        networks(**kwargs).example()
