"""PyTorch modules of the network parts, one module per part kind (scenarios/torch_model.py composes them)."""
