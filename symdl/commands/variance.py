"""``symdl variance``, ``symdl init`` and ``symdl critical``: signal propagation at init."""

from __future__ import annotations

import argparse
import math
from typing import Any

import mpmath

from symdl.commands._common import UsageError, emit, pairs
from symdl.errors import UnsupportedError

__all__ = ["register"]


def register(commands: Any) -> None:
    variance = commands.add_parser(
        "variance",
        help="variance of signals and gradients through depth (mean field, simulation)",
        description="Predict Var z^l and Var δ^l layer by layer for a catalogue activation; "
        "optionally check the prediction on random networks and plot it.",
    )
    _activation(variance)
    variance.add_argument("--sigma-w2", type=float, default=1.0, metavar="V", help="σ_w² (1)")
    variance.add_argument("--sigma-b2", type=float, default=0.0, metavar="V", help="σ_b² (0)")
    variance.add_argument("--depth", type=int, default=20, metavar="L", help="layers (20)")
    variance.add_argument("--q0", type=float, default=1.0, metavar="Q", help="input E[x²] (1)")
    variance.add_argument("--precision", type=int, default=15, metavar="D", help="digits (15)")
    variance.add_argument("--simulate", action="store_true", help="Monte Carlo check")
    variance.add_argument("--width", type=int, default=500, metavar="N", help="width (500)")
    variance.add_argument("--networks", type=int, default=50, metavar="S", help="networks (50)")
    variance.add_argument("--batch", type=int, default=8, metavar="B", help="inputs each (8)")
    variance.add_argument("--confidence", type=float, default=0.99, metavar="P", help="(0.99)")
    variance.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (0)")
    variance.add_argument("--plot", metavar="FILE", help="write variance vs depth as PNG")
    variance.set_defaults(run=_run_variance)

    init = commands.add_parser(
        "init",
        help="initialisation that preserves the signal, derived for an activation",
        description="σ_w² preserving the forward signal and the backward gradient, with "
        "the derivation; the named schemes (LeCun, Glorot, He, PReLU-He); SELU's λ, α.",
    )
    _activation(init)
    init.add_argument("--q", type=float, default=1.0, metavar="Q", help="Var z to keep (1)")
    init.add_argument("--sigma-b2", type=float, default=0.0, metavar="V", help="σ_b² (0)")
    init.add_argument("--precision", type=int, default=30, metavar="D", help="digits (30)")
    init.set_defaults(run=_run_init)

    critical = commands.add_parser(
        "critical",
        help="the order-to-chaos critical line χ₁ = 1 of an activation",
        description="Critical σ_w² for each σ_b² (χ₁ = σ_w²·E[φ'(√q* z)²] = 1).",
    )
    _activation(critical)
    critical.add_argument(
        "--sigma-b2",
        type=float,
        nargs="+",
        default=[0.0, 0.05, 0.1, 0.5],
        metavar="V",
        help="σ_b² values (0 0.05 0.1 0.5)",
    )
    critical.add_argument("--precision", type=int, default=20, metavar="D", help="digits (20)")
    critical.add_argument("--plot", metavar="FILE", help="write the phase diagram as PNG")
    critical.set_defaults(run=_run_critical)


def _activation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--activation", required=True, metavar="NAME", help="catalogue name")
    parser.add_argument(
        "--param",
        action="append",
        nargs="+",
        default=[],
        metavar="NAME=VALUE",
        help="an activation parameter, e.g. alpha=0.2",
    )


def _params(args: argparse.Namespace) -> dict[str, object]:
    return dict(pairs(args.param, "--param"))


def _check_precision(digits: int) -> None:
    if not 5 <= digits <= 100:
        raise UsageError(f"symdl: --precision must be between 5 and 100, got {digits}")


