"""Regularisation: ridge, the L1 proximal operator, dropout, batch and layer normalisation,
label smoothing."""

from symdl import check_derivative, check_identity, proof

_RIDGE = {"X": "3x2", "y": "3", "w": "2"}
_W_RIDGE = "inv(X.T @ X + diag(lam*ones_like(w))) @ X.T @ y"
_BATCH = {"x": "4", "g": "4"}
_SIGMA = "sqrt(mean((x - mean(x))**2) + eps)"
_XHAT = f"(x - mean(x))/{_SIGMA}"


@proof(
    "Ridge regression: the gradient and the closed form",
    statement=(
        "∇_w (‖Xw − y‖² + λ‖w‖²) = 2Xᵀ(Xw − y) + 2λw, which vanishes at "
        "w* = (XᵀX + λI)⁻¹Xᵀy: Xᵀ(Xw* − y) = −λw*. The objective is strictly convex for "
        "λ > 0, so w* is its unique minimiser."
    ),
    references=[
        "Hastie, Tibshirani, Friedman, The Elements of Statistical Learning (2009), "
        "§3.4.1, eq. (3.44)",
        "Hoerl & Kennard, Ridge regression: biased estimation for nonorthogonal problems, "
        "Technometrics 12 (1970)",
    ],
    tags=["regularisation", "ridge", "l2", "closed-form"],
)
def ridge_closed_form():
    gradient = check_derivative(
        "sum((X @ w - y)**2) + lam*sum(w**2)",
        "w",
        "2*X.T @ (X @ w - y) + 2*lam*w",
        shapes=_RIDGE,
    )
    # the gradient vanishes at w*, written with both sides nonzero
    stationary = check_identity(
        f"X.T @ (X @ {_W_RIDGE} - y)", f"-lam*{_W_RIDGE}", shapes=_RIDGE, assume={"lam": "positive"}
    )
    return [gradient, stationary]


@proof(
    "Ridge shrinks least squares by 1/(1 + λ) for an orthonormal design",
    statement="For orthogonal X, (XᵀX + λI)⁻¹Xᵀy = Xᵀy/(1 + λ): every coefficient shrinks alike.",
    references=[
        "Hastie, Tibshirani, Friedman, The Elements of Statistical Learning (2009), §3.4.3, "
        "Table 3.4"
    ],
    tags=["regularisation", "ridge", "shrinkage"],
)
def ridge_orthonormal_shrinkage():
    return check_identity(
        "inv(X.T @ X + diag(lam*ones_like(y))) @ X.T @ y",
        "X.T @ y/(1 + lam)",
        shapes={"X": "2x2", "y": "2"},
        assume={"X": "orthogonal", "lam": "positive"},
    )


@proof(
    "Soft thresholding is the proximal operator of λ|x|",
    statement=(
        "prox(v) = argmin_x ½(x − v)² + λ|x| is S(v) = sign(v)·max(|v| − λ, 0). For "
        "v = ±(λ + t), t > 0: S(v) = ±t, the objective's derivative there is "
        "x − v + λ·sign(x), and x = v − λ·sign(x) holds at x = ±t (stationary; the objective "
        "is strictly convex). For |v| < λ, written v = λ·tanh(u): S(v) = 0, and 0 is optimal "
        "since the subdifferential λ·[−1, 1] at 0 contains v."
    ),
    references=[
        "Parikh & Boyd, Proximal Algorithms, Found. Trends Optim. 1(3) (2014), §6.5.2",
        "Tibshirani, Regression shrinkage and selection via the lasso, JRSS B (1996)",
    ],
    tags=["regularisation", "l1", "lasso", "proximal", "kink"],
)
def soft_threshold_prox():
    kinds = {"lam": "positive", "t": "positive"}
    soft = "sign(V)*relu(abs(V) - lam)"
    above = check_identity(soft.replace("V", "(lam + t)"), "t", assume=kinds)
    below = check_identity(soft.replace("V", "(-lam - t)"), "-t", assume=kinds)
    inside = check_identity(soft.replace("V", "(lam*tanh(u))"), "0*u", assume={"lam": "positive"})
    derivative = check_derivative(
        "(x - v)**2/2 + lam*abs(x)", "x", "x - v + lam*sign(x)", assume={"lam": "positive"}
    )
    stationary = check_identity("(lam + t) - lam*sign(t)", "t", assume=kinds)
    return [above, below, inside, derivative, stationary]


@proof(
    "Inverted dropout keeps the expectation; its variance is x²p/(1 − p)",
    statement=(
        "With a mask m ~ Bernoulli(1 − p) (p the drop rate) and output m·x/(1 − p): "
        "E = (1 − p)·x/(1 − p) + p·0 = x, and E[out²] − x² = x²/(1 − p) − x² = x²p/(1 − p)."
    ),
    references=[
        "Srivastava et al., Dropout: A Simple Way to Prevent Neural Networks from "
        "Overfitting, JMLR 15 (2014), §2 and §10"
    ],
    tags=["regularisation", "dropout", "expectation"],
)
def inverted_dropout_moments():
    mean = check_identity("(1 - p)*(x/(1 - p)) + p*0", "x")
    variance = check_identity("(1 - p)*(x/(1 - p))**2 + p*0**2 - x**2", "x**2*p/(1 - p)")
    return [mean, variance]


