"""Speed of symdl's generated backward pass against hand-written NumPy, PyTorch and JAX.

Run: ``python -m benchmarks backprop_speed [--trials N]``. For each network, symdl
derives the backward pass (:func:`symdl.derive.backprop.backprop`) and the benchmark
times the NumPy code it generated (``res.backward``, exactly the text of
``res.source``) against

* a hand-written, vectorised NumPy backward (:mod:`benchmarks.backprop_hand`), the
  baseline every ratio is taken against;
* PyTorch CPU autograd (``loss.backward()``) and ``jax.jit(jax.grad(loss))`` on CPU
  (:mod:`benchmarks.backprop_peers`).

The networks: an MLP (batch 64, four hidden layers of width 256, tanh or relu, a
10-way softmax cross-entropy head), a small CNN (``conv2d(1, 8, 3) | relu |
maxpool2d(2) | flatten | dense(1352, 10)`` on 1×28×28, batch 64), an LSTM (T = 20,
input 32, hidden 64, the last state into ``dense(64, 10)``, batch 64). Everything is
float64, with the same inputs and parameters in one process, on one thread (BLAS,
PyTorch's intra-op threads and, when it is first imported here, XLA).

Before anything is timed every implementation's gradients are compared with symdl's:
the table prints the largest ``‖g − g_symdl‖∞ / ‖g_symdl‖∞`` over the parameters (and
∂L/∂x when symdl computes it); an implementation that disagrees beyond 1e-9 is not
timed. Timing: warm-up calls, then rounds in which every implementation runs once in a
rotating order (so that a change of machine load hits all alike), the garbage collector
off; per call the minimum and median wall-clock time, and the median CPU time of the
process (on a shared machine the wall clock also counts waiting for a core).
"backward" is the backward pass alone after an untimed forward (PyTorch:
``loss.backward()`` alone); JAX's compiled gradient does forward and backward in one
call, so it appears in the "forward + backward" columns only, beside the same sum for
the others.
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from typing import Any

import numpy as np

from benchmarks import backprop_hand as hand
from benchmarks import peers
from benchmarks.backprop_peers import Arrays, Runner, jax_runner, jax_threads, torch_runner
from benchmarks.config import Config
from benchmarks.table import Table
from symdl.errors import UnknownNameError

#: an implementation whose gradients differ more than this from symdl's is not timed
AGREEMENT = 1e-9
#: seconds of timed calls per network (all implementations together), full run
SECONDS = 60.0


@dataclass(frozen=True)
class Network:
    """A benchmark network: symdl's description, the batch, and how the hand-written
    and peer implementations are called (``kind`` and ``options``)."""

    name: str
    text: str
    batch: int
    kind: str
    options: dict[str, Any] = field(default_factory=dict)


def _mlp(width: int, depth: int, activation: str, classes: int, batch: int) -> Network:
    hidden = [f"dense({width}, {width}) | {activation}"] * depth
    text = " | ".join([*hidden, f"dense({width}, {classes})", "softmax_cross_entropy"])
    options = {"layers": depth + 1, "activation": activation}
    name = f"MLP {activation} (batch {batch}, {depth}×{width})"
    return Network(name, text, batch, "mlp", options)


def _cnn(side: int, filters: int, classes: int, batch: int) -> Network:
    flat = filters * ((side - 2) // 2) ** 2
    text = (
        f"input(1, {side}, {side}) | conv2d(1, {filters}, 3) | relu | maxpool2d(2) | "
        f"flatten | dense({flat}, {classes}) | softmax_cross_entropy"
    )
    return Network(f"CNN (batch {batch}, 1×{side}×{side})", text, batch, "cnn", {"pool": 2})


def _lstm(steps: int, n_in: int, hidden: int, classes: int, batch: int) -> Network:
    text = (
        f"input({steps}, {n_in}) | lstm({n_in}, {hidden}) | last | dense({hidden}, {classes}) "
        "| softmax_cross_entropy"
    )
    return Network(f"LSTM (batch {batch}, T = {steps}, hidden {hidden})", text, batch, "lstm")


def networks(*, quick: bool = False) -> tuple[Network, ...]:
    """The benchmark's networks; ``quick``: tiny ones with the same structure."""
    if quick:
        return (
            _mlp(8, 2, "tanh", 3, 4),
            _mlp(8, 2, "relu", 3, 4),
            _cnn(8, 2, 3, 4),
            _lstm(3, 4, 5, 3, 4),
        )
    return (
        _mlp(256, 4, "tanh", 10, 64),
        _mlp(256, 4, "relu", 10, 64),
        _cnn(28, 8, 10, 64),
        _lstm(20, 32, 64, 10, 64),
    )


@dataclass(frozen=True)
class Instance:
    """One network's inputs (the same for every implementation) and symdl's result."""

    network: Network
    result: Any  # symdl.derive.backprop.BackpropResult
    x: np.ndarray
    params: Arrays
    y: np.ndarray
    data_key: str
    with_input: bool


