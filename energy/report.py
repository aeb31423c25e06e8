"""Energy reports: energy.json (everything), energy.md, a self-contained energy.html, PNGs.

    from energy.report import write_reports
    data = write_reports(counts, ["loihi", "loihi2", "truenorth", "cpu"], "out/energy",
                         title="Binary S4D on sMNIST")

``chips`` are catalogue names or paths to your own chip TOML files. The returned dict is
exactly what energy.json holds. All energies are per inference (one sample).
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402

from . import mapping as _mapping  # noqa: E402
from .catalogue import DEFAULT_CHIPS, load_chip  # noqa: E402
from .counts import firing_rate, is_ssm, validate_counts  # noqa: E402
from .model import compare  # noqa: E402
from . import tradeoff as _tradeoff  # noqa: E402

CATEGORY_COLOURS = {"synaptic": "#1f77b4", "neuron": "#ff7f0e", "routing": "#2ca02c",
                    "elementwise": "#9467bd", "memory": "#8c564b", "host": "#d62728",
                    "static": "#7f7f7f"}
FIGURES = ("energy_per_chip", "energy_per_layer", "firing_rate", "snn_vs_ann", "cores_tradeoff")

ASSUMPTIONS = [
    "Every energy is per inference: totals over the simulated samples divided by n_samples.",
    "Neuromorphic chips: layers do not share cores; cores per layer = max of neuron, synaptic-memory "
    "and fan-in demands; static power is charged for every chip the network needs, for "
    "timesteps x step time per inference (samples run one after another).",
    "Loihi step time = barrier sync + the slowest pipelined stage of the busiest core (neuron updates, "
    "synaptic ops or messages x their time per event) or the busiest mesh link, and on Loihi 2 at least "
    "a per-step host floor (host_step, from one measured run); TrueNorth and SpiNNaker run a fixed 1 ms "
    "real-time step.",
    "Spike/message route energy (Loihi, Loihi 2) = within-tile spike + expected hops x hop energy, "
    "hops = mean Manhattan distance on the square mesh of tiles the network occupies.",
    f"Conventional datapaths: a complex mode update = {_mapping.MODE_MACS} MAC + {_mapping.MODE_MULTS} "
    f"mult (state + readout; the input drive is the engines' graded_macs); in the dense ANN "
    f"{_mapping.DENSE_MODE_MACS} MAC + {_mapping.MODE_MULTS} mult; sigmoid/GELU = "
    f"{_mapping.NONLINEAR_MACS} MAC (assumed polynomial approximation).",
    "The dense ANN baseline is the same network run every step: dense_macs as MACs, every mode and "
    "channel updated every step, the same elementwise work.",
    "Programmable neuromorphic chips (Loihi 2, SpiNNaker): each elementwise op (sigmoid, GELU, "
    "product, normalisation affine) costs one neuron update (assumed, likely a lower bound).",
    "Fixed-function chips (Loihi, TrueNorth): graded values travel bit-serially as emulation_bits "
    "binary spikes; operations their neurons cannot do run on a host at host_op each.",
]


# -- SI formatting ------------------------------------------------------------------------

def _si(value: float | None, unit: str, prefixes) -> str:
    if value is None:
        return "n/a"
    if value == 0:
        return f"0 {unit}"
    for scale, prefix in prefixes:
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    scale, prefix = prefixes[-1]
    return f"{value / scale:.3g} {prefix}{unit}"


def fmt_energy(pj: float | None) -> str:
    """Energy given in pJ, printed with an SI prefix: 1.23 nJ, 456 µJ."""
    if pj is None:
        return "n/a"
    return _si(pj * 1e-12, "J", [(1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")])


def fmt_power(mw: float | None) -> str:
    if mw is None:
        return "n/a"
    return _si(mw * 1e-3, "W", [(1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n")])


def fmt_time(s: float | None) -> str:
    if s is None:
        return "n/a"
    return _si(s, "s", [(1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n")])


# -- figures (each returns its Figure so tests can read the plotted values) ----------------

def _label(r: dict) -> str:
    return r["chip"]["display_name"]


def fig_energy_per_chip(data: dict):
    """Left: total energy per inference (log). Right: share of each category (linear)."""
    res = list(data["chips"].values())
    names = [_label(r) for r in res]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 0.5 * len(res) + 2.2), sharey=True,
                                   gridspec_kw={"width_ratios": [1.1, 1]})
    totals = [r["energy_pj"] for r in res]
    y = range(len(res))
    ax1.barh(y, [t * 1e-12 for t in totals], color="#4c72b0")
    ax1.set_xscale("log")
    ax1.set_yticks(list(y), names)
    ax1.invert_yaxis()
    ax1.set_xlabel("energy per inference (J, log scale)")
    ax1.set_title("Total energy per inference")
    for i, (t, r) in enumerate(zip(totals, res)):
        missing = " + static not modelled" if "static" in r.get("unpriced_categories", ()) else ""
        ax1.text(t * 1e-12, i, " " + fmt_energy(t) + missing, va="center", fontsize=8)
    ax1.set_xlim(right=max(totals) * 1e-12 * 200)
    left = [0.0] * len(res)
    for cat, colour in CATEGORY_COLOURS.items():
        share = [100 * r["by_category_pj"][cat] / r["energy_pj"] if r["energy_pj"] else 0 for r in res]
        if any(share):
            ax2.barh(y, share, left=left, color=colour, label=cat)
            left = [a + b for a, b in zip(left, share)]
    fams = [r["chip"]["family"] for r in res]   # dashed line between chip families
    for i in range(1, len(fams)):
        if fams[i] != fams[i - 1]:
            for ax in (ax1, ax2):
                ax.axhline(i - 0.5, color="#555555", ls="--", lw=0.8)
    ax2.set_xlim(0, 100)
    ax2.set_xlabel("share of energy per inference (%)")
    ax2.set_title("Where the energy goes")
    ax2.legend(loc="lower center", bbox_to_anchor=(0.5, 1.08), ncol=4, fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def fig_energy_per_layer(data: dict):
    """Heat map: dynamic energy per inference of each layer on each chip (log colour)."""
    res = list(data["chips"].values())
    layers = data["layers"]
    values = [[r["by_layer"][name]["energy_pj"] for r in res] for name in layers]
    fig, ax = plt.subplots(figsize=(1.25 * len(res) + 2.5, 0.55 * len(layers) + 2.2))
    flat = [v for row in values for v in row if v > 0]
    norm = LogNorm(vmin=min(flat), vmax=max(flat)) if flat else None
    masked = [[v if v > 0 else float("nan") for v in row] for row in values]
    im = ax.imshow(masked, aspect="auto", cmap="viridis", norm=norm)
    ax.set_xticks(range(len(res)), [_label(r) for r in res], rotation=30, ha="right")
    ax.set_yticks(range(len(layers)), layers)
    for i, row in enumerate(values):
        for j, v in enumerate(row):
            bright = norm is not None and v > 0 and norm(v) > 0.6
            ax.text(j, i, fmt_energy(v), ha="center", va="center", fontsize=7,
                    color="black" if bright else "white")
    cb = fig.colorbar(im, ax=ax, format=lambda v, _: fmt_energy(v))
    cb.set_label("energy per inference (log scale)")
    ax.set_title("Dynamic energy per layer and chip, per inference (static power not included)")
    fig.tight_layout()
    return fig


def fig_firing_rate(data: dict):
    """Spikes / (neurons x time steps x samples) for each spiking layer."""
    rates = {k: v for k, v in data["firing_rates"].items() if v is not None}
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(rates) + 2), 3.4))
    if rates:
        bars = ax.bar(list(rates), list(rates.values()), color="#55a868")
        for b, v in zip(bars, rates.values()):
            ax.text(b.get_x() + b.get_width() / 2, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
        ax.set_ylim(0, max(1.0, max(rates.values()) * 1.1))
    else:
        ax.axis("off")     # an empty axis would read as "every rate is 0"
        ax.text(0.5, 0.5, "No firing rate to show: this network does not spike.\nIts layers send graded "
                "values (e.g. the S4D baseline's GELU),\ncounted as graded messages in the tables.",
                ha="center", va="center", transform=ax.transAxes, fontsize=11)
    ax.set_ylabel("spikes per neuron per step")
    ax.set_title("Firing rate per layer (1 = every neuron spikes every step)")
    fig.tight_layout()
    return fig


def fig_snn_vs_ann(data: dict):
    """SNN (event-driven, counted activity) on every chip vs the dense ANN on conventional ones."""
    rows = []  # (label, energy_pj, is_ann)
    for r in data["chips"].values():
        rows.append((f"{_label(r)}: SNN", r["energy_pj"], False))
        if r["ann"]:
            rows.append((f"{_label(r)}: dense ANN", r["ann"]["energy_pj"], True))
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(rows) + 1.8))
    vals = [e * 1e-12 for _, e, _ in rows]
    ax.barh(range(len(rows)), vals, color=["#999999" if a else "#4c72b0" for _, _, a in rows],
            hatch=None)
    for i, (_, e, a) in enumerate(rows):
        ax.patches[i].set_hatch("//" if a else "")
        ratio = f"   (SNN / ANN = {rows[i - 1][1] / e:.3g})" if a and e else ""
        ax.text(e * 1e-12, i, " " + fmt_energy(e) + ratio, va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), [lab for lab, _, _ in rows])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(right=max(vals) * 40)
    ax.set_xlabel("energy per inference (J, log scale)")
    from matplotlib.patches import Patch
    ax.legend(handles=[Patch(color="#4c72b0", label="SNN: event-driven, counted activity"),
                       Patch(facecolor="#999999", hatch="//", label="dense ANN: every synapse every step")],
              loc="lower right", fontsize=8)
    ax.set_title("Spiking network vs the same network run as a dense ANN")
    fig.tight_layout()
    return fig


def _priced(r: dict, category: str) -> str:
    """A category's energy, or why there is none: unpriced is not zero."""
    if category in r.get("unpriced_categories", ()):
        return "not modelled" if category == "static" else "n/a"
    return fmt_energy(r["by_category_pj"][category])


