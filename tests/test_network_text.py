"""Network descriptions in text: the whitelist grammar, shapes, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from symdl.derive.backprop_network import MAX_LAYERS, Layer, Network, Residual
from symdl.derive.layers import LAYERS
from symdl.derive.layers.dense import Activation, Dense
from symdl.derive.network_text import MAX_INT, MAX_NESTING, MAX_TEXT, parse_network
from symdl.errors import ParseError, ShapeError, SymdlError, UnknownNameError


def test_mlp_shapes_and_layers():
    net = parse_network("dense(784,128) | relu | dense(128,10) | softmax_cross_entropy")
    assert net.input_shape == (784,)
    assert net.shapes == ((128,), (128,), (10,), ())
    assert [type(item.block) for item in net.items][:3] == [Dense, Activation, Dense]
    assert net.loss is not None and net.loss.kind == "softmax_cross_entropy"
    assert net.items[0].written == "dense(784,128)" and net.items[2].col == 24


def test_keywords_aliases_and_whitespace():
    net = parse_network("  linear(4, 3, bias=False)\n | tanh |\tdense(3, 2) | mse_loss ")
    first = net.items[0]
    assert isinstance(first, Layer) and first.kwargs == (("bias", False),)
    assert [s.name for s in first.block.parameters((4,))] == ["W"]
    assert net.loss is not None and net.loss.kind == "mse"


def test_input_fixes_the_shape():
    net = parse_network("input(4) | tanh | dense(4, 2) | mse")
    assert net.input_shape == (4,) and net.shapes[0] == (4,)


def test_residual_blocks_nest():
    net = parse_network("dense(8,8) | residual(dense(8,8) | tanh | residual(relu)) | dense(8,3)")
    res = net.items[1]
    assert isinstance(res, Residual) and len(res.branch) == 3
    assert isinstance(res.branch[2], Residual)
    assert net.shapes == ((8,), (8,), (3,)) and net.loss is None


def test_a_network_from_blocks():
    net = Network.build([Dense(3, 2), Activation("relu"), LAYERS.get("mse").build()])
    assert net.input_shape == (3,) and net.shapes[-1] == ()
    assert net.describe() == "input(3) | dense(3, 2) | relu | mse"


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("dense(784,128) | relux", "no layer named 'relux'; did you mean 'relu'"),
        ("dense(4,3) | tanhh | mse", "did you mean 'tanh'"),
        ("Dense(4,3) | mse", "did you mean 'dense'"),
        ("__import__('os')", "no layer named '__import__'"),
    ],
)
def test_unknown_names_suggest(text, wanted):
    with pytest.raises(UnknownNameError) as info:
        parse_network(text)
    assert wanted in str(info.value)
    assert "^" in str(info.value)


def test_shape_mismatch_names_both_layers():
    with pytest.raises(ShapeError) as info:
        parse_network("dense(784,784) | relu | dense(784,64) | dense(128,10)")
    message = str(info.value)
    first = message.splitlines()[0]
    assert first == (
        "layer 4: dense(128, 10) takes vectors of size 128, but layer 3 (dense(784,64)) outputs 64"
    )
    caret_line = message.splitlines()[-1]
    assert caret_line.index("^") - 2 == message.splitlines()[1].index("dense(128,10)") - 2


def test_first_layer_mismatch_with_input():
    with pytest.raises(ShapeError, match="the network's input has shape 5"):
        parse_network("input(5) | dense(4, 3) | mse")


@pytest.mark.parametrize(
    ("text", "error", "wanted"),
    [
        ("dense(3,2) | mse | relu", ShapeError, "mse is a loss at layer 2 of 3"),
        ("dense(3,2) | residual(mse) | mse", ShapeError, "loss inside a residual block"),
        ("dense(3,2) | residual(dense(2,3))", ShapeError, "y = x + F(x) needs them equal"),
        ("relu | dense(3,2)", ShapeError, "does not fix the input shape; start"),
        ("dense(3) | mse", ParseError, "it is written dense(n_in, n_out)"),
        ("dense(0, 3) | mse", ShapeError, "positive integer"),
        ("relu(3) | mse", ParseError, "relu takes no arguments"),
        ("dense(3,2) + relu", ParseError, "layers are joined with |"),
        ("dense(3,2) | input(2) | mse", ParseError, "input(...) can only come first"),
        ("input(3)", ParseError, "no layers after input"),
        ("input(0) | relu", ParseError, "positive integer sizes"),
        ("input(3, x=1) | relu", ParseError, "input(...) takes the per-example sizes"),
        ("residual", ParseError, "residual is written residual(...)"),
        ("residual(relu, tanh)", ParseError, "residual takes one stack"),
        ("dense(3,'2') | mse", ParseError, "arguments are integers"),
        ("dense(3,[2]) | mse", ParseError, "arguments are integers"),
        ("dense(3,2**3) | mse", ParseError, "arguments are integers"),
        ("dense(3,x) | mse", ParseError, "arguments are integers"),
        ("dense(3,None) | mse", ParseError, "arguments are integers"),
        ("dense(3,2,**{'bias': 1}) | mse", ParseError, "keyword arguments are not allowed"),
        ("dense(3,2)(1) | mse", ParseError, "a layer is a name or a call"),
        ("np.dense(3,2) | mse", ParseError, "a layer is a name or a call"),
        ("dense(3,2); import os", ParseError, "not a network description"),
        ("lambda: 0", ParseError, "a layer is a name or a call"),
        ("dense(3,2) | mse | ", ParseError, "not a network description"),
        ("", ParseError, "empty"),
        ("   \n ", ParseError, "empty"),
        ("dense(99999999999, 3) | mse", ParseError, "integers above"),
        ("dense(1e400, 3) | mse", ParseError, "finite"),
        ("dense(3, (1,(2,3))) | mse", ParseError, "arguments are integers"),
    ],
)
def test_bad_descriptions_are_clear_errors(text, error, wanted):
    with pytest.raises(error) as info:
        parse_network(text)
    assert wanted in str(info.value)
    assert isinstance(info.value, SymdlError)


def test_hostile_sizes_and_depths():
    with pytest.raises(ParseError, match=f"nested more than {MAX_NESTING} deep"):
        parse_network("(" * 1000 + "relu" + ")" * 1000)
    deep = "dense(2,2) | " + "residual(" * 20 + "relu" + ")" * 20 + " | mse"
    with pytest.raises(ParseError, match="nested more than"):
        parse_network(deep)
    with pytest.raises(ParseError, match="longer than"):
        parse_network("relu | " * (MAX_TEXT // 7 + 10) + "mse")
    with pytest.raises((ParseError, ShapeError), match="at most"):
        parse_network("dense(2,2) | " + "relu | " * 1000 + "mse")
    with pytest.raises(ShapeError, match=f"at most {MAX_LAYERS} layers"):
        parse_network("dense(2,2) | " + "relu | " * (MAX_LAYERS + 5) + "mse")
    with pytest.raises(ParseError, match="integers above"):
        parse_network("dense(" + "9" * 5000 + ", 3) | mse")
    with pytest.raises(ShapeError, match="parameters; at most"):
        parse_network(f"dense({MAX_INT}, {MAX_INT}) | mse")
    with pytest.raises(ShapeError, match="entries per example"):
        parse_network("input(10000000, 10000000) | relu | mse")
    with pytest.raises(TypeError):
        parse_network(b"dense(3,2) | mse")  # type: ignore[arg-type]


def test_control_characters_do_not_reach_the_terminal():
    with pytest.raises(SymdlError) as info:
        parse_network("dense(3,2) | \x1b[31mrelu")
    assert "\x1b" not in str(info.value).splitlines()[1]


def test_caret_is_under_the_culprit_after_non_ascii():
    with pytest.raises(ParseError, match="comments") as info:
        parse_network("dense(3, 2) | mse  # é, 'x'")
    with pytest.raises(UnknownNameError) as info:
        parse_network("dense(3,2) | ré")
    lines = str(info.value).splitlines()
    assert lines[2].index("^") == lines[1].index("ré")


@pytest.mark.skipif("conv2d" not in LAYERS or "flatten" not in LAYERS, reason="no conv2d")
def test_any_registered_kind_with_tuples_and_keywords():
    net = parse_network(
        "input(1,6,6) | conv2d(1, 2, (3, 3), stride=1, padding=1) | relu | flatten "
        "| dense(72, 3) | softmax_cross_entropy"
    )
    assert net.shapes[0] == (2, 6, 6) and net.shapes[2] == (72,)


# ---- the hostile corpus ----------------------------------------------------------------

CORPUS_FILE = Path(__file__).resolve().parent / "hostile_inputs.txt"
CORPUS = [
    line
    for line in CORPUS_FILE.read_text(encoding="utf-8").split("\n")
    if line and not line.startswith("#")
]
GENERATED = [
    "dense(3,2)\x00 | mse",
    "dense(3,2)\n__import__('os').system('touch {CANARY}')",
    "dense(3,2)\u2028| mse",
    "(lambda: " * 100 + "open('{CANARY}', 'w')" + ")" * 100,
    "dense(3,2) | " * 5000 + "mse",
    "residual(" * 500 + "relu" + ")" * 500,
    "dense(" + "9" * 3999 + ", 2) | mse",
    "dense(3, 2, " + "x=1, " * 2000 + ") | mse",
]


@pytest.fixture(scope="module")
def canary(tmp_path_factory):
    path = tmp_path_factory.mktemp("hostile") / "CANARY"
    yield path
    assert not path.exists(), "a hostile input was executed"


@pytest.mark.parametrize("where", ["alone", "as a layer", "as an argument"])
def test_hostile_corpus_is_refused_never_run(where, canary):
    for line in [*CORPUS, *GENERATED]:
        armed = line.replace("{CANARY}", str(canary))
        text = {
            "alone": armed,
            "as a layer": f"dense(3,3) | {armed} | mse",
            "as an argument": f"dense(3, {armed}) | mse",
        }[where]
        try:
            parse_network(text)
        except SymdlError as err:
            assert str(err).strip()
            assert all(ch.isprintable() for ch in str(err).replace("\n", ""))
        else:  # only a line that is itself a layer stack may parse
            assert all(part.strip().isidentifier() for part in armed.split("|")), armed
        assert not canary.exists(), armed
