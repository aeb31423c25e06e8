"""Layers as parts: a block is [norm] -> ssm -> activation -> mixing -> [residual] (docs/architecture.md).

Each part kind is a small frozen dataclass registered by (role, kind). It owns what it IS: its parameter
arrays and scalar settings with their shapes and ranges (so the HDF5 reader and writer need no per-kind
code), its float64 reference forward in plain numpy (written apart from the engine kernels, so the
reference stays a real check), and its hardware needs as facts. How a part RUNS lives in simulator/parts/.
"""
from models.parts import activation, mixing, norm, s4d  # noqa: F401  (importing registers the kinds)
from models.parts import lif, linear, s4d_real, s5, sigma_delta  # noqa: F401
from models.parts.activation import GELU, Heaviside, Ternary
from models.parts.base import Part
from models.parts.mixing import GLU, GSU
from models.parts.norm import BatchNorm, LayerNorm
from models.parts.registry import ROLES, kinds, part_class, register
from models.parts.s4d import S4D
from models.parts.lif import LIF
from models.parts.linear import Linear
from models.parts.s4d_real import S4DReal
from models.parts.s5 import S5
from models.parts.sigma_delta import ReLUSigmaDelta

__all__ = ["GELU", "GLU", "GSU", "LIF", "BatchNorm", "Heaviside", "LayerNorm", "Linear", "Part", "ROLES",
           "ReLUSigmaDelta", "S4D", "S4DReal", "S5", "Ternary", "kinds", "part_class", "register"]
