"""The chip catalogue: TOML data files, one per chip, every number with its source.

A chip file has a ``[chip]`` table of plain strings (name, display_name, family,
process, step_model, summary) and sections whose every entry is a *quantity*::

    synop = { value = 23.6, unit = "pJ", kind = "simulated", secondary = true,
              source = "Davies et al. 2018, Table 2, p. 96", note = "..." }

Units are converted once, at load, to the canonical unit of the section (energies
to pJ, power to mW, times to s) so the model never sees a unit string.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from models.errors import InputError
from models.precision import Precision

CHIP_DIR = Path(__file__).parent / "chips"
KINDS = ("measured", "simulated", "derived", "assumed")
FAMILIES = ("neuromorphic", "conventional")
STEP_MODELS = ("loihi", "fixed", "none")
STATIC_SCOPES = ("chip", "core")   # what static power is charged for: whole chips, or allocated cores
CORNERS = ("low", "central", "high")
# sections whose numbers are prices or times: a corner replaces them by their low/high
_PRICED = ("energy", "power", "timing", "memory")
# report order: neuromorphic chips first, then the conventional baselines
DEFAULT_CHIPS = ["loihi", "loihi2", "truenorth", "spinnaker", "spinnaker2",
                 "cmos45-fp32", "cmos45-int8", "cpu", "gpu"]

# unit -> factor to the canonical unit of its dimension
_ENERGY = {"fJ": 1e-3, "pJ": 1.0, "nJ": 1e3, "uJ": 1e6, "µJ": 1e6, "mJ": 1e9}
_POWER = {"uW": 1e-3, "µW": 1e-3, "mW": 1.0, "W": 1e3}
_TIME = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}
_COUNT = {"cores": 1, "neurons": 1, "compartments": 1, "axons": 1, "bits": 1,
          "synapses": 1, "1": 1}
_SECTIONS = {  # section -> (allowed units, canonical unit)
    "energy": (_ENERGY, "pJ"),
    "power": (_POWER, "mW"),
    "timing": (_TIME, "s"),
    "capacity": (_COUNT, "1"),
    "capabilities": ({"bool": 1}, "bool"),
    "memory": ({**_ENERGY, "pJ/bit": 1.0, "bits": 1}, None),  # mixed: checked per key
}
_MEMORY_UNITS = {"access_slope": "pJ/bit", "access_offset": "pJ", "word_bits": "bits"}

# what each family must define (the model reads exactly these)
REQUIRED = {
    "neuromorphic": {
        "energy": ("synop", "neuron_update"),
        "power": ("static_per_chip",),
        "capacity": ("cores_per_chip", "neurons_per_core", "synaptic_memory_per_core",
                     "weight_bits", "state_bits", "message_bits", "emulation_bits"),
        "capabilities": ("graded_spikes", "programmable_neurons", "complex_state"),
    },
    "conventional": {
        "energy": ("add", "mult", "mac"),
        "power": ("static_per_chip",),
        "capabilities": ("graded_spikes", "programmable_neurons", "complex_state"),
    },
}


class ChipFileError(ValueError):
    """A chip file is missing something or has a wrong value; the message names both."""


@dataclass(frozen=True)
class Quantity:
    value: float | bool          # as written in the file
    unit: str
    source: str
    kind: str
    secondary: bool
    note: str = ""
    canonical: float | bool = 0.0  # value in the section's canonical unit
    low: float | bool | None = None    # as written; None: the file gives no range
    high: float | bool | None = None
    canonical_low: float | bool = 0.0
    canonical_high: float | bool = 0.0

    @property
    def ranged(self) -> bool:
        return self.low is not None

    def as_dict(self) -> dict:
        d = {"value": self.value, "unit": self.unit, "kind": self.kind,
             "secondary": self.secondary, "source": self.source, "note": self.note}
        if self.ranged:
            d["low"], d["high"] = self.low, self.high
        return d


@dataclass(frozen=True)
class Chip:
    name: str
    display_name: str
    family: str
    process: str
    step_model: str
    summary: str
    path: str
    sections: dict[str, dict[str, Quantity]] = field(default_factory=dict)
    extra: dict[str, str] = field(default_factory=dict)   # optional [chip] strings (static_scope)
    # [precision]: the chip's arithmetic (see precision()), kept apart from the priced sections
    precision_table: dict[str, Quantity] = field(default_factory=dict)

    # -- typed accessors (canonical units) --------------------------------------
    def has(self, section: str, key: str) -> bool:
        return key in self.sections.get(section, {})

    def q(self, section: str, key: str) -> Quantity:
        try:
            return self.sections[section][key]
        except KeyError:
            raise ChipFileError(f"{self.path}: [{section}] has no '{key}'") from None

    def energy_pj(self, key: str) -> float:
        return float(self.q("energy", key).canonical)

    def power_mw(self, key: str) -> float:
        return float(self.q("power", key).canonical)

    def time_s(self, key: str) -> float:
        return float(self.q("timing", key).canonical)

    def count(self, key: str) -> int:
        return int(self.q("capacity", key).canonical)

    def flag(self, key: str) -> bool:
        return bool(self.q("capabilities", key).canonical)

    def precision(self) -> Precision:
        """The chip's fixed-point arithmetic from its [precision] section, as a models.precision.Precision."""
        if not self.precision_table:
            raise InputError(f"--precision {self.name}: the chip file {self.path} has no [precision] section "
                             f"(its arithmetic is not stated); choose float64, float32, w8s24 or a chip that has one")
        missing = [k for k in PRECISION_KEYS if k not in self.precision_table]
        if missing:
            raise InputError(f"--precision {self.name}: {self.path} [precision] lacks {', '.join(missing)}")
        return Precision(name=self.name, **{k: self.precision_table[k].value for k in PRECISION_KEYS})

    @property
    def neuromorphic(self) -> bool:
        return self.family == "neuromorphic"

    def quantities(self):
        """Yield (section, key, Quantity) for every number in the file."""
        for section, entries in self.sections.items():
            for key, q in entries.items():
                yield section, key, q

    def describe(self) -> dict:
        return {"name": self.name, "display_name": self.display_name, "family": self.family,
                "process": self.process, "step_model": self.step_model,
                "static_scope": self.static_scope, "summary": self.summary, "path": self.path}

    @property
    def static_scope(self) -> str:
        """'chip': static power of every chip used, whole; 'core': of each allocated core (power-gated rest)."""
        return self.extra.get("static_scope", "chip")

    def corner(self, which: str) -> "Chip":
        """The same chip with every price and time at its low, central or high value (capacities unchanged).

        Energy and time grow with every price, so the low corner bounds an estimate from below and the
        high corner from above (a quantity without a range stays at its value in every corner)."""
        if which not in CORNERS:
            raise ValueError(f"corner must be one of {CORNERS}, found {which!r}")
        if which == "central":
            return self
        sections = {}
        for section, entries in self.sections.items():
            if section not in _PRICED:
                sections[section] = entries
                continue
            sections[section] = {k: replace(q, canonical=(q.canonical_low if which == "low" else q.canonical_high))
                                 for k, q in entries.items()}
        return replace(self, sections=sections)


