"""Generative models: the VAE's KL term and reparameterisation, the ELBO, GANs, flows.

Gaussian expectations of polynomials in ε ~ N(0, 1) are computed exactly with the 3-point
Gauss–Hermite rule E[h(ε)] = (h(−√3) + 4h(0) + h(√3))/6, exact for degree ≤ 5 (proved in
the probability chapter); the log-densities below are polynomials of degree 2 in ε.
"""

from symdl import check_derivative, check_identity, proof

_Z = "(mu + s*EPS)"  # z = μ + σε, the reparameterised sample
_POSITIVE = {"s": "positive"}


def _expect(h: str) -> str:
    """E[h(ε)] for ε ~ N(0, 1) by the 3-point Gauss–Hermite rule (h in EPS)."""
    at = [h.replace("EPS", node) for node in ("(-sqrt(3))", "0", "sqrt(3)")]
    return f"(({at[0]}) + 4*({at[1]}) + ({at[2]}))/6"


def _log_normal(x: str, mean: str, sd: str) -> str:
    return f"(-log(2*pi)/2 - log({sd}) - (({x}) - ({mean}))**2/(2*({sd})**2))"


@proof(
    "The VAE's KL term in closed form",
    statement=(
        "KL(N(μ, σ²) ‖ N(0, 1)) = ½(μ² + σ² − 1 − log σ²). With z = μ + σε, "
        "log q(z) − log p(z) is a quadratic polynomial in ε, so its expectation is exactly "
        "the 3-point Gauss–Hermite sum."
    ),
    references=["Kingma & Welling, Auto-Encoding Variational Bayes (ICLR 2014), Appendix B"],
    tags=["generative", "vae", "kl", "gaussian"],
)
def vae_gaussian_kl():
    integrand = f"{_log_normal(_Z, 'mu', 's')} - {_log_normal(_Z, '0', '1')}"
    return check_identity(_expect(integrand), "(mu**2 + s**2 - 1 - log(s**2))/2", assume=_POSITIVE)


@proof(
    "KL between two univariate Gaussians",
    statement=(
        "KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) = log(σ₂/σ₁) + (σ₁² + (μ₁ − μ₂)²)/(2σ₂²) − ½, "
        "by the same exact expectation."
    ),
    references=[
        "Kingma & Welling, Auto-Encoding Variational Bayes (ICLR 2014), Appendix B",
        "Bishop, Pattern Recognition and Machine Learning (2006), Exercise 1.30",
    ],
    tags=["generative", "kl", "gaussian"],
)
def gaussian_kl():
    z = _Z.replace("mu", "m1").replace("s*", "s1*")
    integrand = f"{_log_normal(z, 'm1', 's1')} - {_log_normal(z, 'm2', 's2')}"
    return check_identity(
        _expect(integrand),
        "log(s2/s1) + (s1**2 + (m1 - m2)**2)/(2*s2**2) - 1/2",
        assume={"s1": "positive", "s2": "positive"},
    )


@proof(
    "The reparameterisation gradient is unbiased",
    statement=(
        "For z = μ + σε, ε ~ N(0, 1) and f(z) = z³: E[f(z)] = μ³ + 3μσ², and its "
        "derivatives equal the expected pathwise gradients: ∂/∂μ E[f(z)] = E[f'(z)] and "
        "∂/∂σ E[f(z)] = E[ε f'(z)] (the integrands are polynomials of degree ≤ 3 in ε)."
    ),
    references=[
        "Kingma & Welling, Auto-Encoding Variational Bayes (ICLR 2014), §2.4",
        "Rezende, Mohamed, Wierstra, Stochastic Backpropagation and Approximate Inference in "
        "Deep Generative Models (ICML 2014), §3",
    ],
    tags=["generative", "vae", "reparameterisation", "gradient-estimator"],
)
def reparameterisation_gradient():
    closed = "mu**3 + 3*mu*s**2"
    mean = check_identity(_expect(f"{_Z}**3"), closed)
    d_mu = check_derivative(closed, "mu", _expect(f"3*{_Z}**2"))
    d_sigma = check_derivative(closed, "s", _expect(f"EPS*3*{_Z}**2"))
    return [mean, d_mu, d_sigma]


@proof(
    "The evidence lower bound: log p(x) = ELBO + KL(q ‖ p(z|x))",
    statement=(
        "For a latent z ∈ {1, 2} with joint p(x, z=1) = a, p(x, z=2) = b and any "
        "q = (q₁, 1 − q₁), q₁ = σ(u): Σ q log(p(x,z)/q) + Σ q log(q/p(z|x)) = log(a + b). "
        "As KL ≥ 0, the ELBO is a lower bound on log p(x), tight when q = p(z|x)."
    ),
    references=[
        "Bishop, Pattern Recognition and Machine Learning (2006), §10.1, eq. (10.2)–(10.4)",
        "Blei, Kucukelbir, McAuliffe, Variational Inference: A Review for Statisticians, "
        "JASA (2017), §2.2",
    ],
    tags=["generative", "vae", "elbo", "variational-inference"],
)
def elbo_decomposition():
    q1, q2 = "sigmoid(u)", "(1 - sigmoid(u))"
    elbo = f"{q1}*log(a/{q1}) + {q2}*log(b/{q2})"
    kl = f"{q1}*log({q1}/(a/(a + b))) + {q2}*log({q2}/(b/(a + b)))"
    return check_identity(f"{elbo} + {kl}", "log(a + b)", assume={"a": "positive", "b": "positive"})


