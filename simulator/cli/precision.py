"""`--precision`: the arithmetic a command runs in, resolved from its name, and the calibration it needs.

float64 and float32 run the float engines (`--dtype` is the older name of those two and stays an alias);
w8s24 and a chip name (loihi2, ...) or chip .toml path run in integer fixed point with that chip file's
[precision] section, after calibrating scales on a split of the TRAINING data (never the test set)."""
from __future__ import annotations

from models.errors import InputError
from models.precision import FLOATS, GENERIC

DEFAULT_CALIBRATION = 64


def add_precision_options(p, dtype_alias: bool = True) -> None:
    p.add_argument("--precision", default=None,
                   help="float64 (default), float32, w8s24 (8-bit weights, 24-bit state and messages), or a chip "
                        "with a [precision] section (loihi2, spinnaker, spinnaker2, or a chip .toml): run in that "
                        "chip's integer arithmetic, scales calibrated on training data (docs/precision.md)")
    if dtype_alias:
        p.add_argument("--dtype", choices=FLOATS, default=None, help="same as --precision float64|float32")
    p.add_argument("--calibration", type=int, default=DEFAULT_CALIBRATION,
                   help=f"fixed point: samples of the scenario's TRAINING split to calibrate scales on "
                        f"(default {DEFAULT_CALIBRATION})")
    p.add_argument("--calibration-input", default=None,
                   help="fixed point with --input: .npy of calibration inputs (training data, not the test set)")


def precision_name(args) -> str:
    """The requested arithmetic's name; --dtype is an alias of --precision for float64/float32."""
    prec, dtype = getattr(args, "precision", None), getattr(args, "dtype", None)
    if prec is not None and dtype is not None and prec != dtype:
        raise InputError(f"--precision {prec} and --dtype {dtype}: expected one (--dtype is the old name of "
                         "--precision float64|float32), found both, differing")
    return prec or dtype or "float64"


def lookup_precision(name: str):
    """A Precision by name: w8s24, a catalogue chip, or a chip .toml path."""
    if name in GENERIC:
        return GENERIC[name]
    from energy.catalogue import ChipFileError, list_chips, load_chip
    try:
        chip = load_chip(name)
    except ChipFileError as e:
        raise InputError(f"--precision {name}: expected float64, float32, {', '.join(GENERIC)} or a chip "
                         f"({', '.join(list_chips())}) ({e})") from None
    return chip.precision()


def check_precision_options(args) -> None:
    """Cheap checks before anything is computed: the name resolves, the calibration size is positive."""
    name = precision_name(args)
    if name in FLOATS:
        return
    lookup_precision(name)
    if args.calibration is not None and args.calibration <= 0:
        raise InputError(f"--calibration: expected a positive number of training samples, found {args.calibration}")


def resolve_precision(args, net):
    """(options with `dtype` set to what the engines take, FixedPoint or None): float names pass through;
    a fixed-point precision is calibrated on the calibration split here."""
    name = precision_name(args)
    if name in FLOATS:
        return args.replace(precision=name, dtype=name), None
    prec = lookup_precision(name)
    x_cal, source = calibration_data(args)
    from simulator.calibrate import calibrate
    fp = calibrate(net, x_cal, prec, source=source)
    return args.replace(precision=name, dtype=fp), fp


def calibration_data(args):
    """The calibration inputs: --calibration-input, or the first --calibration samples of the scenario's
    training split (with --input and no --calibration-input: refused, the test data must not calibrate)."""
    n = args.calibration if args.calibration is not None else DEFAULT_CALIBRATION
    if n <= 0:
        raise InputError(f"--calibration: expected a positive number of training samples, found {n}")
    if args.calibration_input is not None:
        from models.safe_npy import load_npy
        x = load_npy(args.calibration_input, "calibration input", mmap=False)
        return x[:n], f"{args.calibration_input} (first {min(n, len(x))} samples)"
    if args.input is not None:
        raise InputError(f"--precision {precision_name(args)} with --input: give --calibration-input CAL.npy "
                         "(training inputs to calibrate the fixed-point scales on; the test input is never used)")
    import scenarios
    sc = scenarios.get(args.scenario or "smnist")
    x, _ = sc.load("train", n=n)
    return x, f"scenario {sc.name}, training split, first {len(x)} samples"


def dtype_name(dtype) -> str:
    return dtype if isinstance(dtype, str) else dtype.name