def list_chips() -> list[str]:
    """Names of the chips shipped in energy/chips/."""
    return sorted(p.stem for p in CHIP_DIR.glob("*.toml"))


def load_chip(name_or_path: str | Path) -> Chip:
    """Load a chip by catalogue name (``"loihi"``) or by the path of a user's own file."""
    p = Path(name_or_path)
    if p.suffix != ".toml" or not p.exists():
        cand = CHIP_DIR / f"{name_or_path}.toml"
        if not cand.exists():
            if p.suffix == ".toml":
                raise ChipFileError(f"chip file {p} does not exist")
            raise ChipFileError(f"unknown chip '{name_or_path}': expected one of "
                                f"{', '.join(list_chips())} or a path to a .toml chip file")
        p = cand
    if p.is_dir():
        raise ChipFileError(f"chip file {p}: expected a .toml file, found a folder")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ChipFileError(f"{p}: not valid TOML ({exc})") from None
    except UnicodeDecodeError as exc:
        raise ChipFileError(f"{p}: expected UTF-8 text, found byte {exc.object[exc.start]:#04x} at offset "
                            f"{exc.start}") from None
    except OSError as exc:
        raise ChipFileError(f"chip file {p}: cannot read it ({exc.strerror or exc})") from None
    return _parse(data, str(p))


