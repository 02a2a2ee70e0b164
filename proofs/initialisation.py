"""Initialisation and signal propagation: the schemes, derived and checked.

Each proof compares a closed form (or a derived constant) with an independent computation:
mpmath quadrature at 30+ digits, a two-dimensional Gauss–Legendre rule, or the published
digits. The comparison's tolerance is the error the independent method reports.
"""

import math

import mpmath
import sympy as sp

from symdl import (
    Evidence,
    Report,
    critical_point,
    cross_moment,
    gaussian_activation,
    glorot,
    he,
    mean_field,
    moment,
    proof,
    propagate,
    selu_constants,
    simulate,
)
from symdl.proofbook import Figure
from symdl.render.variance_plot import plot_variance

# the fan-in and fan-out as the initialisation schemes state them
N_IN = sp.Symbol("n_in", positive=True, integer=True)
N_OUT = sp.Symbol("n_out", positive=True, integer=True)


def _compare(claim, rows, *, method="high-precision"):
    """One Report from (label, claimed, independent, tolerance) rows."""
    worst = 0.0
    bad = []
    for label, claimed, independent, tol in rows:
        err = float(abs(claimed - independent))
        worst = max(worst, err)
        if err > tol:
            bad.append(f"{label}: claimed {claimed}, independent {independent}, error {err:.2e}")
    verdict = "refuted" if bad else "verified"
    tol = max(float(r[3]) for r in rows)
    evidence = Evidence(
        method,
        "differ" if bad else "agree",
        f"{len(rows)} comparisons against an independent computation",
        points=len(rows),
        worst_error=worst,
        tolerance=tol,
    )
    return Report(verdict, claim, method, (evidence,), diagnosis=tuple(bad))


def _symbolic(claim, difference):
    zero = sp.simplify(difference) == 0
    evidence = Evidence("symbolic", "proved" if zero else "differ", f"simplify(lhs − rhs) = "
                        f"{sp.simplify(difference)}")  # fmt: skip
    return Report("proved" if zero else "refuted", claim, "symbolic", (evidence,))


@proof(
    "He initialisation for ReLU and leaky ReLU",
    statement="E[relu(u)²] = q/2 for u ~ N(0, q), so n_in·Var W·q/2 = q gives Var W = 2/n_in; "
    "with slope a, E[φ(u)²] = (1 + a²)q/2 and Var W = 2/((1 + a²)n_in).",
    references=["He, Zhang, Ren, Sun, Delving Deep into Rectifiers (ICCV 2015), eq. 10"],
    tags=["initialisation", "relu", "variance"],
)
def he_initialisation():
    rows = []
    for name, params in (("relu", {}), ("leaky_relu", {"alpha": "0.2"}), ("prelu", {})):
        act = gaussian_activation(name, **params)
        for q in (0.1, 1, 9):
            exact = moment(act, q, "square", precision=30)
            numeric = moment(act, q, "square", precision=30, method="quadrature")
            rows.append((f"{act} at q={q}", exact.value, numeric.value, 10 * numeric.error))
    a = sp.Symbol("alpha", real=True)
    return [
        _compare("E[φ(√q z)²] closed forms of the rectifiers equal quadrature", rows),
        _symbolic("He: Var W = 2/n_in", he().variance - 2 / N_IN),
        _symbolic(
            "PReLU-He: Var W = 2/((1+a²) n_in)", he("prelu").variance - 2 / ((1 + a**2) * N_IN)
        ),
    ]


@proof(
    "Glorot initialisation is the compromise",
    statement="Forward preservation needs n_in·Var W = 1, backward n_out·Var W = 1; their "
    "average gives Var W = 2/(n_in + n_out).",
    references=["Glorot & Bengio, AISTATS 2010, eq. 12"],
    tags=["initialisation", "glorot"],
)
def glorot_initialisation():
    return _symbolic("Glorot: Var W = 2/(n_in + n_out)", glorot().variance - 2 / (N_IN + N_OUT))


