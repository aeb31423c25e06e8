"""Spike rasters and activity plots of one sample (docs/raster.md).

    fig = plot_raster(result, sample, x=x[sample], label=y[sample], net=net)   # a matplotlib Figure
    save_raster("raster.png", result, sample, ...)                            # .png, .svg or .pdf

One figure, shared time axis: the input on top (a digit image beside its pixel sequence for image
scenarios), one raster per layer with per-neuron firing rates beside it, and optionally the pre-spike SSM
output y of chosen neurons with their threshold. Panels whose dots would overlap on screen (more than one
time step or neuron per pixel) become a binned spike-density image, and say the bin size.
The command `python -m simulator raster` is simulator/cli/raster.py.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib import colors, ticker
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from models.errors import InputError
from simulator.recording import RunResult

PLUS, MINUS, BINARY = "#d62728", "#1f77b4", "black"   # +1, -1 (ternary GSU) and binary spikes
TERNARY_CMAP = colors.LinearSegmentedColormap.from_list("ternary", [MINUS, "white", PLUS])  # white = silent
TRACE_COLOURS = ("#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22")
DPI = 120                                   # dots-vs-density is decided at this resolution
FIG_W = 12.0                                # inches
LEFT, RIGHT, TOP_IN, BOTTOM_IN, GAP_IN = 0.065, 0.95, 0.75, 0.55, 0.5
WIDTHS = (1.0, 0.11, 0.012)                 # time panel, side panel (image / rates / legend), colour bar
FONT = 9
IMAGE_SHAPES = {784: (28, 28), 64: (8, 8)}  # sMNIST / psMNIST and the 8x8 digits
NICE = (1, 2, 5)


# ---------------------------------------------------------------------------------------------- API
def plot_raster(result: RunResult, sample: int = 0, layers=None, neurons=None, x=None, label=None,
                title: str | None = None, image_shape=None, permutation=None, trace_layer: int = 0,
                trace_neurons=None, net=None, mode: str = "auto", sample_id: int | None = None) -> Figure:
    """Draw one sample's activity; returns a Figure (not attached to pyplot, so it never leaks).

    result       a RunResult; `sample` indexes its samples.
    layers       layer indices to draw (default all); neurons: a range/slice/(start, stop) of neurons.
    x            the sample's input, (L, d_input) floats or (L,) tokens; drawn on top when given.
    label        true class, shown in the title with the prediction.
    title        leads the figure title (e.g. the checkpoint name); sample_id: sample number shown there.
    image_shape  (rows, cols) to show an image input as a picture: None = auto for L 784 or 64 with one
                 channel, False = never. permutation: pixel order (step t shows pixel permutation[t]),
                 undone for the picture (psMNIST).
    trace_neurons  neurons whose pre-spike y to draw (default: result.trace_neurons if the run traced
                 any); taken from result.traces, else from result.pre. trace_layer: their layer.
    net          the Network, for what each layer sends (a graded layer such as the S4D baseline's has no
                 spikes: its pre-activations are drawn as heatmaps, which needs record_pre=True), its
                 activations' thresholds and the title.
    mode         'auto' (dots unless they would overlap), 'dots' or 'density'.
    """
    if not 0 <= sample < result.samples:
        raise InputError(f"sample {sample} is out of range: the result holds {result.samples} samples")
    if mode not in ("auto", "dots", "density"):
        raise InputError(f"mode: expected auto, dots or density, found {mode!r}")
    L, H = result.timesteps, result.channels
    messages = _messages(result, net)
    n_layers = len(result.spikes)
    layers = list(range(n_layers)) if layers is None else [int(i) for i in layers]
    for i in layers:
        if not 0 <= i < n_layers:
            raise InputError(f"layer {i} does not exist: the network has layers 0..{n_layers - 1}")
    if "graded" in (messages[i] for i in layers) and result.pre is None:
        raise InputError("a graded layer (e.g. the S4D baseline's GELU) emits no spikes; run with record_pre=True "
                         "to plot its pre-activations instead")
    if x is not None and len(x) != L:
        raise InputError(f"x has {len(x)} time steps but the result has {L}: pass the sample's own input")
    n0, n1 = _neuron_range(neurons, H)
    trace = _trace_data(result, sample, trace_layer, trace_neurons, n_layers, H)
    image = _image(x, L, image_shape, permutation)

    # Row heights in inches: wide layers get taller panels (up to a limit; beyond it, density bins).
    rows = []
    if x is not None:
        rows.append(("input", 1.5))
    for li in layers:
        rows.append((li, float(np.clip(0.9 + (n1 - n0) / 40, 1.3, 3.2))))
    if trace is not None:
        rows.append(("trace", 1.9))
    heights = [h for _, h in rows]
    fig_h = TOP_IN + BOTTOM_IN + sum(heights) + GAP_IN * (len(rows) - 1)
    fig = Figure(figsize=(FIG_W, fig_h), dpi=DPI)
    gs = fig.add_gridspec(len(rows), 3, width_ratios=WIDTHS, height_ratios=heights, left=LEFT, right=RIGHT,
                          top=1 - TOP_IN / fig_h, bottom=BOTTOM_IN / fig_h, wspace=0.04,
                          hspace=GAP_IN / np.mean(heights))
    main0 = None
    main_axes = []
    for r, (what, _) in enumerate(rows):
        ax = fig.add_subplot(gs[r, 0], sharex=main0)
        main0 = main0 or ax
        main_axes.append(ax)
        side, cax = fig.add_subplot(gs[r, 1]), fig.add_subplot(gs[r, 2])
        if what == "input":
            _draw_input(fig, ax, cax, side, np.asarray(x), image, permutation is not None)
        elif what == "trace":
            _draw_trace(ax, side, trace, result, sample, messages[trace[0]], net)
        elif messages[what] == "graded":
            _draw_pre(fig, ax, cax, side, result.pre[what][sample], what, n0, n1)
        else:
            _draw_layer(fig, ax, cax, side, result.spikes[what], sample, what, L, H, n0, n1, messages[what], mode)
        # Axes labels name the panels, so code (and tests) can find them: fig_axes(fig)["raster 0"].
        name = what if isinstance(what, str) else f"raster {what}"
        side_name = {"input": "image", "trace": "legend"}.get(name, f"rates {what}")
        for a, n in ((ax, name), (side, side_name), (cax, f"colorbar {name}")):
            a.tick_params(labelsize=FONT - 1)
            a.set_label(n)
        if not cax.has_data():      # no colour bar in this row
            cax.set_axis_off()
    for ax in main_axes:
        ax.set_xlim(-0.5, L - 0.5)
        ax.tick_params(labelbottom=ax is main_axes[-1])
    main_axes[-1].set_xlabel("time step", fontsize=FONT)
    fig.suptitle(_title(result, sample, label, title, sample_id, net), fontsize=FONT + 2,
                 x=LEFT, ha="left", y=1 - 0.12 / fig_h, va="top")
    return fig


def save_raster(path, result: RunResult, sample: int = 0, **kwargs) -> Path:
    """plot_raster(...) written to `path` (.png, .svg or .pdf); returns the path."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise InputError(f"{path}: expected a .png, .svg or .pdf file name")
    fig = plot_raster(result, sample, **kwargs)
    from simulator.output_files import atomic_path
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format=path.suffix.lower()[1:])
    return path