def instance(network: Network, *, seed: int = 0) -> Instance:
    """symdl's derivation of ``network`` and random inputs: parameters drawn
    ``N(0, 1/fan-in)`` (vectors ``N(0, 0.01)``, so no gradient is trivially zero),
    inputs standard normal, one-hot targets."""
    from symdl.derive.backprop import backprop

    result = backprop(network.text)
    rng = np.random.default_rng(seed)
    params = {}
    for key, shape in result.parameters:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 100
        params[key] = rng.standard_normal(shape) / np.sqrt(fan_in)
    ((data_key, (classes,)),) = result.data
    y = np.eye(classes)[rng.integers(0, classes, network.batch)]
    x = rng.standard_normal((network.batch, *result.input_shape))
    return Instance(network, result, x, params, y, data_key, bool(result.input_gradient))


def runners(inst: Instance, *, with_peers: tuple[str, ...] = ("torch", "jax")) -> list[Runner]:
    """symdl's generated code, the hand-written NumPy, then those of ``with_peers``
    that are installed."""
    res, key, net = inst.result, inst.data_key, inst.network
    symdl = Runner(
        "symdl generated NumPy",
        prepare=lambda x, p, y: (x, p, {key: y}),
        forward=lambda state: res.forward(*state)[1],
        backward=res.backward,
        gradients=lambda grads: {k: np.asarray(v) for k, v in grads.items()},
    )
    forward = {"mlp": hand.mlp_forward, "cnn": hand.cnn_forward, "lstm": hand.lstm_forward}
    backward = {"mlp": hand.mlp_backward, "cnn": hand.cnn_backward, "lstm": hand.lstm_backward}
    hand_forward = partial(forward[net.kind], **net.options)
    hand_runner = Runner(
        "hand-written NumPy",
        prepare=lambda x, p, y: (x, p, y),
        forward=lambda state: hand_forward(*state)[1],
        backward=partial(backward[net.kind], with_input=inst.with_input),
        gradients=dict,
    )
    found = [symdl, hand_runner]
    builders = {"torch": torch_runner, "jax": jax_runner}
    for build in (builders[name] for name in with_peers):
        peer = build(net.kind, net.options, with_input=inst.with_input)
        if peer is not None:
            found.append(peer)
    return found


def disagreement(grads: Arrays, reference: Arrays) -> float:
    """``max_k ‖g_k − r_k‖∞ / ‖r_k‖∞`` over the reference's keys (∞ for a missing key
    or a wrong shape)."""
    worst = 0.0
    for key, r in reference.items():
        g = grads.get(key)
        if g is None or np.shape(g) != np.shape(r):
            return float("inf")
        scale = float(np.max(np.abs(r))) or 1.0
        worst = max(worst, float(np.max(np.abs(np.asarray(g) - r))) / scale)
    return worst


def agreement(inst: Instance, found: list[Runner]) -> dict[str, float]:
    """Each implementation's :func:`disagreement` with symdl's gradients (symdl: 0)."""
    states = [r.prepare(inst.x, inst.params, inst.y) for r in found]
    computed = [r.gradients(r.backward(r.forward(s))) for r, s in zip(found, states)]
    return {r.name: disagreement(g, computed[0]) for r, g in zip(found, computed)}


def measure(
    found: list[Runner], inst: Instance, *, rounds: int, warmup: int
) -> dict[str, dict[str, list[float]]]:
    """Per implementation, ``rounds`` samples of seconds per call: ``"backward"`` and
    ``"total"`` (forward + backward) in wall-clock time, ``"backward cpu"`` and ``"total
    cpu"`` in the process's CPU time (every thread of it: on a loaded machine the wall
    clock also counts the time other processes held the core). Fused implementations
    have no backward samples."""
    states = [r.prepare(inst.x, inst.params, inst.y) for r in found]
    for _ in range(warmup):
        for r, s in zip(found, states):
            r.backward(r.forward(s))
    kinds = ("backward", "total", "backward cpu", "total cpu")
    times: dict[str, dict[str, list[float]]] = {r.name: {k: [] for k in kinds} for r in found}
    wall, cpu = time.perf_counter, time.process_time
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for n in range(rounds):
            shift = n % len(found)
            for r, s in list(zip(found, states))[shift:] + list(zip(found, states))[:shift]:
                if not r.fused:
                    cache = r.forward(s)
                    w0, c0 = wall(), cpu()
                    r.backward(cache)
                    w1, c1 = wall(), cpu()
                    times[r.name]["backward"].append(w1 - w0)
                    times[r.name]["backward cpu"].append(c1 - c0)
                w0, c0 = wall(), cpu()
                r.backward(r.forward(s))
                w1, c1 = wall(), cpu()
                times[r.name]["total"].append(w1 - w0)
                times[r.name]["total cpu"].append(c1 - c0)
    finally:
        if enabled:
            gc.enable()
    return times