@proof(
    "SELU's λ and α from the fixed-point equations",
    statement="E[selu(z)] = 0 and E[selu(z)²] = 1 for z ~ N(0, 1) have the solution "
    "λ = 1.0507009873554804934193349852946, α = 1.6732632423543772848170429916717.",
    references=[
        "Klambauer, Unterthiner, Mayr, Hochreiter, Self-Normalizing Neural Networks "
        "(NeurIPS 2017), eq. 4-5 and 14"
    ],
    tags=["initialisation", "selu"],
)
def selu_fixed_point():
    c = selu_constants(precision=32)
    with mpmath.workdps(40):
        published = (
            mpmath.mpf("1.0507009873554804934193349852946"),
            mpmath.mpf("1.6732632423543772848170429916717"),
        )
        tol = mpmath.mpf(10) ** -30
        return _compare(
            "SELU constants solved by quadrature equal the published 31 digits",
            [
                ("λ", c.lambda_, published[0], tol),
                ("α", c.alpha, published[1], tol),
                ("E[selu(z)]", c.mean_residual, 0, tol),
                ("E[selu(z)²] − 1", c.variance_residual, 0, tol),
            ],
        )


@proof(
    "Tanh is critical at σ_w² = 1 without bias",
    statement="At σ_b² = 0 the tanh network's fixed point is q* = 0 and χ₁ = σ_w²·tanh'(0)² = 1 "
    "exactly at σ_w² = 1: the boundary between order (σ_w² < 1) and chaos (σ_w² > 1).",
    references=[
        "Poole et al., Exponential expressivity (NeurIPS 2016)",
        "Schoenholz et al., Deep Information Propagation (ICLR 2017), §3",
    ],
    tags=["mean-field", "tanh", "criticality"],
)
def tanh_criticality():
    point = critical_point("tanh", 0.0)
    below = mean_field("tanh", sigma_w2=0.99, sigma_b2=0.0, precision=15)
    above = mean_field("tanh", sigma_w2=1.01, sigma_b2=0.0, precision=15)
    phases = (below.phase == "ordered") + (above.phase == "chaotic")
    return _compare(
        "critical σ_w² = 1 and the phases on either side",
        [("critical σ_w²", point.sigma_w2, 1, 1e-28), ("q*", point.q_star, 0, 1e-28),
         ("phases ordered/chaotic", phases, 2, 0)],
    )  # fmt: skip


@proof(
    "The ReLU correlation map is the arc-cosine kernel",
    statement="For u₁, u₂ ~ N(0, q) with correlation c, E[relu(u₁)relu(u₂)] = "
    "q(√(1 − c²) + (π − arccos c)c)/(2π), and E[H(u₁)H(u₂)] = (π − arccos c)/(2π).",
    references=["Cho & Saul, Kernel Methods for Deep Learning (NeurIPS 2009), eq. 6"],
    tags=["mean-field", "relu", "correlation"],
)
def relu_arc_cosine():
    rows = []
    for c in (-0.9, -0.3, 0.0, 0.4, 0.8, 0.99):
        for derivative in (False, True):
            numeric = cross_moment("relu", 1.3, 1.3, c, derivative=derivative, method="numeric")
            theta = math.acos(c)
            if derivative:
                want = (math.pi - theta) / (2 * math.pi)
            else:
                want = 1.3 * (math.sqrt(1 - c * c) + (math.pi - theta) * c) / (2 * math.pi)
            rows.append((f"c={c}, derivative={derivative}", want, float(numeric.value),
                         numeric.error + 1e-15))  # fmt: skip
    return _compare("arc-cosine kernel against a 2-d Gauss–Legendre rule", rows, method="numeric")


@proof(
    "Gaussian moments of ELU, SELU and CELU",
    statement="For u ~ N(0, q): E[e^{ku}; u < 0] = e^{k²q/2}Φ(−k√q) gives E[φ], E[φ²] and "
    "E[φ'²] of the exponential units in closed form.",
    references=["Klambauer et al. (2017), appendix A3"],
    tags=["gaussian", "elu", "selu"],
)
def exponential_unit_moments():
    rows = []
    for name, params in (("elu", {}), ("selu", {}), ("celu", {"alpha": "0.5"})):
        act = gaussian_activation(name, **params)
        for kind in ("mean", "square", "derivative_square"):
            for q in (0.2, 3.0):
                exact = moment(act, q, kind, precision=30)
                numeric = moment(act, q, kind, precision=30, method="quadrature")
                rows.append((f"{act} {kind} q={q}", exact.value, numeric.value,
                             10 * numeric.error))  # fmt: skip
    return _compare("closed forms equal 30-digit quadrature", rows)