def _parse(data: dict, path: str) -> Chip:
    head = data.get("chip")
    if not isinstance(head, dict):
        raise ChipFileError(f"{path}: missing [chip] table")
    for key in ("name", "display_name", "family", "step_model"):
        if not isinstance(head.get(key), str):
            raise ChipFileError(f"{path}: [chip] needs a string '{key}'")
    if head["family"] not in FAMILIES:
        raise ChipFileError(f"{path}: [chip] family must be one of {FAMILIES}, found {head['family']!r}")
    if head["step_model"] not in STEP_MODELS:
        raise ChipFileError(f"{path}: [chip] step_model must be one of {STEP_MODELS}, "
                            f"found {head['step_model']!r}")
    scope = head.get("static_scope", "chip")
    if scope not in STATIC_SCOPES:
        raise ChipFileError(f"{path}: [chip] static_scope must be one of {STATIC_SCOPES}, found {scope!r}")
    if scope == "core" and "static_per_core" not in data.get("power", {}):
        raise ChipFileError(f"{path}: static_scope 'core' needs [power] static_per_core")
    sections: dict[str, dict[str, Quantity]] = {}
    for section, entries in data.items():
        if section in ("chip", "precision"):
            continue
        if section not in _SECTIONS:
            raise ChipFileError(f"{path}: unknown section [{section}]; expected one of "
                                f"{', '.join(_SECTIONS)}")
        sections[section] = {k: _quantity(v, path, section, k) for k, v in entries.items()}
    for section, keys in REQUIRED[head["family"]].items():
        for key in keys:
            if key not in sections.get(section, {}):
                raise ChipFileError(f"{path}: a {head['family']} chip needs [{section}] {key}")
    chip = Chip(name=head["name"], display_name=head["display_name"], family=head["family"],
                process=str(head.get("process", "")), step_model=head["step_model"],
                summary=str(head.get("summary", "")), path=path, sections=sections,
                extra={"static_scope": scope},
                precision_table=parse_precision_table(data.get("precision"), path))
    if (chip.neuromorphic and not chip.flag("programmable_neurons")
            and not chip.has("energy", "host_op")):
        # fixed-function chips hand sigmoid/products/LayerNorm to a host: that needs a price
        raise ChipFileError(f"{path}: a chip without programmable neurons needs [energy] host_op")
    needed = {"loihi": ("barrier_sync", "neuron_update_time", "synop_time"),
              "fixed": ("step_time",), "none": ()}[chip.step_model]
    for key in needed:
        if not chip.has("timing", key):
            raise ChipFileError(f"{path}: step_model '{chip.step_model}' needs [timing] {key}")
    return chip


# [precision] keys and their units: bit widths (unit "bits"), names (unit "-"), a flag (unit "bool")
PRECISION_KEYS = {"weight_bits": "bits", "weight_exponent": "-", "state_bits": "bits", "message_bits": "bits",
                  "rounding": "-", "weight_rounding": "-", "saturate": "bool", "coef_bits": "bits",
                  "lut_bits": "bits"}