@proof(
    "Batch normalisation's backward pass (Ioffe & Szegedy)",
    statement=(
        "For a feature over a mini-batch of m values, x̂ = (x − μ)/√(σ² + ε), "
        "y = γx̂ + β, and an upstream gradient g = ∂L/∂y: "
        "∂L/∂x = γ/(m√(σ² + ε)) · (m g − Σg − x̂ Σ(g x̂)) — checked at m = 4."
    ),
    references=[
        "Ioffe & Szegedy, Batch Normalization: Accelerating Deep Network Training by "
        "Reducing Internal Covariate Shift (ICML 2015), §3"
    ],
    tags=["regularisation", "normalisation", "batch-norm", "backprop"],
)
def batch_norm_backward():
    claim = f"gam/(4*{_SIGMA})*(4*g - sum(g) - {_XHAT}*sum(g*{_XHAT}))"
    return check_derivative(
        f"sum(g*(gam*{_XHAT} + beta))", "x", claim, shapes=_BATCH, assume={"eps": "positive"}
    )


@proof(
    "Batch normalisation's output has mean 0 and variance σ²/(σ² + ε)",
    statement=(
        "Over the batch, mean(x̂) = 0 (checked as mean(x̂ + 1) = 1) and "
        "mean(x̂²) = σ²/(σ² + ε), σ² = mean((x − μ)²): unit variance up to ε."
    ),
    references=["Ioffe & Szegedy, Batch Normalization (ICML 2015), §3, Algorithm 1"],
    tags=["regularisation", "normalisation", "batch-norm"],
)
def batch_norm_moments():
    kinds = {"eps": "positive"}
    mean = check_identity(f"mean({_XHAT} + 1)", "1 + 0*eps", shapes=_BATCH, assume=kinds)
    variance = check_identity(
        f"mean(({_XHAT})**2)",
        "mean((x - mean(x))**2)/(mean((x - mean(x))**2) + eps)",
        shapes=_BATCH,
        assume=kinds,
    )
    return [mean, variance]


@proof(
    "Normalisation is invariant to rescaling its input",
    statement=(
        "With ε = 0, (cx − mean(cx))/std(cx) = (x − mean(x))/std(x) for c > 0: batch and "
        "layer normalisation undo a rescaling of the weights feeding them."
    ),
    references=[
        "Ba, Kiros, Hinton, Layer Normalization (2016), §5.1",
        "Ioffe & Szegedy, Batch Normalization (ICML 2015), §3.3",
    ],
    tags=["regularisation", "normalisation", "layer-norm", "invariance"],
)
def normalisation_scale_invariance():
    def normalise(v):
        return f"({v} - mean({v}))/sqrt(mean(({v} - mean({v}))**2))"

    return check_identity(
        normalise("(c*x)"), normalise("x"), shapes={"x": "4"}, assume={"c": "positive"}
    )


@proof(
    "Label smoothing: the gradient is softmax(z) minus the smoothed target",
    statement=(
        "With targets y' = (1 − ε)y + ε/K for a probability vector y over K classes, "
        "∂/∂z (−Σ y'ᵢ log softmax(z)ᵢ) = softmax(z) − y' (checked at K = 4)."
    ),
    references=[
        "Szegedy et al., Rethinking the Inception Architecture for Computer Vision (CVPR 2016), §7"
    ],
    tags=["regularisation", "label-smoothing", "cross-entropy", "softmax"],
)
def label_smoothing_gradient():
    return check_derivative(
        "-sum(((1 - e)*y + e/4)*log_softmax(z))",
        "z",
        "softmax(z) - ((1 - e)*y + e/4)",
        shapes={"z": "4", "y": "4"},
        assume={"y": "probability"},
    )


@proof(
    "Early stopping acts like L2 regularisation on a quadratic",
    statement=(
        "Gradient descent with step ε from w = 0 on a quadratic with minimiser w* and "
        "Hessian eigenvalue λ gives, after t steps, (1 − (1 − ελ)ᵗ)w* along that eigenvector "
        "(induction: the step w − ελ(w − w*) maps the t-step form to the (t + 1)-step form). "
        "Ridge with weight α gives λ/(λ + α)·w* = (1 − α/(λ + α))w*: the two shrinkages "
        "agree when (1 − ελ)ᵗ = α/(λ + α), so t steps play the role of α ≈ 1/(tε)."
    ),
    references=["Goodfellow, Bengio, Courville, Deep Learning (2016), §7.8"],
    tags=["regularisation", "early-stopping", "l2", "gradient-descent"],
)
def early_stopping_is_l2():
    gd = "(1 - (1 - e*l)**t)*w"
    induction = check_identity(f"{gd} - e*l*({gd} - w)", "(1 - (1 - e*l)**(t + 1))*w")
    ridge = check_identity("l/(l + a)", "1 - a/(l + a)")
    return [induction, ridge]