def _run_variance(args: argparse.Namespace) -> int:
    from symdl.derive.gaussian import gaussian_activation
    from symdl.derive.meanfield import mean_field
    from symdl.derive.variance import propagate

    _check_precision(args.precision)
    if not 1 <= args.depth <= 10_000:
        raise UsageError(f"symdl: --depth must be between 1 and 10000, got {args.depth}")
    act = gaussian_activation(args.activation, **_params(args))
    sw, sb = args.sigma_w2, args.sigma_b2
    profile = propagate(
        act, depth=args.depth, sigma_w2=sw, sigma_b2=sb, q0=args.q0, precision=args.precision
    )
    # the length map starts from the first layer's pre-activation variance
    q1 = profile.layers[0].q
    try:
        mf: Any = mean_field(act, sigma_w2=sw, sigma_b2=sb, q0=q1, precision=args.precision)
    except UnsupportedError as err:  # the layer table stands on its own
        mf = str(err)
    emit(
        f"variance through depth: {act}, σ_w² = {sw:g}, σ_b² = {sb:g}, q0 = {args.q0:g} "
        f"({profile.method})"
    )
    if profile.closed_form:
        emit(f"closed form: {profile.closed_form}")
    emit(_mean_field_line(mf))
    sim = None
    if args.simulate:
        from symdl.derive.simulation import simulate

        sim = simulate(
            act, sigma_w2=sw, sigma_b2=sb, depth=args.depth, width=args.width,
            networks=args.networks, batch=args.batch, q0=args.q0, seed=args.seed,
            confidence=args.confidence, prediction=profile,
        )  # fmt: skip
    header = f"{'layer':>5}  {'Var z^l':>14} {'± err':>8}  {'Var δ^l/Var δ^L':>16} {'± rel':>8}"
    if sim:
        header += f"  {'simulated Var z^l [interval]':>34}  {'simulated Var δ^l [interval]':>34}"
    emit(header)
    for i, s in enumerate(profile.layers):
        line = f"{s.layer:>5}  {s.q:>14.8g} {s.q_error:>8.1e}  {s.gradient:>16.8g} "
        line += f"{s.gradient_error:>8.1e}"
        if sim:
            line += "  " + _interval(sim.forward[i]) + "  " + _interval(sim.gradient[i])
        emit(line)
    for note in profile.notes:
        emit(f"note: {note}")
    code = 0
    if sim:
        verdict = "agrees" if sim.agrees else "DISAGREES"
        emit(
            f"simulation: {verdict} — {sim.networks} networks of width {sim.width}, "
            f"{sim.batch} inputs each, seed {sim.seed}"
        )
        for note in sim.notes:
            emit(f"note: {note}")
        code = 0 if sim.agrees else 1
    if args.plot:
        from symdl.render.variance_plot import plot_variance

        profiles, labels = _comparison(act, args, profile)
        plot_variance(profiles, args.plot, labels=labels, simulation=sim)
        emit(f"wrote {args.plot} ({', '.join(labels)})")
    return code


def _comparison(act: Any, args: argparse.Namespace, profile: Any) -> tuple[list, list[str]]:
    """The requested profile beside LeCun, He and the derived forward-preserving σ_w²."""
    from symdl.derive.initialisation import init_for
    from symdl.derive.variance import propagate

    sb = args.sigma_b2
    choices = [("LeCun", 1.0), ("He", 2.0)]
    if sb < 1.0:
        derived = init_for(act, q=1.0, sigma_b2=sb, precision=15)
        choices.append(("forward-preserving", float(derived.forward_sigma_w2)))
    profiles, labels = [profile], [f"σ_w² = {args.sigma_w2:g} (requested)"]
    for name, sw in choices:
        if abs(sw - args.sigma_w2) < 1e-12:
            continue
        profiles.append(
            propagate(act, depth=args.depth, sigma_w2=sw, sigma_b2=sb, q0=args.q0, precision=15)
        )
        labels.append(f"{name}: σ_w² = {sw:.6g}")
    return profiles, labels


def _interval(check: Any) -> str:
    mark = " " if check.inside else "*"
    return f"{check.observed:>10.5g} [{check.low:>9.5g}, {check.high:>9.5g}]{mark}"


