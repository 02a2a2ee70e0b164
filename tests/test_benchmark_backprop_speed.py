"""Smoke tests of the backprop speed benchmark on its tiny networks: every implementation
it times computes the gradients symdl's generated backward computes, the hand-written
baseline is right on its own (central differences), and the agreement measure catches a
wrong gradient. No timing is asserted.

JAX runs in a child process: once imported it has threads, and later tests in this
process fork (symdl's time budgets), which JAX warns is unsafe."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import backprop_speed as bench
from benchmarks import peers
from benchmarks.__main__ import BENCHMARKS
from benchmarks.backprop_peers import Runner
from benchmarks.config import Config
from symdl.errors import UnknownNameError

QUICK = bench.networks(quick=True)
IDS = [n.kind + "-" + n.options.get("activation", "") for n in QUICK]


@pytest.fixture(scope="module")
def built():
    found = {}
    for net in QUICK:
        try:
            found[net.name] = bench.instance(net, seed=1)
        except UnknownNameError as err:  # a layer kind not (yet) in this checkout
            found[net.name] = str(err)
    return found


@pytest.fixture
def inst(built, net):
    made = built[net.name]
    if isinstance(made, str):
        pytest.skip(made)
    return made


@pytest.fixture
def mlp(built):
    return built[QUICK[0].name]


def _gradients(runner: Runner, inst: bench.Instance) -> dict[str, np.ndarray]:
    state = runner.prepare(inst.x, inst.params, inst.y)
    return runner.gradients(runner.backward(runner.forward(state)))


def _local(inst: bench.Instance) -> list[Runner]:
    return bench.runners(inst, with_peers=())


@pytest.fixture
def no_peers(monkeypatch):
    real, real_spec = peers._load, peers._load_spec
    absent = ("torch", "jax")
    monkeypatch.setattr(peers, "_load", lambda name: None if name in absent else real(name))
    monkeypatch.setattr(peers, "_load_spec", lambda name: name not in absent and real_spec(name))


@pytest.mark.parametrize("net", QUICK, ids=IDS)
def test_hand_written_numpy_agrees_with_symdl(net, inst):
    symdl, hand = _local(inst)
    reference = _gradients(symdl, inst)
    assert set(reference) == {k for k, _ in inst.result.parameters} | {"x"}
    assert bench.disagreement(_gradients(hand, inst), reference) < 1e-12


@pytest.mark.parametrize("net", QUICK, ids=IDS)
def test_pytorch_agrees_with_symdl(net, inst):
    pytest.importorskip("torch")
    symdl, runner = bench.runners(inst, with_peers=("torch",))[::2]
    assert runner.name == "PyTorch autograd"
    reference = _gradients(symdl, inst)
    assert bench.disagreement(_gradients(runner, inst), reference) < 1e-12


_JAX_AGREEMENT = """
import importlib.util
import json
from benchmarks import backprop_speed as bench
from symdl.errors import UnknownNameError
out = {}
for net in bench.networks(quick=True):
    try:
        inst = bench.instance(net, seed=1)
    except UnknownNameError:
        continue
    symdl, _, runner = bench.runners(inst, with_peers=("jax",))
    out[net.name] = bench.agreement(inst, [symdl, runner])[runner.name]
