"""Verification: symbolic proof, high-precision and finite-difference checks, and diagnosis
of refuted claims. The public names are re-exported here by the lead engineer."""
