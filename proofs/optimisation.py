"""Optimisation: gradient descent on quadratics, momentum, Adam, RMSprop, weight decay.

Rates on a quadratic reduce to one eigenvalue λ of the Hessian at a time: along an
eigenvector, gradient descent multiplies the error by 1 − ηλ, so each statement below is
an identity in η and λ (checked by symdl) followed by a one-line argument on signs.
"""

from symdl import check_derivative, check_identity, proof

_SPD = {"A": "3x3", "x": "3", "b": "3"}
_POS = {"l": "positive", "L": "positive"}
# λ_max = λ_min·(1 + d) with d > 0: the condition number κ = 1 + d exceeds 1
_KAPPA = {"l": "positive", "d": "positive"}


@proof(
    "Gradient descent on a quadratic contracts the error by I − ηA",
    statement=(
        "For f(x) = ½xᵀAx − bᵀx with A symmetric positive definite and minimiser "
        "x* = A⁻¹b, one step x' = x − η∇f(x) gives x' − x* = (I − ηA)(x − x*); "
        "∇f(x) = Ax − b."
    ),
    references=["Boyd & Vandenberghe, Convex Optimization (2004), §9.3"],
    tags=["optimisation", "gradient-descent", "quadratic"],
)
def gd_error_recursion():
    gradient = check_derivative(
        "x.T @ A @ x/2 - b.T @ x", "x", "A @ x - b", shapes=_SPD, assume={"A": "symmetric"}
    )
    step = check_identity(
        "x - eta*(A @ x - b) - inv(A) @ b",
        "(x - inv(A) @ b) - eta*A @ (x - inv(A) @ b)",
        shapes=_SPD,
        assume={"A": "spd"},
    )
    return [gradient, step]


@proof(
    "Gradient descent on a quadratic converges iff 0 < η < 2/λ_max",
    statement=(
        "Along an eigenvector of A with eigenvalue λ > 0 the error is multiplied by 1 − ηλ "
        "per step, and (1 − ηλ)² − 1 = ηλ(ηλ − 2). So |1 − ηλ| < 1 exactly when "
        "0 < ηλ < 2, and every eigen-component shrinks iff 0 < η < 2/λ_max."
    ),
    references=[
        "Goodfellow, Bengio, Courville, Deep Learning (2016), §4.3.1",
        "Goh, Why Momentum Really Works, Distill (2017), §'First Steps: Gradient Descent'",
    ],
    tags=["optimisation", "gradient-descent", "step-size"],
)
def gd_step_size_condition():
    return check_identity("(1 - eta*lam)**2 - 1", "eta*lam*(eta*lam - 2)")


@proof(
    "One gradient step on a quadratic, exactly",
    statement=(
        "For f(x) = ½xᵀAx − bᵀx (A symmetric), f(x − ηg) = f(x) − η‖g‖² + ½η² gᵀAg with "
        "g = Ax − b: a second-order Taylor expansion with no remainder. With 0 < η ≤ 1/λ_max "
        "the decrease is at least ½η‖g‖² (since gᵀAg ≤ λ_max‖g‖²)."
    ),
    references=["Boyd & Vandenberghe, Convex Optimization (2004), §9.3.1"],
    tags=["optimisation", "gradient-descent", "quadratic"],
)
def gd_exact_decrease():
    g = "(A @ x - b)"
    f = "(v.T @ A @ v/2 - b.T @ v)"
    return check_identity(
        f.replace("v", f"(x - eta*{g})"),
        f"{f.replace('v', 'x')} - eta*{g}.T @ {g} + eta**2/2*{g}.T @ A @ {g}",
        shapes={"A": "2x2", "x": "2", "b": "2"},
        assume={"A": "symmetric"},
    )


@proof(
    "The optimal constant step 2/(λ_min + λ_max) and its rate (κ − 1)/(κ + 1)",
    statement=(
        "With η* = 2/(λ_min + λ_max): 1 − η*λ_min = (κ − 1)/(κ + 1) and "
        "1 − η*λ_max = −(κ − 1)/(κ + 1), κ = λ_max/λ_min. The contraction factor "
        "max(|1 − ηλ_min|, |1 − ηλ_max|) is the maximum of a decreasing and an increasing "
        "function of η, minimal where they are equal — at η*, with value (κ − 1)/(κ + 1)."
    ),
    references=[
        "Polyak, Introduction to Optimization (1987), Ch. 1",
        "Goh, Why Momentum Really Works, Distill (2017)",
    ],
    tags=["optimisation", "gradient-descent", "condition-number"],
)
def gd_optimal_step():
    eta = "2/(l + L)"
    smallest = check_identity(f"1 - {eta}*l", "(L/l - 1)/(L/l + 1)", assume=_POS)
    largest = check_identity(f"1 - {eta}*L", "-(L/l - 1)/(L/l + 1)", assume=_POS)
    return [smallest, largest]


