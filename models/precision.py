"""The arithmetic a network is executed in: float64, float32, or a fixed-point format.

A fixed-point format says how wide each kind of number is and how it is rescaled; the *scales* (power-of-two
exponents per tensor) are not part of it: the simulator chooses them by calibration (simulator/calibrate.py).

  weights        `weight_bits` signed, one shared power-of-two exponent per weight tensor ('shared'),
                 i.e. w = q * 2^-f with |q| < 2^(weight_bits-1) (Loihi 2: 8-bit mantissa + weight exponent)
  SSM and norm   `coef_bits` significant bits with a per-tensor power-of-two exponent; a discretised
  coefficients   decay |Ab| < 1 thus gets at least `coef_bits` fractional bits (12 in Intel's S4D port)
  state          `state_bits` signed integers (SSM modes, LIF membrane, sigma-delta state, norm sums),
                 saturating at their width when `saturate`, else wrapping (two's complement)
  messages       `message_bits` signed integers: what a layer sends (graded values, y, block outputs)
  rescaling      a right shift by k: 'floor' (arithmetic shift, as numpy's right_shift / the chip's
                 shifter) or 'truncate' (toward zero); `weight_rounding` the same for quantising parameters
  lookup tables  nonlinearities (sigmoid, GELU) as tables of 2^`lut_bits` entries over a power-of-two range
"""
from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from models.errors import InputError

ROUNDINGS = ("floor", "truncate")
EXPONENTS = ("shared",)
FLOATS = ("float64", "float32")


@dataclass(frozen=True)
class Precision:
    name: str
    weight_bits: int
    state_bits: int
    message_bits: int
    rounding: str = "truncate"          # runtime right shifts
    weight_rounding: str = "truncate"   # quantising weights and coefficients
    saturate: bool = True
    weight_exponent: str = "shared"
    coef_bits: int = 12
    lut_bits: int = 10

    def __post_init__(self):
        where = f"precision {self.name!r}"
        # The engine holds state, messages and coefficients in 32-bit integers (products in 64 bits).
        for key, low, high in (("weight_bits", 2, 16), ("state_bits", 2, 32), ("message_bits", 1, 32),
                               ("coef_bits", 2, 24), ("lut_bits", 2, 16)):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                raise InputError(f"{where}: {key} must be an integer in [{low}, {high}], found {v!r}")
        for key in ("rounding", "weight_rounding"):
            if getattr(self, key) not in ROUNDINGS:
                raise InputError(f"{where}: {key} must be one of {', '.join(ROUNDINGS)}, found {getattr(self, key)!r}")
        if self.weight_exponent not in EXPONENTS:
            raise InputError(f"{where}: weight_exponent must be one of {', '.join(EXPONENTS)}, "
                             f"found {self.weight_exponent!r}")
        if not isinstance(self.saturate, bool):
            raise InputError(f"{where}: saturate must be true or false, found {self.saturate!r}")

    @property
    def kind(self) -> str:
        return "fixed"

    def as_dict(self) -> dict:
        return asdict(self)


# The generic format: 8-bit weights with a shared power-of-two exponent, 24-bit state and messages,
# truncation toward zero, saturation (Loihi 2's widths without committing to its shifter's rounding).
W8S24 = Precision(name="w8s24", weight_bits=8, state_bits=24, message_bits=24, rounding="truncate",
                  weight_rounding="truncate", saturate=True)
GENERIC = {"w8s24": W8S24}


def is_float(name) -> bool:
    return isinstance(name, str) and name in FLOATS


CHIP_DIR = Path(__file__).resolve().parents[1] / "energy" / "chips"


def fixed_format(name: str) -> Precision:
    """A fixed-point format by name without the energy package (for training, scenarios/qat.py): w8s24, or a
    chip's [precision] section (catalogue name or .toml path), the values only; energy.catalogue reads the same
    section with its units and sources for the simulator (tests/test_qat.py checks that both agree)."""
    if name in GENERIC:
        return GENERIC[name]
    path = Path(name) if name.endswith(".toml") else CHIP_DIR / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in CHIP_DIR.glob("*.toml"))
        raise InputError(f"{name}: expected {', '.join(GENERIC)} or a chip ({', '.join(known)}) or a chip .toml")
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("precision")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: not a readable chip file ({e})") from None
    if not table:
        raise InputError(f"{name}: the chip file {path} has no [precision] section (its arithmetic is not stated)")
    keys = [f.name for f in fields(Precision) if f.name != "name"]
    return Precision(name=path.stem, **{k: table[k]["value"] for k in keys if k in table})
