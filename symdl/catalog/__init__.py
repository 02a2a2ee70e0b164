"""The catalogue: activations and losses as data, with established properties and stable code."""

from symdl.catalog.activations import ACTIVATIONS
from symdl.catalog.code import activation_code
from symdl.catalog.entry import Activation, Loss, Parameter

__all__ = ["ACTIVATIONS", "Activation", "Loss", "Parameter", "activation_code"]
