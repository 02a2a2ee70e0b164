"""Every gradient checker the bug and cost benchmarks compare, behind one signature.

``check(loss, grad, W) -> bool``: True when the checker flags the gradient ``grad`` of
``loss`` at ``W`` as wrong. ``loss`` and ``grad`` are NumPy functions computing in the
dtype of ``W``. The peers get them the way their users would wire a hand-written gradient
in: a ``torch.autograd.Function`` whose ``backward`` returns ``grad`` (for
``torch.autograd.gradcheck``), a ``jax.custom_jvp`` whose tangent is ``⟨grad, t⟩`` over
``jax.pure_callback`` (for ``jax.test_util.check_grads``), and flat vectors for
numdifftools and SciPy. Each peer runs at its default settings; the pass/fail rule for
the two peers that only estimate a gradient is stated in :data:`RULES`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import scipy.optimize

from benchmarks import peers
from symdl import PrecisionWarning, gradcheck
from symdl.verify.sampled import sampled_gradcheck

Fn = Callable[[np.ndarray], np.ndarray]
Check = Callable[[Fn, Fn, np.ndarray], bool]

RULES = {
    "symdl gradcheck": "verdict refuted (every entry: complex step, or the fourth-order "
    "stencil on code that is not holomorphic; suspects re-checked with f's measured noise "
    "and confirmed by a stencil on other points)",
    "symdl sampled": "sampled_gradcheck refuted (16 Rademacher projections + 8 coordinates)",
    "torch gradcheck": "returns False (defaults eps=1e-6, atol=1e-5, rtol=1e-3)",
    "torch gradcheck fast_mode": "returns False (same defaults, fast_mode=True)",
    "jax check_grads fwd": "AssertionError (defaults eps=1e-4, rtol=atol=1e-5 in float64, "
    "2e-3 in float32)",
    "jax check_grads rev": "AssertionError (same defaults, modes=('rev',))",
    "numdifftools": "not numpy.allclose(grad, nd.Gradient(loss)(w)) (rtol=1e-5, atol=1e-8)",
    "scipy check_grad": "check_grad(loss, grad, w) > 1e-5·‖grad‖₂ (forward differences, h=√ε)",
}


def symdl_full(loss: Fn, grad: Fn, W: np.ndarray) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        return gradcheck(loss, grad, W).verdict == "refuted"


def symdl_sampled(loss: Fn, grad: Fn, W: np.ndarray) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)
        return sampled_gradcheck(loss, grad, W).verdict == "refuted"


def _torch_check(fast: bool) -> Check | None:
    torch = peers.torch()
    if torch is None:
        return None

    def check(loss: Fn, grad: Fn, W: np.ndarray) -> bool:
        class Custom(torch.autograd.Function):
            @staticmethod
            def forward(ctx, w):  # type: ignore[no-untyped-def]
                ctx.save_for_backward(w)
                return torch.as_tensor(np.asarray(loss(w.detach().numpy())))

            @staticmethod
            def backward(ctx, grad_out):  # type: ignore[no-untyped-def]
                (w,) = ctx.saved_tensors
                return grad_out * torch.as_tensor(grad(w.detach().numpy()).astype(W.dtype))

        w = torch.tensor(W, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about float32 inputs
            ok = torch.autograd.gradcheck(Custom.apply, (w,), fast_mode=fast, raise_exception=False)
        return not ok

    return check


def _jax_check(mode: str) -> Check | None:
    jax = peers.jax()
    if jax is None:
        return None
    from jax.test_util import check_grads

    def check(loss: Fn, grad: Fn, W: np.ndarray) -> bool:
        dtype = W.dtype

        @jax.custom_jvp
        def f(w):  # type: ignore[no-untyped-def]
            out = jax.ShapeDtypeStruct((), dtype)
            return jax.pure_callback(lambda v: np.asarray(loss(np.asarray(v)), dtype), out, w)

        @f.defjvp
        def f_jvp(primals, tangents):  # type: ignore[no-untyped-def]
            (w,), (t,) = primals, tangents
            shape = jax.ShapeDtypeStruct(w.shape, dtype)
            g = jax.pure_callback(lambda v: np.asarray(grad(np.asarray(v)), dtype), shape, w)
            return f(w), jax.numpy.sum(g * t)

        try:
            check_grads(f, (jax.numpy.asarray(W),), order=1, modes=(mode,))
        except AssertionError:
            return True
        return False

    return check


def _numdifftools_check() -> Check | None:
    nd = peers.numdifftools()
    if nd is None:
        return None

    def check(loss: Fn, grad: Fn, W: np.ndarray) -> bool:
        estimate = nd.Gradient(lambda v: loss(v.reshape(W.shape).astype(W.dtype)))(
            W.astype(np.float64).ravel()
        )
        return not np.allclose(np.ravel(grad(W)), estimate)

    return check


def scipy_check(loss: Fn, grad: Fn, W: np.ndarray) -> bool:
    claimed = np.ravel(grad(W)).astype(np.float64)
    err = scipy.optimize.check_grad(
        lambda v: float(loss(v.reshape(W.shape).astype(W.dtype))),
        lambda v: np.ravel(grad(v.reshape(W.shape).astype(W.dtype))).astype(np.float64),
        W.astype(np.float64).ravel(),
    )
    return bool(err > 1e-5 * max(float(np.linalg.norm(claimed)), 1e-300))


def checkers() -> dict[str, Check | None]:
    """name → check, or None when the peer is not installed."""
    return {
        "symdl gradcheck": symdl_full,
        "symdl sampled": symdl_sampled,
        "torch gradcheck": _torch_check(fast=False),
        "torch gradcheck fast_mode": _torch_check(fast=True),
        "jax check_grads fwd": _jax_check("fwd"),
        "jax check_grads rev": _jax_check("rev"),
        "numdifftools": _numdifftools_check(),
        "scipy check_grad": scipy_check,
    }