_FIG_FUNCS = {"cores_tradeoff": _tradeoff.fig_cores_tradeoff, "energy_per_chip": fig_energy_per_chip, "energy_per_layer": fig_energy_per_layer,
              "firing_rate": fig_firing_rate, "snn_vs_ann": fig_snn_vs_ann}


# -- document blocks rendered to Markdown and HTML -----------------------------------------

def _blocks(data: dict, pngs: dict[str, Path]) -> list[tuple]:
    B: list[tuple] = []
    net = data["network"]
    res = data["chips"]
    B.append(("h1", data["title"]))
    B.append(("p", f"Network: {net.get('kind', 'SSM network')}, {net['n_layers']} layers, H={net['H']}, N={net['N']}, "
                   f"{net['directions']} direction(s), norm={net.get('norm', '?')}; "
                   f"{data['n_samples']} sample(s) x {data['timesteps']} time steps. "
                   "All energies are per inference (one sample). Neuromorphic figures are model "
                   "estimates from published per-operation energies, several pre-silicon or assumed; "
                   "see 'Sources' and docs/energy-model.md for what these numbers are not."))
    if data["warnings"]:
        B.append(("p", "Warnings: " + "; ".join(data["warnings"])))
    B.append(("h2", "Summary"))
    rows = [["chip", "energy / inference", "per time step", "dynamic", "static", "not native",
             "cores", "chips", "step time", "run time", "mean power"]]
    for r in res.values():
        m = r["mapping"]
        neuro = r["chip"]["family"] == "neuromorphic"
        rows.append([_label(r), fmt_energy(r["energy_pj"]), fmt_energy(r["energy_per_timestep_pj"]),
                     fmt_energy(r["dynamic_energy_pj"]),
                     fmt_energy(r["static_energy_pj"]) if r["static_power_mw"] else "not modelled",
                     f"{100 * r['non_native_energy_pj'] / r['energy_pj']:.0f} %" if r["energy_pj"] else "0 %",
                     str(m["cores"]) if neuro else "-", str(m["chips"]) if neuro else "-",
                     fmt_time(r["step_time_s"]), fmt_time(r["run_time_s"]),
                     fmt_power(r["average_power_mw"])])
    B.append(("table", rows))
    B.append(("p", "'not native': share of the energy spent emulating what the chip cannot do "
                   "(bit-serial graded values, complex state from real compartments, bit-sliced "
                   "weights) or handing it to a host. 'static': leakage x run time; where a chip's "
                   "file has no sourced static figure it is 'not modelled' (see the caveats per chip)."))
    B.append(("img", "energy_per_chip", "Energy per inference per chip, and its split by category"))
    B.extend(_tradeoff.blocks(data, fmt_energy, fmt_time))
    B.append(("h2", "SNN vs dense ANN"))
    bases = list(data["ann_energy_pj"])
    if bases:
        rows = [["chip (SNN)", "SNN energy"] + [f"/ ANN on {res[b]['chip']['display_name']}" for b in bases]]
        for name, r in res.items():
            rows.append([_label(r), fmt_energy(r["energy_pj"])]
                        + [f"{data['snn_over_ann'][name][b]:.3g}" for b in bases])
        B.append(("p", "Ratio < 1: the spiking network on that chip uses less energy than the dense "
                       "ANN on the conventional baseline named in the column. Dense ANN energy: "
                       + ", ".join(f"{res[b]['chip']['display_name']} {fmt_energy(e)}"
                                   for b, e in data["ann_energy_pj"].items()) + "."))
        B.append(("table", rows))
    else:
        B.append(("p", "No conventional baseline chip was selected, so no dense-ANN comparison."))
    B.append(("img", "snn_vs_ann", "SNN vs dense ANN"))
    B.append(("h2", "Energy per layer"))
    rows = [["layer"] + [_label(r) for r in res.values()]]
    for name in data["layers"]:
        rows.append([name] + [fmt_energy(r["by_layer"][name]["energy_pj"]) for r in res.values()])
    rows.append(["static (whole chip)"] + [_priced(r, "static") for r in res.values()])
    B.append(("table", rows))
    B.append(("img", "energy_per_layer", "Energy per layer"))
    B.append(("h2", "Energy by category"))
    cats = list(CATEGORY_COLOURS)
    rows = [["chip"] + cats]
    for r in res.values():
        rows.append([_label(r)] + [_priced(r, c) for c in cats])
    B.append(("table", rows))
    B.append(("p", "'not modelled': static power that the chip's file has no sourced figure for. 'n/a': "
                   "the chip's model has no separate cost of this kind (e.g. a neuromorphic core's "
                   "synaptic energy already includes its memory reads)."))
    B.append(("h2", "Firing rate per layer"))
    rows = [["layer", "spikes", "neurons", "firing rate"]]
    for layer in data["layer_info"]:
        fr = data["firing_rates"][layer["name"]]
        rows.append([layer["name"], str(layer["spikes"]), str(layer["neurons"]),
                     "-" if fr is None else f"{fr:.4f}"])
    B.append(("table", rows))
    B.append(("img", "firing_rate", "Firing rate per layer"))
    B.append(("h2", "Mapping and what each chip cannot do natively"))
    for r in res.values():
        m = r["mapping"]
        B.append(("h3", _label(r)))
        B.append(("p", r["chip"]["summary"]))
        if r["chip"]["family"] == "neuromorphic":
            rows = [["layer", "compartments", "synapse entries", "synaptic bits", "fan-in axons", "cores"]]
            for lm in m["layers"]:
                rows.append([lm["name"], str(lm["compartments"]), str(lm["synapse_entries"]),
                             str(lm["synaptic_bits"]), str(lm["fan_in_axons"]), str(lm["cores"])])
            B.append(("table", rows))
            if m["route_pj"] > 0:
                route = (f"route energy {fmt_energy(m['route_pj'])} per spike/message"
                         + (f" ({m['avg_hops']:.2f} expected hops)" if m["avg_hops"] else ""))
            else:
                route = "routing energy is included in the per-event figures"
            B.append(("p", f"{m['cores']} cores on {m['chips']} chip(s); {route}."))
        rows = [["feature", "native on chip", "how the estimate treats it"]]
        for lim in m["limitations"]:
            native = {True: "yes", False: "NO", None: "caveat"}[lim["native"]]
            rows.append([lim["feature"], native, lim["treatment"]])
        B.append(("table", rows))
        rows = [["count", "charged per event as"]]
        for key, terms in m["recipes"].items():
            txt = " + ".join(f"{t['per_event']:g} {t['primitive']}" + ("" if t["native"] else " (emulated)")
                             for t in terms) or "nothing"
            rows.append([key, txt])
        B.append(("table", rows))
    B.append(("h2", "Model assumptions"))
    B.append(("ul", ASSUMPTIONS))
    B.append(("h2", "Sources"))
    rows = [["chip", "quantity", "value", "kind", "secondary", "source", "note"]]
    for s in data["sources"]:
        rows.append([s["chip"], f"{s['section']}.{s['key']}", f"{s['value']} {s['unit']}", s["kind"],
                     "yes" if s["secondary"] else "no", s["source"], s["note"]])
    B.append(("table", rows))
    return B


