"""Matrix derivatives that appear throughout deep learning."""

from symdl import check_derivative, check_identity, proof


@proof(
    "Gradient of the log-determinant",
    statement="∂/∂X log det X = X^{−T} (for det X > 0; no symmetry assumed).",
    references=["Petersen & Pedersen, The Matrix Cookbook (2012), eq. (57)"],
    tags=["matrix", "logdet", "normalising-flows"],
)
def logdet_gradient():
    return check_derivative("logdet(X)", "X", "inv(X).T", shapes={"X": "3x3"})


@proof(
    "Gradient of a quadratic form",
    statement="∂/∂x xᵀAx = (A + Aᵀ)x; for symmetric A this is 2Ax.",
    references=["Petersen & Pedersen, The Matrix Cookbook (2012), eq. (81)"],
    tags=["matrix", "quadratic-form"],
)
def quadratic_form_gradient():
    general = check_derivative("x.T @ A @ x", "x", "(A + A.T) @ x", shapes={"A": "3x3", "x": "3"})
    symmetric = check_derivative(
        "x.T @ A @ x", "x", "2*A @ x", shapes={"A": "3x3", "x": "3"}, assume={"A": "symmetric"}
    )
    return [general, symmetric]


@proof(
    "Backprop through a dense tanh layer",
    statement="∂/∂W Σ tanh(Wx + b) = (1 − tanh²(Wx + b)) xᵀ — the δ of the layer times xᵀ.",
    tags=["neuron", "backprop", "tanh"],
)
def dense_tanh_layer_gradient():
    shapes = {"W": "3x2", "x": "2", "b": "3"}
    return check_derivative(
        "sum(tanh(W @ x + b))", "W", "(1 - tanh(W @ x + b)**2) @ x.T", shapes=shapes
    )


_SVD = {"U": "2x2", "V": "2x2", "s": "2", "m": "2"}
_ORTHOGONAL = {"U": "orthogonal", "V": "orthogonal"}


@proof(
    "PCA from the SVD: XᵀX = V diag(s²) Vᵀ",
    statement=(
        "For X = U diag(s) Vᵀ with U, V orthogonal, XᵀX = V diag(s²) Vᵀ: the right singular "
        "vectors are the principal directions (eigenvectors of XᵀX) and the squared singular "
        "values their eigenvalues — checked at 2×2."
    ),
    references=[
        "Goodfellow, Bengio, Courville, Deep Learning (2016), §2.8 and §2.12",
        "Jolliffe, Principal Component Analysis (2002), §3.5",
    ],
    tags=["linear-algebra", "svd", "pca"],
)
def pca_from_svd():
    x = "(U @ diag(s) @ V.T)"
    return check_identity(f"{x}.T @ {x}", "V @ diag(s**2) @ V.T", shapes=_SVD, assume=_ORTHOGONAL)


@proof(
    "The truncated SVD's error is the sum of the dropped σᵢ²",
    statement=(
        "Keeping the singular values selected by a mask m (mᵢ = 1 keep, 0 drop): "
        "‖U diag(s) Vᵀ − U diag(s ⊙ m) Vᵀ‖²_F = Σ sᵢ²(1 − mᵢ)², because the Frobenius norm "
        "is invariant under orthogonal U and V (the identity holds for every m). "
        "Eckart–Young's theorem — that no rank-k matrix does better than keeping the k "
        "largest — is cited, not checked here."
    ),
    references=[
        "Eckart & Young, The approximation of one matrix by another of lower rank, "
        "Psychometrika 1(3) (1936)",
        "Baldi & Hornik, Neural networks and principal component analysis, "
        "Neural Networks 2(1) (1989)",
    ],
    tags=["linear-algebra", "svd", "low-rank", "autoencoder"],
)
def truncated_svd_error():
    return check_identity(
        "sum((U @ diag(s) @ V.T - U @ diag(s*m) @ V.T)**2)",
        "sum((s*(1 - m))**2)",
        shapes=_SVD,
        assume=_ORTHOGONAL,
    )