def _mean_field_line(mf: Any) -> str:
    if isinstance(mf, str):
        return f"mean field: undecided — {mf}"
    if mf.phase == "divergent":
        return "mean field: the length map diverges (no finite q*)"
    return (
        f"mean field: q* = {mpmath.nstr(mf.q_star, 12)}, χ₁ = {mpmath.nstr(mf.chi_1, 12)} "
        f"({mf.phase}), c* = {mf.c_star:.10g}, ξ_q = {_depth(mf.xi_q)}, ξ_c = {_depth(mf.xi_c)}"
    )


def _depth(xi: float) -> str:
    return "∞" if math.isinf(xi) else f"{xi:.6g}"


def _run_init(args: argparse.Namespace) -> int:
    from symdl.derive.gaussian import gaussian_activation
    from symdl.derive.initialisation import glorot, he, init_for, lecun, selu_constants

    _check_precision(args.precision)
    act = gaussian_activation(args.activation, **_params(args))
    init = init_for(act, q=args.q, sigma_b2=args.sigma_b2, precision=args.precision)
    d = args.precision
    emit(f"initialisation for {act} at Var z = {args.q:g}, σ_b² = {args.sigma_b2:g} "
         f"({init.method}, {d} digits):")  # fmt: skip
    emit(f"  forward  σ_w² = {mpmath.nstr(init.forward_sigma_w2, d)}  (± {init.forward_error:.0e}; "
         "Var W = σ_w²/n_in)")  # fmt: skip
    emit(
        f"  backward σ_w² = {mpmath.nstr(init.backward_sigma_w2, d)}  (± {init.backward_error:.0e})"
    )
    emit("derivation:")
    for step in init.derivation:
        emit(f"  {step}")
    emit("named schemes (Var W):")
    for label, scheme in (("lecun", lecun()), ("glorot", glorot()), ("he", he()),
                          ("he (prelu)", he("prelu"))):  # fmt: skip
        emit(f"  {label:<11} {scheme.variance}   [{scheme.reference}]")
    if act.name == "selu":
        c = selu_constants(precision=d)
        emit("SELU from the fixed-point equations E[selu(z)] = 0, E[selu(z)²] = 1:")
        emit(f"  λ = {mpmath.nstr(c.lambda_, d)}")
        emit(f"  α = {mpmath.nstr(c.alpha, d)}")
        (_, j12), (_, j22) = c.jacobian
        stable = "< 1: (0, 1) attracts" if c.spectral_norm < 1 else "≥ 1: NOT shown stable"
        emit(f"  Jacobian of the moment map at (μ, ν) = (0, 1): [[0, {j12:.6f}], [0, {j22:.6f}]], "
             f"spectral norm {c.spectral_norm:.4f} {stable}")  # fmt: skip
        emit(f"  error ≤ {c.error:.1e}; agreement with the closed form "
             f"{c.closed_form_agreement:.1e}  [{c.reference}]")  # fmt: skip
    return 0


def _run_critical(args: argparse.Namespace) -> int:
    from symdl.derive.gaussian import gaussian_activation
    from symdl.derive.meanfield import critical_point

    _check_precision(args.precision)
    act = gaussian_activation(args.activation, **_params(args))
    d = min(args.precision, 20)
    emit(f"critical line χ₁ = 1 for {act} (σ_w² = 1/E[φ'²], σ_b² = q* − E[φ²]/E[φ'²]; "
         f"{args.precision} digits):")  # fmt: skip
    emit(f"  {'σ_b²':>8}  {'critical σ_w²':>{d + 4}}  {'q*':>{d + 4}}")
    for sb in args.sigma_b2:
        p = critical_point(act, sb, precision=args.precision)
        emit(f"  {sb:>8g}  {mpmath.nstr(p.sigma_w2, d):>{d + 4}}  "
             f"{mpmath.nstr(p.q_star, d):>{d + 4}}")  # fmt: skip
    if args.plot:
        from symdl.render.variance_plot import plot_phase_diagram

        plot_phase_diagram(act, args.plot)
        emit(f"wrote {args.plot}")
    return 0