print(json.dumps(out))
"""


def test_jax_agrees_with_symdl(built):
    if importlib.util.find_spec("jax") is None:  # not importorskip: that imports it here
        pytest.skip("jax is not installed")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _JAX_AGREEMENT],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    found = json.loads(done.stdout.splitlines()[-1])
    assert set(found) == {name for name, made in built.items() if not isinstance(made, str)}
    for name, value in found.items():
        assert value < 1e-12, name


@pytest.mark.parametrize("net", QUICK, ids=IDS)
def test_hand_written_numpy_matches_central_differences(net, inst):
    """The baseline is right independently of symdl: every gradient entry (parameters
    and input) against a central difference of the hand-written loss."""
    hand = _local(inst)[1]
    grads = _gradients(hand, inst)
    forward = {"mlp": bench.hand.mlp_forward, "cnn": bench.hand.cnn_forward}
    loss_of = forward.get(net.kind, bench.hand.lstm_forward)

    def loss(x: np.ndarray, params: dict[str, np.ndarray]) -> float:
        return loss_of(x, params, inst.y, **net.options)[0]

    h = 1e-6
    for key in grads:
        base = inst.x if key == "x" else inst.params[key]
        fd = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            values = []
            for sign in (1.0, -1.0):
                moved = base.copy()
                moved[index] += sign * h
                params = inst.params if key == "x" else {**inst.params, key: moved}
                values.append(loss(moved if key == "x" else inst.x, params))
            fd[index] = (values[0] - values[1]) / (2 * h)
        np.testing.assert_allclose(grads[key], fd, rtol=1e-5, atol=1e-8, err_msg=key)


def test_disagreement_catches_wrong_gradients(mlp):
    reference = _gradients(_local(mlp)[0], mlp)
    assert bench.disagreement(reference, reference) == 0.0
    worst = {k: float(np.max(np.abs(v))) for k, v in reference.items()}
    key = max(worst, key=worst.get)
    nudged = {**reference, key: reference[key] * (1 + 1e-6)}
    assert bench.disagreement(nudged, reference) == pytest.approx(1e-6, rel=1e-6)
    flipped = {**reference, "W1": -reference["W1"]}
    assert bench.disagreement(flipped, reference) == pytest.approx(2.0)
    assert bench.disagreement({**reference, "W1": reference["W1"].T}, reference) > 0.1
    assert bench.disagreement({**reference, "W1": reference["W1"][:, 1:]}, reference) == np.inf
    missing = {k: v for k, v in reference.items() if k != "b1"}
    assert bench.disagreement(missing, reference) == np.inf


def test_a_wrong_implementation_is_not_timed(monkeypatch, no_peers):
    """A runner whose gradients disagree is marked ✗ and left out of the timings."""
    real = bench.runners

    def with_a_bug(inst):
        found = real(inst)
        hand = found[1]
        wrong = Runner(
            "hand-written, factor ½",
            hand.prepare,
            hand.forward,
            hand.backward,
            lambda g: {k: v / 2 for k, v in hand.gradients(g).items()},
        )
        return [*found, wrong]

    monkeypatch.setattr(bench, "runners", with_a_bug)
    monkeypatch.setattr(bench, "networks", lambda quick=False: QUICK[:1])
    (table,) = bench.run(Config(quick=True))
    (row,) = [r for r in table.rows if r[1] == "hand-written, factor ½"]
    assert row[2] == "not timed" and row[-1] == "5.0e-01 ✗"
    assert "hand-written, factor ½" not in table.data[QUICK[0].name]["seconds"]


def test_measure_times_every_runner_and_skips_the_backward_of_fused_ones(mlp):
    symdl, hand = _local(mlp)
    fused = Runner(
        "fused",
        hand.prepare,
        lambda s: s,
        lambda s: hand.backward(hand.forward(s)),
        dict,
        fused=True,
    )
    times = bench.measure([symdl, hand, fused], mlp, rounds=4, warmup=1)
    for name in ("symdl generated NumPy", "hand-written NumPy"):
        assert all(len(times[name][k]) == 4 for k in times[name])
        assert all(v > 0 for v in times[name]["total"])
    assert times["fused"]["backward"] == [] and len(times["fused"]["total"]) == 4


def test_registered_and_absent_peers_read_as_absent(monkeypatch, no_peers):
    assert BENCHMARKS["backprop_speed"] == "benchmarks.backprop_speed"
    monkeypatch.setattr(bench, "networks", lambda quick=False: QUICK[2:3])
    (table,) = bench.run(Config(quick=True))
    assert [r[1] for r in table.rows] == ["symdl generated NumPy", "hand-written NumPy"]
    assert any("PyTorch: not installed" in note for note in table.notes)


def test_a_network_with_a_layer_symdl_lacks_reads_not_run(monkeypatch, no_peers):
    missing = bench.Network("unknown", "dense(4, 4) | no_such_layer | mse", 2, "mlp")
    monkeypatch.setattr(bench, "networks", lambda quick=False: (missing,))
    (table,) = bench.run(Config(quick=True))
    (row,) = table.rows
    assert row[2].startswith("not run: no layer named 'no_such_layer'")
