"""`raster`: draw one sample's spike rasters, firing rates and pre-spike traces (simulator/raster.py)."""
from __future__ import annotations

from pathlib import Path

from models.errors import InputError
from simulator.cli.data import check_options, load_data
from simulator.cli.options import add_data_options, add_import_options
from simulator.cli.precision import check_precision_options, resolve_precision
from simulator.compiled import compile_network


def _parse_ints(text: str, what: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{what} {text!r}: expected comma-separated integers, e.g. 3,7") from None


def _image_shape(text: str, L: int):
    """--image-shape: None (auto), False (never) or (rows, cols) with rows * cols = L."""
    if text == "none":
        return False
    if text == "auto":
        return None
    shape = _parse_ints(text.lower().replace("x", ","), "--image-shape")
    if len(shape) != 2 or min(shape) < 1 or shape[0] * shape[1] != L:
        raise InputError(f"--image-shape {text}: expected ROWSxCOLS of positive numbers with ROWS*COLS = {L} "
                         "(one pixel per step), 'auto' or 'none'")
    return tuple(shape)


def as_float(result, cn) -> None:
    """Fixed point: y (pre-spike values and traces) back to real units for plotting (2^-f_y per layer)."""
    if cn.fixed is None:
        return
    if result.pre is not None:
        result.pre = [p * cn.y_scale(i) for i, p in enumerate(result.pre)]
    result.traces = {i: t * cn.y_scale(i) for i, t in result.traces.items()}


def register(sub) -> None:
    p = sub.add_parser("raster", help="draw one sample's spike rasters, firing rates and pre-spike traces")
    add_data_options(p, shards=False, distributed=False, resume=False, samples=False)
    p.add_argument("--sample", type=int, default=0, help="which sample of the input (default 0)")
    p.add_argument("--layers", default="all", help="'all' or comma-separated layer indices, e.g. 0,2")
    p.add_argument("--neurons", default=None, help="neuron range START:STOP, e.g. 0:64 (default all)")
    p.add_argument("--trace", default=None, help="neurons whose pre-spike y to plot, e.g. 3,7")
    p.add_argument("--trace-layer", type=int, default=0, help="layer of the --trace neurons (default 0)")
    p.add_argument("--mode", choices=("auto", "dots", "density"), default="auto",
                   help="spike dots, binned density, or auto: density when dots would overlap")
    p.add_argument("--image-shape", default="auto",
                   help="ROWSxCOLS to draw the input as a picture, 'auto' (28x28 or 8x8 inputs) or 'none'")
    p.add_argument("--out", required=True, help="output figure: .png, .svg or .pdf")
    add_import_options(p)
    p.set_defaults(func=cmd_raster)


def cmd_raster(args) -> int:
    import scenarios
    from simulator.engine import run
    from simulator.output_files import check_writable_file

    if Path(args.out).suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError(f"--out {args.out}: expected a .png, .svg or .pdf file name")
    if args.sample < 0:
        raise InputError(f"--sample must be >= 0, found {args.sample}")
    check_options(args)
    check_precision_options(args)
    check_writable_file(args.out)
    if args.samples is None:
        args = args.replace(samples=args.sample + 1)       # load only what is needed
    net, x, labels, source, args = load_data(args)
    args, _ = resolve_precision(args, net)
    if args.sample >= len(x):
        raise InputError(f"--sample {args.sample}: the input has {len(x)} samples (0..{len(x) - 1})")
    layers = None if args.layers == "all" else _parse_ints(args.layers, "--layers")
    trace = _parse_ints(args.trace, "--trace") if args.trace else None
    image_shape = _image_shape(args.image_shape, x.shape[1])
    permutation = None
    if args.input is None:  # LRA workloads have no pixel order to undo
        permutation = getattr(scenarios.get(args.scenario or "smnist"), "permutation", None)
    if trace is not None and not 0 <= args.trace_layer < net.n_layers:
        raise InputError(f"--trace-layer {args.trace_layer}: the network has layers 0..{net.n_layers - 1}")
    if trace is not None and (not trace or min(trace) < 0 or max(trace) >= net.H):
        raise InputError(f"--trace {args.trace}: expected neurons within 0..{net.H - 1} (the layer has {net.H})")
    if layers is not None:
        for i in layers:
            if not 0 <= i < net.n_layers:
                raise InputError(f"--layers {args.layers}: layer {i} does not exist (the network has layers "
                                 f"0..{net.n_layers - 1})")
    from simulator.raster import _neuron_range, save_raster   # matplotlib: only when drawing (0.2 s start-up)
    if args.neurons is not None:
        _neuron_range(args.neurons, net.H)
    # One sample only; pre-spike y of every neuron is needed for the GSU threshold and the S4D heatmap.
    xs = x[args.sample:args.sample + 1]
    messages = [b.activation.MESSAGE for b in net.blocks]   # graded layers are drawn from y; so is a ternary threshold
    need_pre = "graded" in messages or (trace is not None and messages[args.trace_layer] == "ternary")
    cn = compile_network(net, args.dtype)
    result = run(net, xs, engine=args.engine, record_pre=need_pre, trace_neurons=trace, compiled=cn)
    as_float(result, cn)
    label = None if labels is None else int(labels[args.sample])
    path = save_raster(args.out, result, 0, layers=layers, neurons=args.neurons, x=xs[0], label=label,
                       title=Path(args.checkpoint).name, image_shape=image_shape, permutation=permutation,
                       trace_layer=args.trace_layer, trace_neurons=trace, net=net, mode=args.mode,
                       sample_id=args.sample)
    truth = "" if label is None else f", label {label}"
    print(f"wrote {path} ({source}, sample {args.sample}: predicted {int(result.predictions[0])}{truth})")
    return 0
