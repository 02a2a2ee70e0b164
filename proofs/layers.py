"""Layers: backward rules of symdl's layer registry, each proved against SymPy's entrywise
derivative at small sizes with its generated code checked against finite differences;
backpropagation through a whole network; the recurrent bound; inverted dropout."""

from symdl import Evidence, Report, backprop, dropout_moments, layer, proof, rnn_gradient_bound
from symdl.derive.layers import check_code, check_rule


def _layer_checks(text, shape):
    block = layer(text)
    return [check_rule(block, shape, timeout=60.0), check_code(block, shape)]


@proof(
    "Convolution backward: a full convolution with the flipped kernel",
    statement=(
        "For Z = X ⋆ W + b (PyTorch's conv2d, a cross-correlation, here with stride 2 and "
        "padding 1): ∂L/∂X = crop_p Σ_o dilate_s(Δ) ⋆full rot180(W), ∂L/∂W = "
        "X⁽ᵖ⁾ ⋆ dilate_s(Δ) summed over the batch, ∂L/∂b = Σ Δ over batch and positions; the "
        "rule written out at small sizes equals SymPy's entrywise derivative, and the "
        "generated im2col code matches finite differences."
    ),
    references=[
        "Goodfellow, Bengio, Courville, Deep Learning (2016), §9.5",
        "Dumoulin & Visin, A guide to convolution arithmetic for deep learning (2016), §4",
    ],
    tags=["architecture", "backprop", "convolution", "layer"],
)
def conv2d_backward():
    return _layer_checks("conv2d(1, 2, (2, 3), stride=2, padding=1)", (1, 4, 4)) + _layer_checks(
        "conv2d(2, 2, 3)", (2, 4, 4)
    )


@proof(
    "Max pooling routes the gradient to the argmax; average pooling spreads it",
    statement=(
        "Max pooling sends each window's upstream gradient to the window's first maximum "
        "(away from ties, where the maximum is differentiable); average pooling sends 1/k of "
        "it to every entry of the window, summing over overlapping windows."
    ),
    references=["Goodfellow, Bengio, Courville, Deep Learning (2016), §9.3"],
    tags=["architecture", "backprop", "pooling", "layer"],
)
def pooling_backward():
    return _layer_checks("maxpool2d(2, stride=1)", (1, 3, 3)) + _layer_checks(
        "avgpool2d(2, stride=1)", (1, 3, 3)
    )


@proof(
    "Backpropagation through time in an RNN, an LSTM and a GRU",
    statement=(
        "For h_t = tanh(W_xh x_t + W_hh h_(t−1) + b): δh_t = ∂L/∂h_t + W_hhᵀ(δh_(t+1) ⊙ "
        "(1 − h_(t+1)²)), with every weight gradient summed over time; the LSTM's gate "
        "gradients (forget gate: ∂L/∂f_t = δc_t ⊙ c_(t−1)) and the GRU's likewise; each rule, "
        "written out over the time steps, equals SymPy's entrywise derivative."
    ),
    references=[
        "Werbos, Backpropagation through time: what it does and how to do it, Proc. IEEE 78 (1990)",
        "Gers, Schmidhuber, Cummins, Learning to Forget: Continual Prediction with LSTM, "
        "Neural Computation 12 (2000)",
        "Cho et al., Learning Phrase Representations using RNN Encoder–Decoder, EMNLP 2014",
    ],
    tags=["architecture", "backprop", "rnn", "lstm", "gru", "layer"],
)
def recurrent_backward():
    return (
        _layer_checks("rnn(1, 2)", (2, 1))
        + _layer_checks("lstm(1, 1)", (2, 1))
        + _layer_checks("gru(1, 1)", (2, 1))
    )


@proof(
    "The batch-norm and layer-norm backward passes",
    statement=(
        "With X̂ = (X − 1μᵀ) diag(σ² + ε)^(−1/2) over the batch (batch norm) or over the "
        "features (layer norm) and Y = X̂ diag(γ) + 1βᵀ: ∂L/∂X = (1/m)(m D − 11ᵀD − "
        "X̂ diag(1ᵀ(D ⊙ X̂))) diag(σ² + ε)^(−1/2) with D = ∂L/∂Y diag(γ), "
        "∂L/∂γ = 1ᵀ(∂L/∂Y ⊙ X̂), ∂L/∂β = 1ᵀ ∂L/∂Y."
    ),
    references=[
        "Ioffe & Szegedy, Batch Normalization, ICML 2015, §3",
        "Ba, Kiros, Hinton, Layer Normalization (2016)",
    ],
    tags=["regularisation", "normalisation", "batch-norm", "layer"],
)
def normalisation_backward():
    return _layer_checks("batch_norm(2)", (2,)) + _layer_checks("layer_norm(2)", (2, 2))


