"""Read our .h5 checkpoint into a Network, checking everything the file declares before reading data.

The format is closed: every attribute, group and dataset is listed in docs/checkpoint-format.md, and
anything else (an unknown attribute value, an extra dataset, a link) is refused with a CheckpointError
naming the file, the node, what was expected and what was found.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import h5py
import numpy as np

from models import limits, presets
from models.errors import CheckpointError
from models.h5_safety import survey
from models.parts import ROLES, part_class
from models.spec import DECODER_MODES, DISCRETISATIONS, ENCODER_KINDS, Block, Decoder, Encoder, Network

FORMAT_NAME = "ssm-snn-checkpoint"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)
SUMMARY_ATTRS = ("H", "N", "n_ssm", "n_layers", "directions", "d_input", "classes")  # informative copies
ROOT_ATTRS = {"format", "format_version", "disc", "prenorm", "metadata", "norm", *SUMMARY_ATTRS}
FLOAT_SIZES = (2, 4, 8)       # IEEE half, single, double
REQUIRED_ROLES = ("ssm", "activation", "mixing")  # a block's norm is optional


class Reader:
    def __init__(self, f: h5py.File, path: Path):
        self.f, self.path = f, path
        self.datasets, self.groups = survey(f, path)

    def fail(self, msg: str):
        raise CheckpointError(f"{self.path}: {msg}")

    # ---- attributes ---------------------------------------------------------------------------------
    def attr(self, where: str, name: str, kind: str):
        """One attribute of group `where` ('' = root), converted to a Python value of `kind`."""
        node = self.f[where] if where else self.f
        label = f"attribute {name!r} of {node.name!r}"
        if name not in node.attrs:
            self.fail(f"{label} is missing")
        v = node.attrs[name]
        if isinstance(v, bytes):
            try:
                v = v.decode()
            except UnicodeDecodeError:
                self.fail(f"{label}: expected UTF-8 text, found undecodable bytes")
        if isinstance(v, np.generic):
            v = v.item()
        ok = {"str": isinstance(v, str), "int": isinstance(v, int) and not isinstance(v, bool),
              "bool": isinstance(v, bool) or (isinstance(v, int) and v in (0, 1)),
              "float": isinstance(v, (int, float)) and not isinstance(v, bool)}[kind]
        if not ok:
            self.fail(f"{label}: expected {kind}, found {type(v).__name__} {v!r}")
        return bool(v) if kind == "bool" else float(v) if kind == "float" else v

    def choice(self, where: str, name: str, allowed: tuple[str, ...]) -> str:
        v = self.attr(where, name, "str")
        if v not in allowed:
            self.fail(f"attribute {name!r} of '/{where}': expected one of {', '.join(allowed)}, found {v!r}")
        return v

    def ranged(self, where: str, name: str, kind: str, problem):
        v = self.attr(where, name, kind)
        why = problem(v)
        if why:
            self.fail(f"attribute {name!r} of '/{where}': {why}")
        return v

    def only_attrs(self, where: str, allowed: set[str]) -> None:
        node = self.f[where] if where else self.f
        extra = sorted(set(node.attrs) - allowed)
        if extra:
            self.fail(f"unexpected attributes {extra} on '/{where}'; expected only {sorted(allowed)}")

    # ---- the network ------------------------------------------------------------------------------
    def network(self) -> Network:
        fmt = self.attr("", "format", "str")
        if fmt != FORMAT_NAME:
            self.fail(f"attribute 'format' is {fmt!r}, expected {FORMAT_NAME!r}")
        version = self.attr("", "format_version", "int")
        if version not in READABLE_VERSIONS:
            self.fail(f"format_version {version} is not supported by this simulator (it reads versions "
                      f"{', '.join(map(str, READABLE_VERSIONS))}); upgrade the simulator or re-export the file")
        self.only_attrs("", ROOT_ATTRS | ({"kind"} if version == 1 else set()))
        if version == 1 and "kind" not in self.f.attrs:
            self.fail("attribute 'kind' of '/' is missing (version 1 files name their layer kind there)")
        preset = self.choice("", "kind", presets.NAMES) if version == 1 else None
        disc = self.choice("", "disc", DISCRETISATIONS)
        prenorm = self.attr("", "prenorm", "bool")
        metadata = self.metadata()
        for g in ("blocks", "encoder", "decoder"):
            if g not in self.groups:
                self.fail(f"group /{g} is missing")
        names = sorted((g[len("blocks/"):] for g in self.groups if g.count("/") == 1 and g.startswith("blocks/")),
                       key=lambda s: int(s) if s.isdigit() else -1)
        if not names or names != [str(i) for i in range(len(names))]:
            self.fail(f"/blocks must hold groups 0..n-1 (at least one), found {names}")
        specs = [self.block_v1(i, preset) if version == 1 else self.block_v2(i) for i in range(len(names))]
        final = self.part_spec("final_norm", "norm") if "final_norm" in self.groups else None
        enc_kind = self.choice("encoder", "kind", ENCODER_KINDS)
        dec_mode = self.choice("decoder", "mode", DECODER_MODES)
        self.only_attrs("encoder", {"kind"})
        self.only_attrs("decoder", {"mode"})
        parts = [spec for block in specs for spec in block["parts"].values()] + ([final] if final else [])
        self.check_layout(self.expected_layout(parts, enc_kind), {spec["where"] for spec in parts if spec["where"]})

        blocks = tuple(Block(**{role: self.build(spec) for role, spec in b["parts"].items()}, residual=b["residual"])
                       for b in specs)
        encoder = Encoder(enc_kind, self.read("encoder/weight"),
                          self.read("encoder/bias") if enc_kind == "linear" else None)
        decoder = Decoder(dec_mode, self.read("decoder/weight"), self.read("decoder/bias"))
        net = Network(disc=disc, prenorm=prenorm, encoder=encoder, blocks=blocks,
                      final_norm=self.build(final) if final else None, decoder=decoder, metadata=metadata)
        self.check_summary(net)
        return net

    # ---- parts ---------------------------------------------------------------------------------------
    def part_spec(self, group: str, role: str, kind: str | None = None, settings: dict | None = None,
                  datasets: str | None = None) -> dict:
        """What a part group declares: its class, settings (range-checked) and where its datasets are.
        Version-1 files give kind/settings from elsewhere (block_v1); version 2 keeps them on the group."""
        if kind is None:
            kind = self.attr(group, "kind", "str")
        cls = part_class(role, kind, f"{self.path}: attribute 'kind' of '/{group}'")
        if settings is None:
            self.only_attrs(group, {"kind", *cls.SETTINGS})
            settings = {}
            for name, (typ, problem) in cls.SETTINGS.items():
                if name in self.f[group].attrs or name not in cls.OPTIONAL:
                    settings[name] = self.ranged(group, name, typ, problem)
        return {"cls": cls, "settings": settings, "where": datasets if datasets is not None else group}

    def block_v2(self, i: int) -> dict:
        b = f"blocks/{i}"
        self.only_attrs(b, {"residual"})
        residual = self.attr(b, "residual", "bool") if "residual" in self.f[b].attrs else True
        for role in REQUIRED_ROLES:
            if f"{b}/{role}" not in self.groups:
                self.fail(f"group /{b}/{role} is missing (a block needs {', '.join(REQUIRED_ROLES)}; norm is optional)")
        parts = {role: self.part_spec(f"{b}/{role}", role) for role in ROLES if f"{b}/{role}" in self.groups}
        return {"parts": parts, "residual": residual}

    def block_v1(self, i: int, preset: str) -> dict:
        """Version 1: one layer kind for the whole file (root 'kind'); the GSU spike ratio on the mixing group."""
        b = f"blocks/{i}"
        for g in (b + "/ssm", b + "/mixing"):
            if g not in self.groups:
                self.fail(f"group /{g} is missing")
        self.only_attrs(b, set())
        self.only_attrs(b + "/ssm", set())
        m = b + "/mixing"
        activation, mixing = presets.PRESETS[preset]
        mk = self.choice(m, "kind", ("glu", "gsu"))
        if mk != mixing:
            self.fail(f"attribute 'kind' of '/{m}' is {mk!r}, but the network's kind is {preset!r} "
                      f"(expected {mixing!r})")
        act_settings = {}
        if mixing == "gsu":
            self.only_attrs(m, {"kind", "norm_eps", "spike_ratio", "weight_ratio"})
            act_settings = {"ratio": self.ranged(m, "spike_ratio", "float", limits.ratio_problem)}
            mix_settings = {"norm_eps": self.ranged(m, "norm_eps", "float", limits.eps_problem),
                            "weight_ratio": self.ranged(m, "weight_ratio", "float", limits.ratio_problem)}
        else:
            self.only_attrs(m, {"kind"})
            mix_settings = {}
        parts = {"ssm": self.part_spec(b + "/ssm", "ssm", "s4d", {}),
                 "activation": self.part_spec(b, "activation", activation, act_settings, datasets=""),
                 "mixing": self.part_spec(m, "mixing", mixing, mix_settings)}
        if b + "/norm" in self.groups:
            parts["norm"] = self.part_spec(b + "/norm", "norm")
        return {"parts": parts, "residual": True}

    def build(self, spec: dict):
        cls, where = spec["cls"], spec["where"]
        return cls(**{name: self.read(f"{where}/{name}") for name in cls.ARRAYS}, **spec["settings"])

    def metadata(self) -> dict:
        text = self.attr("", "metadata", "str")
        try:
            meta = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:
            self.fail(f"attribute 'metadata' is not valid JSON ({type(e).__name__})")
        if not isinstance(meta, dict):
            self.fail(f"attribute 'metadata': expected a JSON object, found {type(meta).__name__}")
        return meta

    # ---- declared shapes, before any data is read -------------------------------------------------------
    def shape(self, p: str, ndim: int, what: str) -> tuple[int, ...]:
        if p not in self.datasets:
            self.fail(f"dataset /{p} is missing")
        shape = self.datasets[p].shape
        if shape is None or len(shape) != ndim or min(shape, default=1) < 1:
            self.fail(f"dataset /{p}: expected shape {what}, found {'no dataspace' if shape is None else shape}")
        return shape

    def expected_layout(self, parts: list[dict], enc_kind: str) -> dict[str, tuple]:
        """Every dataset's shape, from H (the decoder's width) and what each part makes of its own sizes."""
        enc = self.shape("encoder/weight", 2, "(H, d_input) or (vocabulary, H)")
        H = enc[0] if enc_kind == "linear" else enc[1]     # the width every part is checked against
        classes = self.shape("decoder/weight", 2, "(classes, H)")[0]
        layout = {"encoder/weight": (H, enc[1]) if enc_kind == "linear" else (enc[0], H),
                  "decoder/weight": (classes, H), "decoder/bias": (classes,)}
        if enc_kind == "linear":
            layout["encoder/bias"] = (H,)
        for spec in parts:
            cls, where = spec["cls"], spec["where"]
            declared = {}
            for name in cls.ARRAYS:
                shape = self.datasets[f"{where}/{name}"].shape if f"{where}/{name}" in self.datasets else None
                if shape is not None and name in cls.COMPLEX:
                    if not shape or shape[-1] != 2:
                        self.fail(f"dataset /{where}/{name}: expected a trailing (real, imag) axis of length 2, "
                                  f"found shape {shape}")
                    shape = shape[:-1]
                declared[name] = shape
            try:
                shapes = cls.shapes(H, {n: s for n, s in declared.items() if s is not None})
            except CheckpointError as e:
                self.fail(f"group /{where}: {e}")
            for name, shape in shapes.items():
                layout[f"{where}/{name}"] = shape + ((2,) if name in cls.COMPLEX else ())
        self.complex_paths = {f"{spec['where']}/{name}" for spec in parts for name in spec["cls"].COMPLEX}
        return layout

    def check_layout(self, layout: dict[str, tuple], part_groups: set[str]) -> None:
        declared = sum(math.prod(ds.shape or ()) for ds in self.datasets.values())
        if declared > limits.MAX_CHECKPOINT_ELEMENTS:
            self.fail(f"the datasets declare {declared:,} values in total; expected at most "
                      f"{limits.MAX_CHECKPOINT_ELEMENTS:,} (size cap)")
        extra = sorted(set(self.datasets) - set(layout))
        if extra:
            self.fail(f"unexpected datasets {['/' + e for e in extra[:8]]}: not part of this network's format")
        groups = {"/".join(p.split("/")[:k]) for p in [*layout, *(g + "/" for g in part_groups)]
                  for k in range(1, p.count("/") + 1)}
        extra = sorted(self.groups - groups)
        if extra:
            self.fail(f"unexpected groups {['/' + e for e in extra[:8]]}: not part of this network's format")
        for p, shape in layout.items():
            if p not in self.datasets:
                self.fail(f"dataset /{p} is missing (expected shape {shape})")
            ds = self.datasets[p]
            if ds.shape != shape:
                self.fail(f"dataset /{p}: expected shape {shape}, found {ds.shape}")
            if ds.dtype.kind != "f" or ds.dtype.itemsize not in FLOAT_SIZES:
                self.fail(f"dataset /{p}: expected floating-point data (float16/32/64), found {ds.dtype}")
            self.only_attrs(p, {"complex"} if p in self.complex_paths else set())

    def read(self, p: str) -> np.ndarray:
        """Data of a dataset already checked by check_layout; complex ones lose their (real, imag) axis."""
        a = np.ascontiguousarray(self.datasets[p][()], dtype=np.float64)
        return a.view(np.complex128)[..., 0] if p in self.complex_paths else a  # a view: exact, even for Inf

    def check_summary(self, net: Network) -> None:
        """The informative root attributes, when present, must agree with the datasets."""
        for name in SUMMARY_ATTRS:
            if name in self.f.attrs and self.attr("", name, "int") != getattr(net, name):
                self.fail(f"attribute {name!r} of '/' says {self.attr('', name, 'int')}, but the datasets give "
                          f"{name} = {getattr(net, name)}")
        if "norm" in self.f.attrs and self.attr("", "norm", "str") != net.norm_kind:
            self.fail(f"attribute 'norm' of '/' says {self.attr('', 'norm', 'str')!r}, but the datasets give "
                      f"{net.norm_kind!r}")
