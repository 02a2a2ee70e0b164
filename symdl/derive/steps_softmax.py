r"""The softmax Jacobian, derived entry by entry and assembled.

With :math:`p_i = e^{z_i}/S`, :math:`S = \sum_k e^{z_k}`, the quotient rule gives

.. math::
    \frac{\partial p_i}{\partial z_i} = p_i (1 - p_i), \qquad
    \frac{\partial p_i}{\partial z_j} = -p_i p_j \ (j \ne i), \qquad
    J = \operatorname{diag}(p) - p p^{\top},

(Bishop, *Pattern Recognition and Machine Learning*, 2006, eq. 4.106). The two entries
are :class:`~symdl.derivation.Derivation` objects for ``n`` concrete inputs (every step
checked); the matrix statement is checked by :func:`symdl.verify.check_derivative` for a
vector of symbolic length (entrywise at concrete sizes: ``verified``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from symdl.budget import DEFAULT_TIMEOUT
from symdl.derivation import Derivation, Step, mathematical_verdict
from symdl.derive.steps import derive
from symdl.render.latex import latex_text
from symdl.verify import Report, check_derivative

__all__ = ["SoftmaxJacobian", "softmax_jacobian"]

_MATRIX = "diag(softmax(z)) - softmax(z) @ softmax(z).T"
_RANK = {"proved": 0, "verified": 1, "undecided": 2, "unchecked": 3, "refuted": 4}


@dataclass(frozen=True)
class SoftmaxJacobian:
    """The diagonal and off-diagonal entries' derivations and the matrix claim's check."""

    n: int
    diagonal: Derivation
    off_diagonal: Derivation
    matrix: Report | None = None

    def verify(
        self,
        *,
        points: int = 8,
        precision: int = 30,
        timeout: float = DEFAULT_TIMEOUT,
        seed: int = 0,
    ) -> SoftmaxJacobian:
        options = {"points": points, "precision": precision, "timeout": timeout, "seed": seed}
        return replace(
            self,
            diagonal=self.diagonal.verify(**options),  # type: ignore[arg-type]
            off_diagonal=self.off_diagonal.verify(**options),  # type: ignore[arg-type]
            matrix=check_derivative("softmax(z)", "z", _MATRIX, shapes={"z": "n"}, **options),  # type: ignore[arg-type]
        )

    @property
    def verdict(self) -> str:
        if self.matrix is None:
            return "unchecked"
        verdicts = [self.diagonal.verdict, self.off_diagonal.verdict]
        verdicts.append(mathematical_verdict(self.matrix))
        return max(verdicts, key=lambda v: _RANK.get(v, 4))

    @property
    def sound(self) -> bool:
        return self.verdict in ("proved", "verified")

    def _matrix_line(self) -> str:
        got = "unchecked" if self.matrix is None else self.matrix.verdict
        return f"J = diag(p) − p pᵀ (J_ij = ∂p_i/∂z_j), checked for z of length n: {got}"

    def text(self, *, width: int = 100) -> str:
        return "\n".join(
            [
                f"softmax Jacobian ({self.verdict}); p_k = exp(z_k)/S, S = Σ_k exp(z_k), "
                f"n = {self.n}",
                "",
                "diagonal entry ∂p_1/∂z_1:",
                self.diagonal.text(width=width),
                "",
                "off-diagonal entry ∂p_1/∂z_2 (every j ≠ i alike, by symmetry):",
                self.off_diagonal.text(width=width),
                "",
                self._matrix_line(),
            ]
        )

    def latex(self, *, standalone: bool = False) -> str:
        got = "unchecked" if self.matrix is None else self.matrix.verdict
        body = "\n".join(
            [
                rf"\paragraph{{Diagonal entry ({latex_text(self.diagonal.verdict)}).}}",
                self.diagonal.latex(),
                r"\paragraph{Off-diagonal entry, every $j \neq i$ alike "
                rf"({latex_text(self.off_diagonal.verdict)}).}}",
                self.off_diagonal.latex(),
                r"\paragraph{Assembled.} $J = \operatorname{diag}(p) - p p^{\top}$, "
                rf"$J_{{ij}} = \partial p_i / \partial z_j$: \textbf{{{latex_text(got)}}}.",
            ]
        )
        if not standalone:
            return body
        return "\n".join(
            [
                r"\documentclass{article}",
                r"\usepackage{amsmath,amssymb}",
                r"\begin{document}",
                rf"\section*{{The softmax Jacobian ({latex_text(self.verdict)})}}",
                r"{\small",
                body,
                "}",
                r"\end{document}",
                "",
            ]
        )

    def html(self) -> str:
        """A self-contained page (KaTeX inlined; nothing fetched)."""
        from symdl.render.html import softmax_jacobian_html

        return softmax_jacobian_html(self)

    def markdown(self) -> str:
        return "\n".join(
            [
                f"**The softmax Jacobian** ({self.verdict})",
                "",
                "Diagonal entry:",
                "",
                self.diagonal.markdown(),
                "Off-diagonal entry (every j ≠ i alike):",
                "",
                self.off_diagonal.markdown(),
                self._matrix_line(),
                "",
            ]
        )


def softmax_jacobian(*, n: int = 3) -> SoftmaxJacobian:
    r"""The softmax Jacobian's derivation (unchecked; call ``verify``).

    >>> jac = softmax_jacobian(n=3)
    >>> jac.off_diagonal.steps[0].rule
    'constant multiple rule'
    """
    if not (isinstance(n, int) and 2 <= n <= 8):
        raise ValueError(f"n must be an integer from 2 to 8, got {n!r}")
    z = [sp.Symbol(f"z{k}", real=True) for k in range(1, n + 1)]
    total = sp.Add(*[sp.exp(v) for v in z])
    p1, p2 = sp.exp(z[0]) / total, sp.exp(z[1]) / total
    diagonal = derive(p1, z[0], simplify=False)
    diagonal = _extend(
        diagonal,
        [
            (
                "split the fraction",
                r"\frac{e^{z_1} S - e^{2 z_1}}{S^{2}} "
                r"= \frac{e^{z_1}}{S}\cdot\frac{S - e^{z_1}}{S}",
                sp.Mul(p1, (total - sp.exp(z[0])) / total, evaluate=False),
            ),
            (
                "name the softmax entries",
                r"p_k = \frac{e^{z_k}}{S}:\ \frac{S - e^{z_1}}{S} = 1 - p_1",
                sp.Mul(p1, 1 - p1, evaluate=False),
            ),
        ],
    )
    off = derive(p1, z[1], simplify=False)
    off = _extend(
        off,
        [
            (
                "split the fraction",
                r"-\frac{e^{z_1} e^{z_2}}{S^{2}} "
                r"= -\frac{e^{z_1}}{S}\cdot\frac{e^{z_2}}{S} = -p_1 p_2",
                sp.Mul(-1, p1, p2, evaluate=False),
            )
        ],
    )
    return SoftmaxJacobian(n, diagonal, off)


def _extend(d: Derivation, route: list[tuple[str, str, sp.Basic]]) -> Derivation:
    steps, before = list(d.steps), d.result
    for rule, formula, form in route:
        steps.append(Step(rule=rule, formula=formula, before=before, after=form))
        before = form
    return replace(d, steps=tuple(steps), result=before)
