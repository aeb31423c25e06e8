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

from models import limits
from models.errors import CheckpointError
from models.h5_safety import survey
from models.spec import (DECODER_MODES, DISCRETISATIONS, ENCODER_KINDS, LAYER_KINDS, NORM_KINDS, SSM, Block,
                         Decoder, Encoder, GLUMixing, GSUMixing, Network, Norm)

FORMAT_NAME = "ssm-snn-checkpoint"
FORMAT_VERSION = 1
MIXING_KINDS = ("glu", "gsu")
SUMMARY_ATTRS = ("H", "N", "n_ssm", "n_layers", "directions", "d_input", "classes")  # informative copies
ROOT_ATTRS = {"format", "format_version", "kind", "disc", "prenorm", "metadata", "norm", *SUMMARY_ATTRS}
NORM_ATTRS = {"kind", "eps", "num_batches_tracked"}
GSU_ATTRS = ("norm_eps", "spike_ratio", "weight_ratio")
COMPLEX = ("ssm/B", "ssm/C")  # stored with a trailing (real, imag) axis
FLOAT_SIZES = (2, 4, 8)       # IEEE half, single, double


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
        if version != FORMAT_VERSION:
            self.fail(f"format_version {version} is not supported by this simulator (it reads version "
                      f"{FORMAT_VERSION}); upgrade the simulator or re-export the file")
        self.only_attrs("", ROOT_ATTRS)
        kind = self.choice("", "kind", LAYER_KINDS)
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
        settings = [self.block_settings(i, kind) for i in range(len(names))]
        final = self.norm_settings("final_norm") if "final_norm" in self.groups else None
        enc_kind = self.choice("encoder", "kind", ENCODER_KINDS)
        dec_mode = self.choice("decoder", "mode", DECODER_MODES)
        self.only_attrs("encoder", {"kind"})
        self.only_attrs("decoder", {"mode"})
        self.check_layout(self.expected_layout(settings, final, enc_kind))

        def norm(prefix: str, s: dict | None) -> Norm | None:
            if s is None:
                return None
            stats = ("running_mean", "running_var") if s["kind"] == "batch" else ()
            return Norm(**s, **{n: self.read(f"{prefix}/{n}") for n in ("weight", "bias", *stats)})

        blocks = []
        for i, s in enumerate(settings):
            p = f"blocks/{i}/"
            ssm = SSM(**{n: self.read(p + "ssm/" + n) for n in ("log_dt", "inv_A_real", "A_imag", "B", "C", "D")})
            if s["gsu"] is not None:
                mixing = GSUMixing(**{n: self.read(p + "mixing/" + n) for n in ("weight", "bias", "norm_weight",
                                                                                  "norm_bias")}, **s["gsu"])
            else:
                mixing = GLUMixing(weight=self.read(p + "mixing/weight"), bias=self.read(p + "mixing/bias"))
            blocks.append(Block(ssm=ssm, mixing=mixing, norm=norm(p + "norm", s["norm"])))
        encoder = Encoder(enc_kind, self.read("encoder/weight"),
                          self.read("encoder/bias") if enc_kind == "linear" else None)
        decoder = Decoder(dec_mode, self.read("decoder/weight"), self.read("decoder/bias"))
        net = Network(kind=kind, disc=disc, prenorm=prenorm, encoder=encoder, blocks=tuple(blocks),
                      final_norm=norm("final_norm", final), decoder=decoder, metadata=metadata)
        self.check_summary(net)
        return net

    def metadata(self) -> dict:
        text = self.attr("", "metadata", "str")
        try:
            meta = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as e:
            self.fail(f"attribute 'metadata' is not valid JSON ({type(e).__name__})")
        if not isinstance(meta, dict):
            self.fail(f"attribute 'metadata': expected a JSON object, found {type(meta).__name__}")
        return meta

    def block_settings(self, i: int, kind: str) -> dict:
        b = f"blocks/{i}"
        for g in (b + "/ssm", b + "/mixing"):
            if g not in self.groups:
                self.fail(f"group /{g} is missing")
        self.only_attrs(b, set())
        self.only_attrs(b + "/ssm", set())
        m = b + "/mixing"
        mk = self.choice(m, "kind", MIXING_KINDS)
        if (mk == "gsu") != (kind == "gsu"):
            self.fail(f"attribute 'kind' of '/{m}' is {mk!r}, but the network's kind is {kind!r} "
                      f"(expected {'gsu' if kind == 'gsu' else 'glu'})")
        gsu = None
        if mk == "gsu":
            self.only_attrs(m, {"kind", *GSU_ATTRS})
            gsu = {"norm_eps": self.ranged(m, "norm_eps", "float", limits.eps_problem)}
            gsu.update({r: self.ranged(m, r, "float", limits.ratio_problem) for r in ("spike_ratio", "weight_ratio")})
        else:
            self.only_attrs(m, {"kind"})
        return {"gsu": gsu, "norm": self.norm_settings(b + "/norm") if b + "/norm" in self.groups else None}

    def norm_settings(self, g: str) -> dict:
        self.only_attrs(g, NORM_ATTRS)
        s = {"kind": self.choice(g, "kind", NORM_KINDS), "eps": self.ranged(g, "eps", "float", limits.eps_problem)}
        if "num_batches_tracked" in self.f[g].attrs:
            s["num_batches_tracked"] = self.ranged(g, "num_batches_tracked", "int", limits.batches_tracked_problem)
        return s

    # ---- declared shapes, before any data is read -------------------------------------------------------
    def shape(self, p: str, ndim: int, what: str) -> tuple[int, ...]:
        if p not in self.datasets:
            self.fail(f"dataset /{p} is missing")
        shape = self.datasets[p].shape
        if shape is None or len(shape) != ndim or min(shape, default=1) < 1:
            self.fail(f"dataset /{p}: expected shape {what}, found {'no dataspace' if shape is None else shape}")
        return shape

    def expected_layout(self, settings: list[dict], final: dict | None, enc_kind: str) -> dict[str, tuple]:
        (H,) = self.shape("blocks/0/ssm/log_dt", 1, "(H,) with H >= 1")
        n_ssm, n2 = self.shape("blocks/0/ssm/inv_A_real", 2, "(n_ssm, N/2), both >= 1")
        dirs = self.shape("blocks/0/ssm/C", 4, "(directions, H, N/2, 2)")[0]
        if dirs not in (1, 2):
            self.fail(f"dataset /blocks/0/ssm/C: expected 1 or 2 directions on axis 0, found {dirs}")
        enc = self.shape("encoder/weight", 2, "(H, d_input) or (vocabulary, H)")
        classes = self.shape("decoder/weight", 2, "(classes, H)")[0]
        layout = {"encoder/weight": (H, enc[1]) if enc_kind == "linear" else (enc[0], H),
                  "decoder/weight": (classes, H), "decoder/bias": (classes,)}
        if enc_kind == "linear":
            layout["encoder/bias"] = (H,)

        def norm(prefix: str, s: dict | None) -> None:
            if s is not None:
                stats = ("running_mean", "running_var") if s["kind"] == "batch" else ()
                layout.update({f"{prefix}/{n}": (H,) for n in ("weight", "bias", *stats)})

        for i, s in enumerate(settings):
            p = f"blocks/{i}/"
            layout.update({p + "ssm/log_dt": (H,), p + "ssm/inv_A_real": (n_ssm, n2), p + "ssm/A_imag": (n_ssm, n2),
                           p + "ssm/B": (n_ssm, n2, 2), p + "ssm/C": (dirs, H, n2, 2), p + "ssm/D": (H,)})
            if s["gsu"] is not None:
                layout.update({p + "mixing/weight": (H, H), p + "mixing/bias": (H,), p + "mixing/norm_weight": (H,),
                               p + "mixing/norm_bias": (H,)})
            else:
                layout.update({p + "mixing/weight": (2 * H, H), p + "mixing/bias": (2 * H,)})
            norm(p + "norm", s["norm"])
        norm("final_norm", final)
        return layout

    def check_layout(self, layout: dict[str, tuple]) -> None:
        declared = sum(math.prod(ds.shape or ()) for ds in self.datasets.values())
        if declared > limits.MAX_CHECKPOINT_ELEMENTS:
            self.fail(f"the datasets declare {declared:,} values in total; expected at most "
                      f"{limits.MAX_CHECKPOINT_ELEMENTS:,} (size cap)")
        extra = sorted(set(self.datasets) - set(layout))
        if extra:
            self.fail(f"unexpected datasets {['/' + e for e in extra[:8]]}: not part of this network's format")
        groups = {"/".join(p.split("/")[:k]) for p in layout for k in range(1, p.count("/") + 1)}
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
            self.only_attrs(p, {"complex"} if p.endswith(COMPLEX) else set())

    def read(self, p: str) -> np.ndarray:
        """Data of a dataset already checked by check_layout; complex ones lose their (real, imag) axis."""
        a = np.ascontiguousarray(self.datasets[p][()], dtype=np.float64)
        return a.view(np.complex128)[..., 0] if p.endswith(COMPLEX) else a  # a view: exact, even for Inf

    def check_summary(self, net: Network) -> None:
        """The informative root attributes, when present, must agree with the datasets."""
        for name in SUMMARY_ATTRS:
            if name in self.f.attrs and self.attr("", name, "int") != getattr(net, name):
                self.fail(f"attribute {name!r} of '/' says {self.attr('', name, 'int')}, but the datasets give "
                          f"{name} = {getattr(net, name)}")
        if "norm" in self.f.attrs and self.attr("", "norm", "str") != net.norm_kind:
            self.fail(f"attribute 'norm' of '/' says {self.attr('', 'norm', 'str')!r}, but the datasets give "
                      f"{net.norm_kind!r}")