@proof(
    "The GAN's optimal discriminator is D* = p/(p + q)",
    statement=(
        "Pointwise, the discriminator maximises V(D) = p log D + q log(1 − D) "
        "(p = p_data(x), q = p_g(x) > 0): V'(D) = p/D − q/(1 − D) vanishes at "
        "D* = p/(p + q), and V''(D) = −p/D² − q/(1 − D)² < 0, so D* is the maximum."
    ),
    references=[
        "Goodfellow et al., Generative Adversarial Nets (NeurIPS 2014), §4.1, Proposition 1"
    ],
    tags=["generative", "gan", "discriminator"],
)
def gan_optimal_discriminator():
    kinds = {"p": "positive", "q": "positive"}
    first = check_derivative("p*log(D) + q*log(1 - D)", "D", "p/D - q/(1 - D)")
    d_star = "p/(p + q)"
    # V'(D*) = 0, written as p/D* = q/(1 − D*) so that neither side is zero
    stationary = check_identity(f"p/({d_star})", f"q/(1 - {d_star})", assume=kinds)
    second = check_derivative("p/D - q/(1 - D)", "D", "-p/D**2 - q/(1 - D)**2")
    return [first, stationary, second]


@proof(
    "The GAN's value at D* is −log 4 + 2·JSD(p_data ‖ p_g)",
    statement=(
        "Pointwise, p log(p/(p+q)) + q log(q/(p+q)) = −(p + q) log 2 + p log(p/m) + "
        "q log(q/m), m = (p + q)/2. Integrating (p and q integrate to 1) gives "
        "C(G) = −log 4 + KL(p‖m) + KL(q‖m) = −log 4 + 2·JSD(p‖q), minimal iff p_g = p_data."
    ),
    references=["Goodfellow et al., Generative Adversarial Nets (NeurIPS 2014), §4.1, Theorem 1"],
    tags=["generative", "gan", "jensen-shannon"],
)
def gan_jensen_shannon():
    m = "((p + q)/2)"
    return check_identity(
        "p*log(p/(p + q)) + q*log(q/(p + q))",
        f"-(p + q)*log(2) + p*log(p/{m}) + q*log(q/{m})",
        assume={"p": "positive", "q": "positive"},
    )


@proof(
    "The affine coupling layer's log-determinant is Σ s(x₁)",
    statement=(
        "y₁ = x₁, y₂ = x₂ ⊙ exp(s(x₁)) + t(x₁) (here s = tanh(Ax₁), t = Bx₁): "
        "∂y₁/∂x₂ = 0 and ∂y₂/∂x₂ = diag(exp(s(x₁))), so the Jacobian is block triangular "
        "with det = det(I)·det(diag(exp s)) and log|det| = Σ s(x₁) — no determinant needed."
    ),
    references=[
        "Dinh, Sohl-Dickstein, Bengio, Density estimation using Real NVP (ICLR 2017), §3.2–3.3"
    ],
    tags=["generative", "normalising-flows", "coupling", "logdet", "jacobian"],
)
def affine_coupling_logdet():
    shapes = {"x1": "2", "x2": "2", "A": "2x2", "B": "2x2"}
    y2 = "x2*exp(tanh(A @ x1)) + B @ x1"
    block = check_derivative(y2, "x2", "diag(exp(tanh(A @ x1)))", shapes=shapes)
    upper = check_derivative("x1", "x2", "0*A", shapes=shapes)
    logdet = check_identity("logdet(diag(exp(tanh(A @ x1))))", "sum(tanh(A @ x1))", shapes=shapes)
    return [block, upper, logdet]


@proof(
    "Change of variables for a one-dimensional flow",
    statement=(
        "If z = f(x) with f increasing and z ~ N(0, 1), then P(X ≤ x) = Φ(f(x)) and the "
        "density of x is φ(f(x))·f'(x). Here f(x) = x + tanh(x), f'(x) = 2 − tanh²(x) > 0."
    ),
    references=[
        "Papamakarios et al., Normalizing Flows for Probabilistic Modeling and Inference, "
        "JMLR 22 (2021), §2.1"
    ],
    tags=["generative", "normalising-flows", "change-of-variables"],
)
def change_of_variables():
    f = "(x + tanh(x))"
    return check_derivative(
        f"(1 + erf({f}/sqrt(2)))/2",
        "x",
        f"exp(-{f}**2/2)/sqrt(2*pi)*(2 - tanh(x)**2)",
    )


@proof(
    "Diffusion: two noising steps are one Gaussian step",
    statement=(
        "With x₁ = √α₁ x₀ + √(1 − α₁) ε₁ and x₂ = √α₂ x₁ + √(1 − α₂) ε₂ (independent "
        "standard normal noises, 0 < αᵢ < 1, here αᵢ = σ(uᵢ)): x₂ = √(α₁α₂) x₀ + noise of "
        "variance α₂(1 − α₁) + (1 − α₂) = 1 − α₁α₂ — so q(x_t | x₀) = N(√ᾱ_t x₀, (1 − ᾱ_t)I) "
        "with ᾱ_t = ∏ αₛ."
    ),
    references=[
        "Ho, Jain, Abbeel, Denoising Diffusion Probabilistic Models (NeurIPS 2020), §2, eq. (4)"
    ],
    tags=["generative", "diffusion", "gaussian"],
)
def diffusion_marginal():
    a1, a2 = "sigmoid(u1)", "sigmoid(u2)"
    mean = check_identity(f"sqrt({a2})*sqrt({a1})", f"sqrt({a1}*{a2})")
    variance = check_identity(f"{a2}*(1 - {a1}) + (1 - {a2})", f"1 - {a1}*{a2}")
    return [mean, variance]