def _rounds(found: list[Runner], inst: Instance, config: Config) -> int:
    if config.trials is not None:
        return config.trials
    if config.quick:
        return 3
    states = [r.prepare(inst.x, inst.params, inst.y) for r in found]
    start = time.perf_counter()
    for r, s in zip(found, states):
        r.backward(r.forward(s))
    one_round = 2.0 * (time.perf_counter() - start)  # the backward is timed twice per round
    return int(min(2000, max(100, SECONDS / one_round)))


def _cells(
    times: dict[str, list[float]], base: dict[str, list[float]], kind: str
) -> tuple[str, str]:
    """ "min / median" wall clock in milliseconds; the ratios to the baseline's minimum,
    median and median CPU time."""
    wall, cpu = times[kind], times[f"{kind} cpu"]
    ratios = (
        min(wall) / min(base[kind]),
        float(np.median(wall)) / float(np.median(base[kind])),
        float(np.median(cpu)) / float(np.median(base[f"{kind} cpu"])),
    )
    return (
        f"{1e3 * min(wall):.3g} / {1e3 * float(np.median(wall)):.3g}",
        " / ".join(f"{r:.2f}×" for r in ratios),
    )


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def run(config: Config) -> list[Table]:
    torch = peers.torch()
    load_before = _load()
    rows = []
    data: dict[str, Any] = {}
    for net in networks(quick=config.quick):
        try:
            inst = instance(net, seed=config.seed)
        except UnknownNameError as err:  # a layer kind this checkout of symdl lacks
            reason = f"not run: {str(err).splitlines()[0]}"
            rows.append((net.name, "symdl generated NumPy", reason, "", "", "", ""))
            data[net.name] = {"text": net.text, "not run": str(err)}
            continue
        found = runners(inst)
        agree = agreement(inst, found)
        timed = [r for r in found if agree[r.name] <= AGREEMENT]
        rounds = _rounds(timed, inst, config)
        times = measure(timed, inst, rounds=rounds, warmup=1 if config.quick else 5)
        base = times["hand-written NumPy"]
        for r in found:
            diff = "0 (reference)" if r is found[0] else f"{agree[r.name]:.1e}"
            if r.name not in times:
                rows.append((net.name, r.name, "not timed", "", "not timed", "", diff + " ✗"))
                continue
            t = times[r.name]
            backward = ("— (fused)", "")
            if not r.fused:
                backward = _cells(t, base, "backward")
            rows.append((net.name, r.name, *backward, *_cells(t, base, "total"), diff))
        data[net.name] = {
            "text": net.text,
            "batch": net.batch,
            "rounds": rounds,
            "input gradient": inst.with_input,
            "disagreement": agree,
            "seconds": times,
        }
    header = (
        "network",
        "implementation",
        "backward, ms (min / median)",
        "÷ hand (min / median / CPU)",
        "forward + backward, ms (min / median)",
        "÷ hand (min / median / CPU)",
        "max rel. diff. of gradients vs symdl",
    )
    torch_threads = "not installed"
    if torch is not None:
        torch_threads = f"{torch.get_num_threads()} (torch.set_num_threads)"
    threads = "not installed"
    if peers.jax() is not None:
        threads = f"{jax_threads()}, jaxlib {metadata.version('jaxlib')}"
    notes = (
        "Wall-clock time per call in milliseconds, minimum and median over the rounds; "
        "ratios to the hand-written NumPy's minimum, median, and median CPU time of the "
        "process (all its threads). The minimum is the figure least disturbed by other "
        "processes (the machine is shared); CPU time does not count waiting for a core, so "
        "its ratio is the steadiest from run to run under load. All float64, batch-first, "
        "same inputs, one process.",
        "Threads: BLAS "
        f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, PyTorch: {torch_threads}, "
        f"JAX: {threads}.",
        f"Load average of the machine (1 min) {load_before} at the start and {_load()} at "
        f"the end; {os.cpu_count()} cores.",
        "'backward' is the backward pass alone after an untimed forward (PyTorch: "
        "loss.backward()); JAX's jit-compiled gradient fuses forward and backward, so it has "
        "only the 'forward + backward' figures (after compilation, block_until_ready).",
        "Gradients: max over parameters (and ∂L/∂x when symdl computes it) of "
        f"‖g − g_symdl‖∞ / ‖g_symdl‖∞; beyond {AGREEMENT:g} an implementation is not timed (✗).",
        "Networks: " + "; ".join(f"{n.name}: `{n.text}`" for n in networks(quick=config.quick)),
    )
    return [
        Table(
            "backprop_speed",
            "Backward pass: symdl's generated NumPy vs hand-written NumPy, PyTorch, JAX",
            header,
            tuple(rows),
            notes,
            data,
        )
    ]