@proof(
    "Heavy-ball momentum: the optimal rate (√κ − 1)/(√κ + 1)",
    statement=(
        "Polyak's iteration x' = x − α∇f(x) + β(x − x₋) on a quadratic has, per eigenvalue "
        "λ, the characteristic polynomial z² − (1 + β − αλ)z + β. With α = 4/(√L + √μ)² "
        "and β = ((√L − √μ)/(√L + √μ))², its discriminant is α²(λ − μ)(λ − L) ≤ 0 on "
        "[μ, L], so both roots are complex (double at λ = μ and λ = L) with |z|² = β: every "
        "eigen-component contracts at the asymptotic rate √β = (√κ − 1)/(√κ + 1), κ = L/μ."
    ),
    references=[
        "Polyak, Some methods of speeding up the convergence of iteration methods, "
        "USSR Comput. Math. Math. Phys. 4(5) (1964)",
        "Goh, Why Momentum Really Works, Distill (2017), §'The Critical Damping Coefficient'",
    ],
    tags=["optimisation", "momentum", "heavy-ball", "condition-number"],
)
def heavy_ball_rate():
    alpha = "4/(sqrt(L) + sqrt(l))**2"
    beta = "((sqrt(L) - sqrt(l))/(sqrt(L) + sqrt(l)))**2"
    discriminant = check_identity(
        f"(1 + {beta} - {alpha}*lam)**2 - 4*{beta}",
        f"({alpha})**2*(lam - l)*(lam - L)",
        assume=_POS,
    )
    # complex roots T/2 ± i·sqrt(4β − T²)/2 have squared modulus β
    modulus = check_identity("(T/2)**2 + (4*beta - T**2)/4", "beta")
    big = "l*(1 + d)"
    rate = check_identity(
        f"sqrt(((sqrt({big}) - sqrt(l))/(sqrt({big}) + sqrt(l)))**2)",
        "(sqrt(1 + d) - 1)/(sqrt(1 + d) + 1)",
        assume=_KAPPA,
    )
    return [discriminant, modulus, rate]


@proof(
    "Newton's method minimises a quadratic in one step",
    statement="x − A⁻¹(Ax − b) = A⁻¹b for invertible A: the Newton step lands on x*.",
    references=["Boyd & Vandenberghe, Convex Optimization (2004), §9.5"],
    tags=["optimisation", "newton", "quadratic"],
)
def newton_one_step():
    return check_identity(
        "x - inv(A) @ (A @ x - b)", "inv(A) @ b", shapes=_SPD, assume={"A": "spd"}
    )


@proof(
    "Adam's bias correction: E[m̂_t] = E[g] for a stationary gradient",
    statement=(
        "m_t = β m_{t−1} + (1 − β) g_t with m_0 = 0 gives E[m_t] = (1 − βᵗ) E[g] when "
        "E[g_t] = E[g] for all t: by induction, β(1 − β^{t−1})g + (1 − β)g = (1 − βᵗ)g, "
        "and (1 − β⁰)g = 0. Dividing by 1 − βᵗ (m̂_t) removes the bias; the same holds "
        "for v_t with g² in place of g. Unrolled at t = 3 as a check of the closed form."
    ),
    references=["Kingma & Ba, Adam: A Method for Stochastic Optimization (ICLR 2015), §3"],
    tags=["optimisation", "adam", "bias-correction"],
)
def adam_bias_correction():
    step = check_identity("b*(1 - b**(t - 1))*g + (1 - b)*g", "(1 - b**t)*g")
    unrolled = check_identity("b*(b*(b*0 + (1 - b)*g) + (1 - b)*g) + (1 - b)*g", "(1 - b**3)*g")
    corrected = check_identity(
        "(b*(b*(b*0 + (1 - b)*g) + (1 - b)*g) + (1 - b)*g)/(1 - b**3)",
        "g",
        assume={"b": "positive"},
    )
    return [step, unrolled, corrected]