@proof(
    "Scaled dot-product attention's backward pass",
    statement=(
        "For Y = softmax(QKᵀ/√d_k)V with Q = XW_q, K = XW_k, V = XW_v: ∂L/∂V = Aᵀ∂L/∂Y, "
        "∂L/∂S = A ⊙ (∂L/∂A − ((∂L/∂A ⊙ A)1)1ᵀ), ∂L/∂Q = ∂L/∂S K/√d_k, "
        "∂L/∂K = (∂L/∂S)ᵀQ/√d_k, and ∂L/∂X sums the three paths."
    ),
    references=["Vaswani et al., Attention Is All You Need, NeurIPS 2017, §3.2.1"],
    tags=["architecture", "backprop", "attention", "layer"],
)
def attention_backward():
    return _layer_checks("attention(2, 1, 1)", (2, 2))


@proof(
    "Backpropagation through a small CNN, end to end",
    statement=(
        "For input(1,4,4) | conv2d(1,2,3,padding=1) | relu | maxpool2d(2) | flatten | "
        "dense(8,3) | softmax_cross_entropy, the generated backward pass (each layer's "
        "vector–Jacobian product in reverse order) gives every parameter gradient and ∂L/∂x "
        "as finite differences of the generated forward pass do, and each layer's rule "
        "holds symbolically."
    ),
    references=[
        "Rumelhart, Hinton, Williams, Learning representations by back-propagating errors, "
        "Nature 323 (1986)",
        "LeCun et al., Gradient-based learning applied to document recognition, Proc. IEEE "
        "86 (1998)",
    ],
    tags=["architecture", "backprop", "network", "convolution"],
)
def cnn_backprop():
    result = backprop(
        "input(1,4,4) | conv2d(1,2,3,padding=1) | relu | maxpool2d(2) | flatten | "
        "dense(8,3) | softmax_cross_entropy"
    )
    return [report for _, report in result.check().reports]


@proof(
    "Vanishing and exploding gradients in an RNN: ‖∂h_t/∂h_k‖ ≤ (γ σ_max(W_hh))^(t−k)",
    statement=(
        "For h_t = φ(W_hh h_(t−1) + W_xh x_t + b): ∂h_t/∂h_k = Π_(i=k+1..t) diag(φ'(a_i)) W_hh "
        "and ‖∂h_t/∂h_k‖₂ ≤ (γ σ_max(W_hh))^(t−k) with γ = sup|φ'| (1 for tanh, 1/4 for the "
        "sigmoid): gradients vanish when γσ_max < 1 and can explode only when it exceeds 1."
    ),
    references=[
        "Pascanu, Mikolov, Bengio, On the difficulty of training recurrent neural networks, "
        "ICML 2013, §2.1",
    ],
    tags=["architecture", "rnn", "vanishing-gradients", "jacobian"],
)
def rnn_vanishing_bound():
    return [_bound_report(rnn_gradient_bound(name, instances=6)) for name in ("tanh", "sigmoid")]


def _bound_report(bound):
    evidence = Evidence(
        "random-instances",
        "agree" if bound.violations == 0 else "differ",
        bound.summary(),
        points=bound.pairs,
        worst_error=None,
    )
    return Report(
        bound.verdict, f"RNN gradient bound, φ = {bound.activation}", "numeric", (evidence,)
    )


@proof(
    "Inverted dropout preserves the expectation: E[y] = x, Var[y] = x²p/(1 − p)",
    statement=(
        "For y = x·m/(1 − p) with m ~ Bernoulli(1 − p): E[y] = x and Var[y] = x²p/(1 − p), "
        "derived from the Bernoulli distribution."
    ),
    references=[
        "Srivastava et al., Dropout: A Simple Way to Prevent Neural Networks from "
        "Overfitting, JMLR 15 (2014)",
    ],
    tags=["regularisation", "dropout", "probability"],
)
def inverted_dropout_moments():
    moments = dropout_moments()
    return [moments.expectation_claim, moments.variance_claim]
