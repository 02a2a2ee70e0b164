r"""Hypothesis strategies that know the mathematics: kinks, domains, matrix structure.

The only part of symdl that imports hypothesis (this package). Strategies follow hypothesis's own
style: plural nouns, keyword-only bounds, and
:class:`hypothesis.errors.InvalidArgument` for arguments that cannot be satisfied
(never a strategy that silently draws nothing).

>>> from hypothesis import given
>>> @given(points("relu", min_value=-3.0, max_value=3.0))
... def test_relu_grad(x):
...     assert abs(x) >= 0.05          # never within the kink's margin
>>> test_relu_grad()

Guarantees, each checked over many draws by the test suite:

- :func:`points` — inside the domain and at least ``margin`` from every kink, pole and
  domain edge read off the expression (rounded inwards, exactly);
- :func:`matrices` — ``invertible``: :math:`\kappa_2(A) \le` ``max_condition``;
  ``symmetric``: :math:`A = A^\top` exactly; ``spd``: symmetric, Cholesky succeeds and
  :math:`\kappa_2(A) \le` ``max_condition``; ``orthogonal``: :math:`|Q^\top Q - I| \le
  10\,n\,\varepsilon` entrywise (orthonormal columns for a tall shape);
- :func:`probability_vectors` — entries :math:`\ge` ``min_probability`` and
  :math:`|\sum p - 1| \le n\,\varepsilon`;
- :func:`networks` — network descriptions (``dense(3, 4) | tanh | …``) whose layers'
  shapes chain, from every kind of the layer registry;
- :func:`layer_inputs` — a batch, parameters and data for one registered layer, with the
  input away from an activation's kinks and distinct where max pooling needs it;
- :func:`expressions` — input-language text of a function that is :math:`C^\infty` on all
  of :math:`\mathbb{R}^k` (no kinks, no domain edges), nested at most ``max_depth`` deep.
"""

from symdl.strategies.arrays import KINDS, matrices, probability_vectors, shapes, variables
from symdl.strategies.catalogue import activations, losses, points
from symdl.strategies.expressions import expressions
from symdl.strategies.layers import layer_inputs
from symdl.strategies.networks import networks
from symdl.strategies.search import PROFILES, counterexample, load_profile, register_profiles

__all__ = [
    "KINDS",
    "PROFILES",
    "activations",
    "counterexample",
    "expressions",
    "layer_inputs",
    "load_profile",
    "losses",
    "matrices",
    "networks",
    "points",
    "probability_vectors",
    "register_profiles",
    "shapes",
    "variables",
]
