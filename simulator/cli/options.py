"""Parsed command-line options, read-only, and the option groups several commands share."""
from __future__ import annotations

import argparse
from pathlib import Path

from models import presets
from models.errors import InputError


class Options:
    """The parsed arguments of one command, frozen: a command derives changed copies with replace(), so no
    part of a run can change what another part was told."""

    __slots__ = ("_values",)

    def __init__(self, values: dict):
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"options are read-only (tried to set {name!r}); use replace()")

    def replace(self, **changes) -> "Options":
        return Options({**self._values, **changes})


def add_import_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("for paper checkpoints (.pt/.ckpt/.safetensors): what shapes cannot tell")
    g.add_argument("--disc", choices=("bilinear", "zoh"), default=None,
                   help="discretisation the model was trained with (default: bilinear, the paper code's)")
    g.add_argument("--decoder", choices=("pool", "last"), default=None,
                   help="decoder mode (default: pool, the paper code's)")
    g.add_argument("--kind", choices=presets.ARCHS, default=None,
                   help="network kind (models/presets.py); GSU is detected from its keys, Binary S4D and the S4D "
                        "(GELU) baseline share one layout, and the new recipes use ours: give it when no model "
                        "card (X.json beside X.pt) says which")


def add_data_options(p, default_samples=None, dtype=True, shards=True, distributed=True, resume=True,
                     samples=True) -> None:
    """The options that choose a network, its input and how to run it; a command takes only those it honours."""
    p.add_argument("checkpoint", nargs="?", default=None,
                   help="model (.h5, .pt, .ckpt, .safetensors); default: the scenario's shipped checkpoint")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--scenario", default=None, help="scenario name (smnist, psmnist, digits); default smnist")
    src.add_argument("--input", default=None, help=".npy array (samples, L, d_input), or (samples, L) int tokens")
    p.add_argument("--labels", default=None, help=".npy int array (samples,) of true classes, with --input")
    if samples:
        p.add_argument("--samples", type=int, default=default_samples,
                       help=f"number of samples (default: {'all' if default_samples is None else default_samples})")
    p.add_argument("--engine", choices=("event", "dense"), default="event")
    if dtype:
        from simulator.cli.precision import add_precision_options
        add_precision_options(p)
    if shards:
        p.add_argument("--batch-size", type=int, default=16,
                       help="samples simulated together" + (", saved together: the most a kill can lose"
                                                             if resume else ""))
    if distributed:
        p.add_argument("--cluster", default=None, help="local:N: shard samples over a Dask LocalCluster of N workers")
        p.add_argument("--scheduler", default=None, help="tcp://HOST:PORT of an existing Dask scheduler")
    if resume:
        p.add_argument("--resume", action="store_true", help="continue the interrupted run stored in --out")
    unused = {"samples": samples, "dtype": dtype, "precision": dtype, "calibration": dtype,
              "calibration_input": dtype, "batch_size": shards, "cluster": distributed,
              "scheduler": distributed, "resume": resume}
    p.set_defaults(**{name: None for name, taken in unused.items() if not taken})


def import_options(checkpoint, args) -> dict:
    """--kind/--disc/--decoder describe paper checkpoints; an .h5 records its own, so giving them is an error."""
    given = {k: getattr(args, k, None) for k in ("kind", "disc", "decoder")}
    given = {k: v for k, v in given.items() if v is not None}
    if given and Path(str(checkpoint)).suffix.lower() in (".h5", ".hdf5"):
        flags = ", ".join(f"--{k} {v}" for k, v in given.items())
        raise InputError(f"{checkpoint}: {flags} only apply to paper checkpoints (.pt/.ckpt/.safetensors); an .h5 "
                         f"records its own (see `info {checkpoint}`): drop the option(s)")
    return given
