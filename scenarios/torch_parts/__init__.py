"""PyTorch modules of the network parts, one module per part kind, registered by the kind's name in
models/parts (``registry.build(role, kind, cfg)``); scenarios/torch_model.py composes them into blocks.

Importing the package registers every kind."""
from scenarios.torch_parts import (gelu, glu, gsu, heaviside, lif, linear, norm, relu_sigma_delta,  # noqa: F401
                                   s4d, s4d_real, s5, ternary)
from scenarios.torch_parts.registry import PARTS, build  # noqa: F401