def _md_text(s) -> str:
    """Titles, file names and chip texts come from users' files: Markdown viewers render raw HTML, so
    <, > and & are escaped, and brackets so no text becomes a link (all still read as themselves)."""
    return html.escape(str(s), quote=False).replace("[", "\\[").replace("]", "\\]")


def _md_cell(s: str) -> str:
    return _md_text(s).replace("|", "\\|").replace("\n", " ")


def _to_markdown(blocks, pngs) -> str:
    out = []
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3"):
            out.append("#" * int(kind[1]) + " " + _md_text(b[1]).replace("\n", " ") + "\n")
        elif kind == "p":
            out.append(_md_text(b[1]) + "\n")
        elif kind == "ul":
            out.append("\n".join(f"- {_md_text(x)}" for x in b[1]) + "\n")
        elif kind == "table":
            rows = b[1]
            out.append("| " + " | ".join(_md_cell(c) for c in rows[0]) + " |")
            out.append("|" + "---|" * len(rows[0]))
            out.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows[1:])
            out.append("")
        elif kind == "img":
            out.append(f"![{_md_text(b[2])}]({pngs[b[1]].name})\n")
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:0.6em 0 1.2em;font-size:0.85em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f0f0f0} td:nth-child(n+2){font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0} h2{border-bottom:1px solid #ddd;margin-top:1.6em}"""


def _to_html(blocks, pngs, title) -> str:
    e = html.escape
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
           f"<style>{_CSS}</style></head><body>"]
    for b in blocks:
        kind = b[0]
        if kind in ("h1", "h2", "h3"):
            out.append(f"<{kind}>{e(b[1])}</{kind}>")
        elif kind == "p":
            out.append(f"<p>{e(b[1])}</p>")
        elif kind == "ul":
            out.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in b[1]) + "</ul>")
        elif kind == "table":
            rows = b[1]
            out.append("<table><tr>" + "".join(f"<th>{e(str(c))}</th>" for c in rows[0]) + "</tr>")
            out.extend("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows[1:])
            out.append("</table>")
        elif kind == "img":
            b64 = base64.b64encode(pngs[b[1]].read_bytes()).decode("ascii")
            out.append(f"<img alt='{e(b[2])}' src='data:image/png;base64,{b64}'>")
    out.append("</body></html>")
    return "\n".join(out)


# -- entry point --------------------------------------------------------------------------

def build_data(counts: dict, chips: list | None = None, title: str = "Energy estimate",
               mapping: str | int = "packed") -> dict:
    """Everything the reports show, as a JSON-able dict (what energy.json holds)."""
    warnings = validate_counts(counts)
    chips = list(chips) if chips else DEFAULT_CHIPS
    loaded = [load_chip(c) for c in chips]
    cmp = compare(counts, loaded, mapping)
    sources = [{"chip": ch.name, "section": s, "key": k, **q.as_dict()}
               for ch in loaded for s, k, q in ch.quantities()]
    layer_info = [{"name": layer["name"], "kind": layer.get("kind", ""), "neurons": layer["neurons"],
                   "spikes": layer["counts"].get("spikes", 0), "spiking": is_ssm(layer)}
                  for layer in counts["layers"]]
    return {"title": title, "units": {"energy": "pJ per inference", "power": "mW", "time": "s"},
            "network": counts["network"], "n_samples": counts["n_samples"],
            "timesteps": counts["timesteps"], "layers": [x["name"] for x in layer_info],
            "layer_info": layer_info,
            "firing_rates": {layer["name"]: firing_rate(counts, layer) for layer in counts["layers"]},
            "chips": cmp["chips"], "ann_energy_pj": cmp["ann_energy_pj"],
            "snn_over_ann": cmp["snn_over_ann"], "sources": sources, "mapping": mapping,
            "per_token": _tradeoff.per_token_data(counts, cmp["chips"]),
            "assumptions": ASSUMPTIONS, "warnings": warnings}


def _precision_md(p: dict | None) -> str:
    """The arithmetic the counts were simulated in (a fixed-point run), for energy.md."""
    if not p:
        return ""
    prec = p["precision"]
    text = (f"\n\n## Arithmetic\n\nSimulated at `{prec['name']}`: {prec['weight_bits']}-bit weights, "
            f"{prec['state_bits']}-bit state, {prec['message_bits']}-bit messages ({prec['rounding']} rescaling). "
            f"Predictions agreeing with float64: {100 * p['prediction_agreement_with_float64']:.2f} %")
    if "accuracy" in p:
        text += f"; accuracy {100 * p['accuracy']:.2f} % (float64: {100 * p['accuracy_float64']:.2f} %)"
    return text + ".\n"


def write_reports(counts: dict | str | Path, chips: list | None = None,
                  out_dir: str | Path = "energy-report", title: str = "Energy estimate",
                  mapping: str | int = "packed", precision: dict | None = None) -> dict:
    """Write energy.json, energy.md, energy.html and one PNG per figure into ``out_dir``.

    counts: the engines' operation counts (a dict, or the path of a JSON file holding one;
    see energy/counts.py); chips: catalogue names and/or paths to chip TOML files (default:
    the whole catalogue, energy.catalogue.DEFAULT_CHIPS). Returns the data written to
    energy.json, with ``files`` listing every path written. Raises CountsError or
    ChipFileError (both ValueError) with a message naming what is wrong. precision: the run's
    arithmetic and its cost against float64 (the simulator's summary section), copied into energy.json
    and stated at the end of energy.md.
    """
    if isinstance(counts, (str, Path)):
        counts = json.loads(Path(counts).read_text(encoding="utf-8"))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = build_data(counts, chips, title, mapping)
    pngs = {}
    for name in FIGURES:
        fig = _FIG_FUNCS[name](data)
        pngs[name] = out / f"{name}.png"
        with _atomic(pngs[name]) as tmp:
            fig.savefig(tmp, dpi=110, format="png")
        plt.close(fig)
    blocks = _blocks(data, pngs)
    files = {"json": out / "energy.json", "markdown": out / "energy.md", "html": out / "energy.html",
             **{f"png_{k}": v for k, v in pngs.items()}}
    data["files"] = {k: str(v) for k, v in files.items()}
    if precision is not None:
        data["precision"] = precision
    for key, text in (("markdown", _to_markdown(blocks, pngs) + _precision_md(precision)), ("html", _to_html(blocks, pngs, title)),
                      ("json", json.dumps(_jsonable(data), indent=1, allow_nan=False))):
        with _atomic(files[key]) as tmp:
            tmp.write_text(text, encoding="utf-8")
    return data


@contextmanager
def _atomic(path: Path):
    """Write to a temporary name and rename: a report file is whole or absent, and no temporary file is left."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x
