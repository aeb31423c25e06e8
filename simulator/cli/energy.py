"""`energy`: simulate, then estimate energy on modelled chips and write the reports."""
from __future__ import annotations

from pathlib import Path

from simulator.cli.data import check_options, load_data
from simulator.cli.options import add_data_options, add_import_options
from simulator.cli.precision import check_precision_options, resolve_precision
from simulator.cli.run import precision_of_run, run_summary, simulate


def cmd_energy(args) -> int:
    from energy.report import write_reports
    from simulator.counting import counts_report
    from simulator.output_files import check_writable_dir, write_json_atomic
    from simulator.report import console_summary

    check_options(args)
    check_precision_options(args)
    chips = [c.strip() for c in args.chips.split(",") if c.strip()] if args.chips else None
    _check_chips(chips)
    out = check_writable_dir(args.out)
    net, x, labels, source, args = load_data(args)
    args, fp = resolve_precision(args, net)
    result, _ = simulate(_no_store(args), net, x)
    summary = run_summary(net, result, labels, args, source)
    if fp is not None:
        summary["precision"] = precision_of_run(net, x, labels, fp, args)
    print(console_summary(summary))
    counts = counts_report(net, result, precision=fp)
    write_json_atomic(out / "counts.json", counts)
    title = f"{Path(args.checkpoint).name} on {source}, {result.samples} samples"
    data = write_reports(counts, chips, out, title=title, precision=summary.get("precision"))
    print(energy_table(data))
    print(f"wrote {out}/energy.json, energy.md, energy.html, counts.json and figures")
    return 0


def _check_chips(chips) -> None:
    """Every chip named must load before minutes of simulation are spent."""
    from energy.catalogue import load_chip
    for c in chips or ():
        load_chip(c)


def _no_store(args):
    """The energy command keeps its own outputs; the simulation itself is not made resumable."""
    return args.replace(out=None, resume=False)


def energy_table(data: dict) -> str:
    from energy.report import fmt_energy
    rows = [f"  {'chip':<14}{'per inference':>16}{'per step':>14}"]
    chips = data["chips"].items() if isinstance(data["chips"], dict) else ((c["chip"], c) for c in data["chips"])
    for name, chip in chips:
        rows.append(f"  {name:<14}{fmt_energy(chip['energy_pj']):>16}{fmt_energy(chip['energy_per_timestep_pj']):>14}")
    return "energy estimate (per inference):\n" + "\n".join(rows)


def register(sub) -> None:
    p = sub.add_parser("energy", help="simulate, then estimate energy on modelled chips and write reports")
    add_data_options(p, default_samples=32, resume=False)
    p.add_argument("--chips", default=None,
                   help="comma-separated chip names or chip .toml paths (default: the whole catalogue: "
                        "loihi,loihi2,truenorth,spinnaker,spinnaker2,cmos45-fp32,cmos45-int8,cpu,gpu)")
    p.add_argument("--out", default="energy-report", help="directory for energy.json/.md/.html and figures")
    add_import_options(p)
    p.set_defaults(func=cmd_energy)