def fig_axes(fig: Figure) -> dict:
    """The figure's panels by name: 'input', 'image', 'raster <layer>', 'rates <layer>', 'trace', 'legend',
    'colorbar <panel>'."""
    return {ax.get_label(): ax for ax in fig.axes}


def panel_mode(L: int, n_neurons: int, width_px: float, height_px: float, mode: str = "auto"):
    """('dots', 1, 1) or ('density', steps per bin, neurons per bin) for a panel of the given pixel size.

    Dots need at least one pixel per time step and per neuron; otherwise spikes are binned, with round bin
    sizes (1, 2, 5, 10, 20, ...) just large enough to fit the panel."""
    per_t, per_n = L / max(width_px, 1.0), n_neurons / max(height_px, 1.0)
    if mode == "dots" or (mode == "auto" and per_t <= 1 and per_n <= 1):
        return "dots", 1, 1
    return "density", _nice(per_t), _nice(per_n)


# ---------------------------------------------------------------------------------------------- panels
def _draw_layer(fig, ax, cax, side, events, sample, li, L, H, n0, n1, message, mode):
    ev = events.of_sample(sample)
    mean_rate = len(ev) / (L * H)
    keep = (ev.neuron >= n0) & (ev.neuron < n1)
    t, n, v = ev.t[keep], ev.neuron[keep], ev.value[keep]
    w_px, h_px = _panel_px(fig, ax)
    how, bt, bn = panel_mode(L, n1 - n0, w_px, h_px, mode)
    shown = f"neuron {n0}" if n1 - n0 == 1 else f"neurons {n0}-{n1 - 1}"
    sel = "" if (n0, n1) == (0, H) else f" (showing {shown} of {H})"
    ax.set_title(f"layer {li}: mean rate {mean_rate:.3f} spikes/step/neuron{sel}", loc="left", fontsize=FONT)
    ternary = message == "ternary"
    if how == "dots":
        # A vertical tick per spike, as tall as a neuron row and as thick as a time step (min 1 px).
        size = (0.8 * min(h_px / (n1 - n0), 40) * 72 / DPI) ** 2
        lw = float(np.clip(w_px / L, 1.0, 3.0)) * 72 / DPI
        big = len(t) > 2000   # rasterise big scatters so .svg/.pdf stay small
        groups = ((1, PLUS, "+1 spike"), (-1, MINUS, "-1 spike")) if ternary else ((1, BINARY, "spike"),)
        for val, colour, name in groups:
            m = v == val
            ax.scatter(t[m], n[m], s=size, marker="|", linewidths=lw, c=colour, label=name, rasterized=big)
        if ternary:
            handles = [Line2D([], [], color=c, marker="s", ls="", ms=5, label=name) for _, c, name in groups]
            ax.legend(handles=handles, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, frameon=False,
                      fontsize=FONT - 1, borderaxespad=0.1, handletextpad=0.1, columnspacing=1.0)
    else:
        nt, nn = -(-L // bt), -(-(n1 - n0) // bn)
        grid = np.zeros((nn, nt))
        np.add.at(grid, ((n - n0) // bn, t // bt), v if ternary else 1)
        slots = np.outer(_bin_sizes(n1 - n0, bn), _bin_sizes(L, bt))   # the last bins may be partial
        grid /= slots
        cmap, lo = (TERNARY_CMAP, -1) if ternary else ("Greys", 0)
        im = ax.imshow(grid, aspect="auto", origin="lower", interpolation="nearest", cmap=cmap, vmin=lo, vmax=1,
                       extent=(-0.5, nt * bt - 0.5, n0 - 0.5, n0 + nn * bn - 0.5))
        cb = fig.colorbar(im, cax=cax)
        cb.set_label("net (+1 minus -1) spikes/step" if ternary else "spikes/step", fontsize=FONT - 1)
        bins = f"{bt} step{'s' if bt > 1 else ''}" + (f" x {bn} neurons" if bn > 1 else "")
        ax.set_title(f"spike density, bin {bins}", loc="right", fontsize=FONT - 1, color="0.25")
    ax.set_ylim(n0 - 0.5, n1 - 0.5)
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_ylabel("neuron", fontsize=FONT)
    _draw_rates(side, n, v, L, n0, n1, ternary, bn)


def _draw_rates(side, n, v, L, n0, n1, ternary, bn=1):
    """Horizontal bars: spikes per step of each neuron (ternary: +1 and -1 stacked); with neuron bins
    (density mode) one bar per bin, the mean over its neurons, so bars stay wider than a pixel."""
    sizes = _bin_sizes(n1 - n0, bn)
    ids = n0 + np.arange(len(sizes)) * bn + (sizes - 1) / 2
    rate = lambda m: np.bincount((n[m] - n0) // bn, minlength=len(sizes)) / (L * sizes)  # noqa: E731
    plus = rate(v > 0)
    side.barh(ids, plus, height=0.85 * bn, color=PLUS if ternary else "0.35", linewidth=0)
    if ternary:
        side.barh(ids, rate(v < 0), left=plus, height=0.85 * bn, color=MINUS, linewidth=0)
    side.set_ylim(n0 - 0.5, n1 - 0.5)
    side.set_xlim(0, 1)
    side.set_xticks([0, 0.5, 1])
    side.set_xticklabels(["0", ".5", "1"])
    side.tick_params(labelleft=False)
    side.set_title("rate (spikes/step)", fontsize=FONT - 1)


def _draw_pre(fig, ax, cax, side, y, li, n0, n1):
    """S4D baseline: the GELU input y as a heatmap (there are no spikes to draw)."""
    y = y[:, n0:n1].T
    lim = float(np.max(np.abs(y))) or 1.0
    im = ax.imshow(y, aspect="auto", origin="lower", interpolation="antialiased", cmap="RdBu_r", vmin=-lim,
                   vmax=lim, extent=(-0.5, y.shape[1] - 0.5, n0 - 0.5, n1 - 0.5))
    fig.colorbar(im, cax=cax).set_label("y", fontsize=FONT - 1)
    ax.set_title(f"layer {li}: S4D baseline (GELU), no spikes: pre-activation y shown", loc="left", fontsize=FONT)
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_ylabel("neuron", fontsize=FONT)
    side.set_axis_off()


def _draw_input(fig, ax, cax, side, x, image, permuted):
    L = x.shape[0]
    t = np.arange(L)
    if x.ndim == 1:                                  # token ids (embedding encoder)
        ax.plot(t, x, lw=0.6, color="0.2", drawstyle="steps-mid")
        ax.set_ylabel("token", fontsize=FONT)
        ax.set_title("input: token ids over time", loc="left", fontsize=FONT)
    elif x.shape[1] <= 4:
        for c in range(x.shape[1]):
            ax.plot(t, x[:, c], lw=0.7, label=f"channel {c}", color=TRACE_COLOURS[c] if x.shape[1] > 1 else "0.2",
                    drawstyle="steps-mid", rasterized=L > 5000)
        if x.shape[1] == 1:
            ax.fill_between(t, x[:, 0], color="0.75", lw=0, step="mid", rasterized=L > 5000)
        else:
            ax.legend(loc="lower right", bbox_to_anchor=(1, 1), ncol=x.shape[1], frameon=False, fontsize=FONT - 1)
        what = "pixel sequence, one pixel per step" if image is not None else "input channels over time"
        ax.set_title(f"input: {what}" + (" (permuted order, as the network sees it)" if permuted else ""),
                     loc="left", fontsize=FONT)
        ax.set_ylabel("pixel" if image is not None else "value", fontsize=FONT)
    else:                                            # many channels: a heatmap
        im = ax.imshow(x.T, aspect="auto", origin="lower", interpolation="antialiased", cmap="viridis",
                       extent=(-0.5, L - 0.5, -0.5, x.shape[1] - 0.5))
        fig.colorbar(im, cax=cax).set_label("value", fontsize=FONT - 1)
        ax.set_ylabel("channel", fontsize=FONT)
        ax.set_title(f"input: {x.shape[1]} channels over time", loc="left", fontsize=FONT)
    if image is None:
        side.set_axis_off()
        return
    side.imshow(image, cmap="gray", interpolation="nearest")
    side.set_xticks([])
    side.set_yticks([])
    side.set_title("image" + ("\n(order undone)" if permuted else ""), fontsize=FONT - 1)


def _draw_trace(ax, side, trace, result, sample, message, net):
    li, ids, y, pre = trace
    L = y.shape[0]
    t = np.arange(L)
    ev = result.spikes[li].of_sample(sample)
    big = L > 5000   # rasterise long curves so .svg/.pdf stay small
    handles, lo, hi = [], float(np.min(y)), float(np.max(y))
    for j, nid in enumerate(ids):
        colour = TRACE_COLOURS[j % len(TRACE_COLOURS)]
        ax.plot(t, y[:, j], lw=0.8, color=colour, rasterized=big)
        handles.append(Line2D([], [], color=colour, lw=1.5, label=f"neuron {nid}"))
    note = ""
    activation = net.blocks[li].activation if net is not None else None
    if message == "binary":
        ax.axhline(0, color="0.3", lw=0.8, ls="--")
        handles.append(Line2D([], [], color="0.3", lw=0.8, ls="--", label="threshold 0"))
    elif message == "ternary":
        if pre is not None and activation is not None:
            delta = activation.threshold(pre)   # per-step threshold, from all channels' y
            for sign in (1, -1):
                ax.plot(t, sign * delta, color="0.3", lw=0.7, ls="--", rasterized=big)
            lo, hi = min(lo, -float(delta.max())), max(hi, float(delta.max()))
            handles.append(Line2D([], [], color="0.3", lw=0.7, ls="--", label="threshold ±δ(t)"))
            note = f"; δ(t) = {activation.ratio:g}·max over channels of |y(t)|"
        else:
            note = " (threshold ±δ(t) not shown: it needs record_pre=True and the network)"
        handles += [Line2D([], [], color=c, marker="|", ls="", ms=7, mew=1.5, label=n)
                    for c, n in ((PLUS, "+1 spike"), (MINUS, "-1 spike"))]
    else:
        note = " (graded activation: no threshold, no spikes)"
    if message != "graded":
        # Spikes as one tick row per neuron along the top: they line up with the threshold crossings below.
        k = len(ids)
        row = 0.07
        frac = 1 - row * k - 0.03                     # share of the height left for the curves
        pad = 0.05 * (hi - lo or 1.0)
        ax.set_ylim(lo - pad, lo - pad + (hi - lo + 2 * pad) / frac)
        tr = ax.get_xaxis_transform()                 # x in data, y in axes fraction
        for j, nid in enumerate(ids):
            m = ev.neuron == nid
            y0 = 1 - row * (j + 1)
            groups = ((1, PLUS), (-1, MINUS)) if message == "ternary" else ((1, TRACE_COLOURS[j % len(TRACE_COLOURS)]),)
            for val, c in groups:
                ts = ev.t[m & (ev.value == val)]
                ax.vlines(ts, y0 + 0.01, y0 + row - 0.01, transform=tr, colors=c, lw=0.8, rasterized=ts.size > 2000)
            ax.text(1.004, y0 + row / 2, f"n{nid}", transform=ax.transAxes, fontsize=FONT - 2, va="center",
                    color=TRACE_COLOURS[j % len(TRACE_COLOURS)])
    ax.set_title(f"layer {li}: pre-spike SSM output y{note}", loc="left", fontsize=FONT)
    ax.set_ylabel("y", fontsize=FONT)
    side.set_axis_off()
    side.legend(handles=handles, loc="center left", frameon=False, fontsize=FONT - 1, borderaxespad=0,
                handlelength=1.5, title="spikes: ticks on top" if message != "graded" else None,
                title_fontsize=FONT - 1)


# ---------------------------------------------------------------------------------------------- helpers
def _messages(result, net) -> list[str]:
    """What each layer sends: binary or ternary spikes, or graded values (from the parts when the network
    is given; without it, ternary where a -1 spike was recorded, and a graded layer cannot be told)."""
    if net is not None:
        return [b.activation.MESSAGE for b in net.blocks]
    return ["ternary" if np.any(s.value < 0) else "binary" for s in result.spikes]


def _neuron_range(neurons, H):
    if neurons is None:
        return 0, H
    if isinstance(neurons, str):
        return _neuron_range(parse_range(neurons), H)
    if isinstance(neurons, slice):
        if neurons.step not in (None, 1):
            raise InputError("neurons: only contiguous ranges are supported (no step)")
        neurons = range(*neurons.indices(H))
    if isinstance(neurons, range):
        n0, n1 = neurons.start, neurons.stop
    else:
        n0, n1 = (int(v) for v in neurons)
    if not 0 <= n0 < n1 <= H:
        raise InputError(f"neurons {n0}:{n1}: expected a non-empty range within 0:{H}")
    return n0, n1


def _trace_data(result, sample, li, ids, n_layers, H):
    """(layer, neuron ids, y (L, k), full pre of the layer or None), or None when nothing is traced."""
    if ids is None:
        if result.trace_neurons is None or li not in result.traces:
            return None
        ids = result.trace_neurons
    ids = np.atleast_1d(np.asarray(ids, np.int64))
    if not 0 <= li < n_layers:
        raise InputError(f"trace layer {li} does not exist: the network has layers 0..{n_layers - 1}")
    if ids.size == 0 or ids.min() < 0 or ids.max() >= H:
        raise InputError(f"trace neurons {ids.tolist()}: expected neurons within 0..{H - 1}")
    pre = result.pre[li][sample] if result.pre is not None else None
    traced = [] if result.trace_neurons is None else list(result.trace_neurons)
    if li in result.traces and all(i in traced for i in ids):
        y = result.traces[li][sample][:, [traced.index(i) for i in ids]]
    elif pre is not None:
        y = pre[:, ids]
    else:
        raise InputError(f"neurons {ids.tolist()} were not traced: run with trace_neurons={ids.tolist()} "
                         "or record_pre=True")
    return li, ids, y, pre


def _image(x, L, image_shape, permutation):
    """The input as a 2-D picture in natural pixel order, or None when it is not an image."""
    if x is None or image_shape is False:
        return None
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 1:
        return None
    shape = IMAGE_SHAPES.get(L) if image_shape is None else tuple(image_shape)
    if shape is None or shape[0] * shape[1] != L:
        return None
    pix = x[:, 0]
    if permutation is not None:
        pix = np.empty_like(pix)
        pix[np.asarray(permutation)] = x[:, 0]   # step t showed pixel permutation[t]
    return pix.reshape(shape)


def _title(result, sample, label, title, sample_id, net) -> str:
    pred = int(result.predictions[sample])
    head = f"{title}: " if title else ""
    s = f"{head}sample {sample if sample_id is None else sample_id}, predicted {pred}"
    if label is not None:
        s += f", label {int(label)}" + (" (correct)" if int(label) == pred else " (wrong)")
    if net is not None:
        s += (f"\n{net.kind}, {net.n_layers} layer{'s' if net.n_layers > 1 else ''}, H={net.H}, N={net.N}"
              f"{', bidirectional' if net.directions == 2 else ''}, {result.timesteps} steps")
    return s


def _panel_px(fig, ax):
    bb = ax.get_position()
    return bb.width * fig.get_figwidth() * DPI, bb.height * fig.get_figheight() * DPI


def _nice(v: float) -> int:
    """Smallest of 1, 2, 5, 10, 20, 50, ... that is >= v."""
    scale = 1
    while True:
        for m in NICE:
            if m * scale >= v:
                return m * scale
        scale *= 10


def _bin_sizes(n: int, b: int) -> np.ndarray:
    sizes = np.full(-(-n // b), b)
    sizes[-1] = n - b * (len(sizes) - 1)
    return sizes


def parse_range(text: str):
    """'0:64' -> range(0, 64); '5' -> range(5, 6)."""
    try:
        if ":" in text:
            a, b = text.split(":")
            return range(int(a or 0), int(b))
        return range(int(text), int(text) + 1)
    except ValueError:
        raise InputError(f"--neurons {text!r}: expected START:STOP, e.g. 0:64") from None