def parse_precision_table(entries, path: str) -> dict[str, Quantity]:
    """The [precision] section: every figure a table with value, unit, kind, source (and note) like the
    others; values are checked by models.precision.Precision when a run asks for them."""
    if entries is None:
        return {}
    if not isinstance(entries, dict):
        raise ChipFileError(f"{path}: [precision] must be a table")
    out = {}
    for key, raw in entries.items():
        where = f"{path}: [precision] {key}"
        if key not in PRECISION_KEYS:
            raise ChipFileError(f"{where}: unknown key; expected one of {', '.join(PRECISION_KEYS)}")
        if not isinstance(raw, dict):
            raise ChipFileError(f"{where}: expected a table with value, unit, source, kind; found {raw!r}")
        for k in ("value", "unit", "source", "kind"):
            if k not in raw:
                raise ChipFileError(f"{where}: missing '{k}'")
        if raw["kind"] not in KINDS:
            raise ChipFileError(f"{where}: kind must be one of {KINDS}, found {raw['kind']!r}")
        if raw["unit"] != PRECISION_KEYS[key]:
            raise ChipFileError(f"{where}: unit must be {PRECISION_KEYS[key]!r}, found {raw['unit']!r}")
        value = raw["value"]
        expected = {"bits": int, "-": str, "bool": bool}[raw["unit"]]
        if type(value) is not expected:
            raise ChipFileError(f"{where}: value must be {expected.__name__}, found {value!r}")
        out[key] = Quantity(value=value, unit=raw["unit"], source=str(raw["source"]), kind=raw["kind"],
                            secondary=bool(raw.get("secondary", False)), note=str(raw.get("note", "")),
                            canonical=value)
    return out


def _quantity(raw, path: str, section: str, key: str) -> Quantity:
    where = f"{path}: [{section}] {key}"
    if not isinstance(raw, dict):
        raise ChipFileError(f"{where}: expected a table with value, unit, source, kind; found {raw!r}")
    for k in ("value", "unit", "source", "kind", "secondary"):
        if k not in raw:
            raise ChipFileError(f"{where}: missing '{k}'")
    if raw["kind"] not in KINDS:
        raise ChipFileError(f"{where}: kind must be one of {KINDS}, found {raw['kind']!r}")
    if not isinstance(raw["secondary"], bool):
        raise ChipFileError(f"{where}: secondary must be true or false")
    if not str(raw["source"]).strip():
        raise ChipFileError(f"{where}: empty source")
    unit, value = raw["unit"], raw["value"]
    if section == "memory":
        if _MEMORY_UNITS.get(key, unit) != unit:
            raise ChipFileError(f"{where}: unit must be {_MEMORY_UNITS[key]!r}, found {unit!r}")
        factor = _ENERGY.get(unit, 1.0)
    else:
        units, canon = _SECTIONS[section]
        if unit not in units:
            raise ChipFileError(f"{where}: unit {unit!r} is not a {section} unit "
                                f"(expected one of {', '.join(units)})")
        factor = units[unit]
    if section == "capabilities":
        if not isinstance(value, bool):
            raise ChipFileError(f"{where}: value must be true or false")
        canonical = value
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ChipFileError(f"{where}: value must be a non-negative number, found {value!r}")
        canonical = float(value) * factor
    low, high = raw.get("low"), raw.get("high")
    if (low is None) != (high is None):
        raise ChipFileError(f"{where}: give both 'low' and 'high', or neither")
    if low is not None:
        if section == "capabilities":
            raise ChipFileError(f"{where}: a capability has no range")
        for name, v in (("low", low), ("high", high)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                raise ChipFileError(f"{where}: {name} must be a non-negative number, found {v!r}")
        if not low <= value <= high:
            raise ChipFileError(f"{where}: expected low <= value <= high, found {low} / {value} / {high}")
        c_low, c_high = float(low) * factor, float(high) * factor
    else:
        c_low = c_high = canonical
    return Quantity(value=value, unit=unit, source=str(raw["source"]), kind=raw["kind"],
                    secondary=raw["secondary"], note=str(raw.get("note", "")),
                    canonical=canonical, low=low, high=high, canonical_low=c_low, canonical_high=c_high)