def _simulation_report(claim, sim, *, expect_agreement=True):
    """A Report on whether every predicted layer variance lies in its simulated interval
    (simultaneous over all layers and both directions); with ``expect_agreement=False``
    the claim is that the simulation *rejects* the prediction."""
    checks = (*sim.forward, *sim.gradient)
    outside = [c for c in checks if not c.inside]
    holds = sim.agrees if expect_agreement else bool(outside)
    worst = max(abs(c.predicted - c.observed) / abs(c.observed) for c in checks)
    detail = (
        f"{sim.networks} networks of width {sim.width}, depth {sim.depth}: "
        f"{len(checks) - len(outside)} of {len(checks)} predictions inside their "
        f"simultaneous {sim.confidence:.0%} intervals"
    )
    evidence = Evidence(
        "simulation", "agree" if holds else "differ", detail, points=len(checks),
        worst_error=worst,
    )  # fmt: skip
    diagnosis = tuple(
        f"layer {c.layer}: predicted {c.predicted:.4g}, interval [{c.low:.4g}, {c.high:.4g}]"
        for c in (outside if expect_agreement else checks[:1])
    )
    return Report(
        "verified" if holds else "refuted", claim, "simulation", (evidence,),
        diagnosis=() if holds else diagnosis, notes=sim.notes,
    )  # fmt: skip


@proof(
    "He and LeCun initialisation preserve the variance through depth",
    statement="With Var W = 2/n_in (He) a deep ReLU network keeps q_l = q_1 = 2q_0 and "
    "Var δ^l = Var δ^L at every layer; with Var W = 1/n_in (LeCun) the same network halves "
    "q_l at each layer, while SELU keeps q_l = 1 (its fixed point). Random networks of width "
    "200 agree with each prediction within simultaneous 99% intervals, and reject LeCun's "
    "prediction for a He-initialised ReLU network.",
    references=[
        "He, Zhang, Ren, Sun, Delving Deep into Rectifiers (ICCV 2015), §2.2",
        "LeCun, Bottou, Orr, Müller, Efficient BackProp (1998), §4.6",
        "Klambauer et al., Self-Normalizing Neural Networks (NeurIPS 2017), Thm 1",
        "Poole et al., Exponential expressivity (NeurIPS 2016), eq. 3",
    ],
    tags=["initialisation", "variance", "depth", "simulation"],
)
def variance_through_depth():
    depth = 12
    he_relu = propagate("relu", depth=depth, sigma_w2=2.0)
    lecun_relu = propagate("relu", depth=depth, sigma_w2=1.0)
    lecun_selu = propagate("selu", depth=depth, sigma_w2=1.0)
    rows = []
    for s in he_relu.layers:
        rows.append((f"He, ReLU: q_{s.layer}", s.q, 2, s.q_error + 1e-12))
        rows.append((f"He, ReLU: Var δ^{s.layer}/Var δ^L", s.gradient, 1, 1e-12))
    for s in lecun_relu.layers:
        rows.append((f"LeCun, ReLU: q_{s.layer}", s.q, 2.0 ** (1 - s.layer), s.q_error + 1e-15))
    for s in lecun_selu.layers:
        rows.append((f"LeCun, SELU: q_{s.layer}", s.q, 1, s.q_error + 1e-12))
    settings = {"depth": depth, "width": 200, "networks": 40, "batch": 4, "seed": 0}
    sim_he = simulate("relu", sigma_w2=2.0, prediction=he_relu, **settings)
    sim_lecun = simulate("relu", sigma_w2=1.0, prediction=lecun_relu, **settings)
    sim_selu = simulate("selu", sigma_w2=1.0, prediction=lecun_selu, **settings)
    mismatched = simulate("relu", sigma_w2=2.0, prediction=lecun_relu, **settings)
    figure = Figure.draw(
        "Variance through depth",
        lambda path: plot_variance(
            [he_relu, lecun_relu, lecun_selu],
            path,
            labels=["ReLU, He (σ_w² = 2)", "ReLU, LeCun (σ_w² = 1)", "SELU, LeCun (σ_w² = 1)"],
            simulation=sim_he,
        ),
        caption="Predicted forward variance q_l (left) and gradient variance Var δ^l/Var δ^L "
        "(right) against the layer, for three initialisations; the dots are the means over "
        "40 simulated He-initialised ReLU networks of width 200, with simultaneous 99% "
        "intervals.",
    )
    return [
        _compare("the mean-field recursions give the stated variances", rows),
        _simulation_report("simulated He-initialised ReLU networks match the prediction", sim_he),
        _simulation_report("simulated LeCun-initialised ReLU networks halve per layer", sim_lecun),
        _simulation_report("simulated LeCun-initialised SELU networks keep q_l = 1", sim_selu),
        _simulation_report(
            "the simulation rejects LeCun's prediction for He-initialised ReLU networks",
            mismatched,
            expect_agreement=False,
        ),
        figure,
    ]
