"""Probability: Bayes' theorem, softmax as a distribution, likelihoods behind the losses."""

from symdl import check_derivative, check_identity, proof

_CELLS = {k: "positive" for k in "abcd"}  # P(A,B)=a, P(A,¬B)=b, P(¬A,B)=c, P(¬A,¬B)=d


@proof(
    "Bayes' theorem",
    statement=(
        "For a joint distribution of two events with positive cells a = P(A,B), "
        "b = P(A,¬B), c = P(¬A,B), d = P(¬A,¬B) (normalised by their total): "
        "P(A|B) = P(B|A)P(A)/P(B), and P(B) = P(B|A)P(A) + P(B|¬A)P(¬A)."
    ),
    references=["Bishop, Pattern Recognition and Machine Learning (2006), §1.2, eq. (1.12)"],
    tags=["probability", "bayes"],
)
def bayes_theorem():
    n = "(a + b + c + d)"
    bayes = check_identity(f"(a/(a + b))*((a + b)/{n})/((a + c)/{n})", "a/(a + c)", assume=_CELLS)
    total = check_identity(
        f"(a/(a + b))*((a + b)/{n}) + (c/(c + d))*((c + d)/{n})", f"(a + c)/{n}", assume=_CELLS
    )
    return [bayes, total]


@proof(
    "Softmax is a distribution, unchanged by a shift of the logits",
    statement=(
        "Σᵢ softmax(z)ᵢ = 1 and softmax(z + c) = softmax(z) for every scalar c (which is why "
        "implementations subtract max z)."
    ),
    references=["Goodfellow, Bengio, Courville, Deep Learning (2016), §4.1 and §6.2.2.3"],
    tags=["probability", "softmax", "stability"],
)
def softmax_distribution_and_shift():
    total = check_identity("sum(softmax(z))", "1", shapes={"z": "4"})
    shift = check_identity("softmax(z + c)", "softmax(z)", shapes={"z": "4"})
    return [total, shift]


@proof(
    "Two-class softmax is the sigmoid of the logit difference",
    statement="e^a/(e^a + e^b) = σ(a − b), and the logit log(p/(1 − p)) inverts σ.",
    references=["Bishop, Pattern Recognition and Machine Learning (2006), §4.2, eq. (4.57)–(4.58)"],
    tags=["probability", "softmax", "sigmoid", "logit"],
)
def two_class_softmax_is_sigmoid():
    softmax = check_identity("exp(a)/(exp(a) + exp(b))", "sigmoid(a - b)")
    logit = check_identity("log(sigmoid(z)/(1 - sigmoid(z)))", "z")
    symmetry = check_identity("sigmoid(-z)", "1 - sigmoid(z)")
    return [softmax, logit, symmetry]


@proof(
    "Cross-entropy is the negative log-likelihood of a categorical model",
    statement=(
        "−log softmax(z) = logsumexp(z) − z entry by entry, so a one-hot target's "
        "cross-entropy is logsumexp(z) − z_y. For labels (0, 2, 0) the mean NLL equals the "
        "cross-entropy against the empirical distribution (2/3, 0, 1/3)."
    ),
    references=["Goodfellow, Bengio, Courville, Deep Learning (2016), §5.5 and §6.2.1.1"],
    tags=["probability", "cross-entropy", "likelihood", "softmax"],
)
def cross_entropy_is_nll():
    log_prob = check_identity("-log(softmax(z))", "logsumexp(z) - z", shapes={"z": "3"})
    p = "exp(zK)/(exp(z0) + exp(z1) + exp(z2))"
    p0, p2 = p.replace("zK", "z0"), p.replace("zK", "z2")
    empirical = check_identity(
        f"-(log({p0}) + log({p2}) + log({p0}))/3", f"-(2/3*log({p0}) + 1/3*log({p2}))"
    )
    return [log_prob, empirical]


@proof(
    "Gaussian negative log-likelihood is a scaled squared error",
    statement=(
        "−log N(y; f, s²) = (y − f)²/(2s²) + ½ log(2πs²): for fixed s, maximum likelihood "
        "is least squares; its gradient in f is (f − y)/s²."
    ),
    references=["Bishop, Pattern Recognition and Machine Learning (2006), §3.1.1"],
    tags=["probability", "likelihood", "mse", "gaussian"],
)
def gaussian_nll_is_mse():
    density = "exp(-(y - f)**2/(2*s**2))/sqrt(2*pi*s**2)"
    kinds = {"s": "positive"}
    nll = check_identity(f"-log({density})", "(y - f)**2/(2*s**2) + log(2*pi*s**2)/2", assume=kinds)
    gradient = check_derivative(f"-log({density})", "f", "(f - y)/s**2", assume=kinds)
    return [nll, gradient]


@proof(
    "Softmax cross-entropy is convex in the logits",
    statement=(
        "The Hessian of −Σ yᵢ log softmax(z)ᵢ (y a probability vector) is "
        "H = diag(p) − ppᵀ, p = softmax(z), and vᵀHv = Σ pᵢ(vᵢ − Σⱼ pⱼvⱼ)² — the variance "
        "of v under p — which is ≥ 0: H is positive semidefinite."
    ),
    references=["Boyd & Vandenberghe, Convex Optimization (2004), §3.1.5 (log-sum-exp)"],
    tags=["probability", "cross-entropy", "convexity", "hessian"],
)
def softmax_cross_entropy_convex():
    shapes = {"z": "3", "v": "3", "y": "3"}
    hessian = check_derivative(
        "softmax(z) - y", "z", "diag(softmax(z)) - softmax(z) @ softmax(z).T", shapes=shapes
    )
    form = check_identity(
        "v.T @ (diag(softmax(z)) - softmax(z) @ softmax(z).T) @ v",
        "sum(softmax(z)*(v - sum(softmax(z)*v))**2)",
        shapes=shapes,
    )
    return [hessian, form]


@proof(
    "The 3-point Gauss–Hermite rule gives the Gaussian moments exactly",
    statement=(
        "For ε ~ N(0, 1), E[h(ε)] = (h(−√3) + 4h(0) + h(√3))/6 exactly when h is a polynomial "
        "of degree ≤ 5: the moments 1, 0, 1, 0, 3, 0 of ε⁰…ε⁵ are reproduced (at ε⁶ the rule gives "
        "9, not E[ε⁶] = 15). The generative and attention proofs use this rule on "
        "polynomial integrands of degree ≤ 5."
    ),
    references=[
        "Abramowitz & Stegun, Handbook of Mathematical Functions (1964), 25.4.46",
        "Golub & Welsch, Calculation of Gauss quadrature rules, Math. Comp. 23 (1969)",
    ],
    tags=["probability", "gaussian", "quadrature", "lemma"],
)
def gauss_hermite_moments():
    def rule(k):
        return f"((-sqrt(3))**{k} + 4*0**{k} + sqrt(3)**{k})/6"

    exact = [check_identity("(1 + 4 + 1)/6", "1")]
    exact += [check_identity(rule(k), m) for k, m in zip(range(1, 6), "01030", strict=True)]
    beyond = check_identity(rule(6), "9")  # E[ε⁶] = 15: the rule stops being exact
    return [*exact, beyond]
