"""What a network IS: typed spec, parts, discretisation, checkpoint I/O, importers, the FFT reference."""
from models.errors import CheckpointError, InputError, SimulatorError
from models.spec import Block, Decoder, Encoder, GLUMixing, GSUMixing, Network, Norm, SSM

__all__ = [
    "Block", "CheckpointError", "Decoder", "Encoder", "GLUMixing", "GSUMixing", "InputError",
    "Network", "Norm", "SSM", "SimulatorError",
]
