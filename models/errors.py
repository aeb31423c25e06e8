"""The project's own exception types: every user-facing failure is one of these."""


class SimulatorError(Exception):
    """Base class: the command line prints the message and exits with code 2."""


class CheckpointError(SimulatorError):
    """A checkpoint file is unreadable, malformed, mismatched or describes an unusable network."""


class InputError(SimulatorError):
    """Inputs (arrays, options) do not fit the network or the request."""
