"""List what an HDF5 file holds without following anything out of it and without reading any data.

HDF5 can make a read leave the file: external and soft links, datasets whose raw data lives in other
files (external storage), virtual datasets mapping other files, and filters loaded from plugins. Our
checkpoints use none of these, so the survey refuses them all before the loader reads a byte of data.
"""
from __future__ import annotations

from pathlib import Path

import h5py

from models import limits
from models.errors import CheckpointError

# Filters HDF5 decodes by itself (gzip, shuffle, fletcher32) or h5py ships (lzf); anything else
# would make HDF5 search its plugin path for a shared library to load.
SAFE_FILTERS = {1: "gzip", 2: "shuffle", 3: "fletcher32", 32000: "lzf"}


def survey(f: h5py.File, path: Path) -> tuple[dict[str, h5py.Dataset], set[str]]:
    """(datasets by path, group paths) reachable through hard links; refuse every other kind of node."""
    datasets: dict[str, h5py.Dataset] = {}
    groups: set[str] = set()
    seen: set[tuple] = set()
    stack: list[tuple[str, h5py.Group]] = [("", f)]
    while stack:
        prefix, group = stack.pop()
        _check_attrs(group, path)
        for name in group:
            where = prefix + name
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise CheckpointError(f"{path}: /{where} is an external link to {link.filename!r}:{link.path!r}; "
                                      "expected a dataset or group stored in this file (links are never followed)")
            if isinstance(link, h5py.SoftLink):
                raise CheckpointError(f"{path}: /{where} is a soft link to {link.path!r}; expected a dataset or group "
                                      "stored here (links are never followed)")
            if not isinstance(link, h5py.HardLink):
                raise CheckpointError(f"{path}: /{where}: expected a dataset or group, found {type(link).__name__}")
            node = group[name]
            key = (node.id.fileno, h5py.h5o.get_info(node.id).addr)
            if key in seen:  # a second hard link to one object (possibly a cycle)
                raise CheckpointError(f"{path}: /{where} is a second link to an object already in the file; "
                                      "expected each dataset and group exactly once")
            seen.add(key)
            if len(seen) > limits.MAX_H5_OBJECTS:
                raise CheckpointError(f"{path}: more than {limits.MAX_H5_OBJECTS} objects; not a checkpoint")
            if isinstance(node, h5py.Group):
                groups.add(where)
                stack.append((where + "/", node))
            elif isinstance(node, h5py.Dataset):
                _check_dataset(node, where, path)
                datasets[where] = node
            else:
                raise CheckpointError(f"{path}: /{where}: expected a dataset or group, found {type(node).__name__}")
    return datasets, groups


def _check_dataset(ds: h5py.Dataset, where: str, path: Path) -> None:
    if ds.is_virtual:
        raise CheckpointError(f"{path}: dataset /{where} is a virtual dataset (data mapped from other files); "
                              "expected data stored in this file")
    if ds.external:
        files = sorted({str(e[0]) for e in ds.external})
        raise CheckpointError(f"{path}: dataset /{where} keeps its data in external files {files}; expected data "
                              "stored in this file")
    plist = ds.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code = plist.get_filter(i)[0]
        if code not in SAFE_FILTERS:
            raise CheckpointError(f"{path}: dataset /{where} uses HDF5 filter {code}; expected only "
                                  f"{', '.join(SAFE_FILTERS.values())} (other filters load plugin libraries)")
    _check_attrs(ds, path)


def _check_attrs(node, path: Path) -> None:
    """Every attribute of the format is one scalar; refuse arrays before reading them."""
    for name in node.attrs:
        shape = node.attrs.get_id(name).shape
        if shape != ():
            raise CheckpointError(f"{path}: attribute {name!r} of {node.name!r}: expected a single value, "
                                  f"found an array of shape {shape}")