@proof(
    "RMSprop and Adam steps do not change when the loss is rescaled",
    statement=(
        "RMSprop's step η g/√v with v = ρ v₋ + (1 − ρ) g² (ε = 0) is the same for the "
        "gradients c·g of the loss c·f, c > 0, when v₋ scales by c² as well: "
        "c g/√(ρc²v₋ + (1 − ρ)c²g²) = g/√(ρv₋ + (1 − ρ)g²). Adam's step m̂/√v̂ likewise."
    ),
    references=[
        "Tieleman & Hinton, Lecture 6.5 — RMSProp, COURSERA: Neural Networks for Machine "
        "Learning (2012)",
        "Kingma & Ba, Adam: A Method for Stochastic Optimization (ICLR 2015), §2.1",
    ],
    tags=["optimisation", "rmsprop", "adam", "invariance"],
)
def adaptive_scale_invariance():
    kinds = {"c": "positive", "v": "positive", "r": "positive"}
    rmsprop = check_identity(
        "c*g/sqrt(r*c**2*v + (1 - r)*c**2*g**2)", "g/sqrt(r*v + (1 - r)*g**2)", assume=kinds
    )
    adam = check_identity(
        "(b*c*m + (1 - b)*c*g)/sqrt(r*c**2*v + (1 - r)*c**2*g**2)",
        "(b*m + (1 - b)*g)/sqrt(r*v + (1 - r)*g**2)",
        assume=kinds,
    )
    return [rmsprop, adam]


@proof(
    "For SGD, L2 regularisation is weight decay",
    statement=(
        "A gradient step on f(θ) + (λ/2)‖θ‖² is θ − η(∇f + λθ) = (1 − ηλ)θ − η∇f: "
        "shrinking the weights by the factor 1 − ηλ, then the plain gradient step."
    ),
    references=[
        "Loshchilov & Hutter, Decoupled Weight Decay Regularization (ICLR 2019), Prop. 1",
        "Hanson & Pratt, Comparing biases for minimal network construction with "
        "back-propagation (NIPS 1988)",
    ],
    tags=["optimisation", "weight-decay", "l2", "sgd"],
)
def sgd_l2_is_weight_decay():
    shapes = {"W": "2x3", "G": "2x3"}
    penalty = check_derivative("lam/2*sum(W**2)", "W", "lam*W", shapes=shapes)
    step = check_identity("W - eta*(G + lam*W)", "(1 - eta*lam)*W - eta*G", shapes=shapes)
    return [penalty, step]


@proof(
    "For Adam, L2 regularisation is not weight decay",
    statement=(
        "With Adam's preconditioner P = 1/(√v̂ + ε) (entrywise), the L2 step is "
        "ηP(g + λθ) while decoupled weight decay (AdamW) is ηPg + ηλθ; they differ by "
        "ηλθ(P − 1), which for λθ ≠ 0 vanishes only where P = 1: weights with a large gradient "
        "history (small P) are decayed less under L2."
    ),
    references=["Loshchilov & Hutter, Decoupled Weight Decay Regularization (ICLR 2019), Prop. 2"],
    tags=["optimisation", "weight-decay", "adam", "adamw"],
)
def adam_l2_is_not_weight_decay():
    # entrywise, so one entry stands for all
    return check_identity("eta*P*(g + lam*th) - (eta*P*g + eta*lam*th)", "eta*lam*th*(P - 1)")


@proof(
    "Momentum multiplies the effective step by 1/(1 − β)",
    statement=(
        "The velocity v ← βv + g (then θ ← θ − ηv) has, for a constant gradient g, the fixed "
        "point v = g/(1 − β): β·g/(1 − β) + g = g/(1 − β). With β = 0.9 the step is 10ηg."
    ),
    references=[
        "Goodfellow, Bengio, Courville, Deep Learning (2016), §8.3.2",
        "Sutskever, Martens, Dahl, Hinton, On the importance of initialization and momentum "
        "in deep learning (ICML 2013), §2",
    ],
    tags=["optimisation", "momentum"],
)
def momentum_effective_step():
    return check_identity("b*(g/(1 - b)) + g", "g/(1 - b)")
