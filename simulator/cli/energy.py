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

    if args.validate:
        return cmd_validate(args)
    check_options(args)
    check_precision_options(args)
    mapping = parse_mapping(args.mapping)
    chips = [c.strip() for c in args.chips.split(",") if c.strip()] if args.chips else None
    _check_chips(chips)
    out = check_writable_dir(args.out or "energy-report")
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
    data = write_reports(counts, chips, out, title=title, mapping=mapping, precision=summary.get("precision"))
    print(energy_table(data))
    print(f"wrote {out}/energy.json, energy.md, energy.html, counts.json and figures")
    return 0


def parse_mapping(value: str):
    """--mapping packed | spread | N (a total core count)."""
    from models.errors import InputError
    if value in ("packed", "spread"):
        return value
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise InputError(f"--mapping: expected packed, spread or a positive number of cores, found {value!r}")
    return n


def cmd_validate(args) -> int:
    """Build the validation workloads, predict every measured row, write the page (default: docs/)."""
    from energy.validation import WORKLOADS, run_validation
    from simulator.cli.energy_workloads import all_counts
    from simulator.output_files import check_writable_dir
    docs = Path(__file__).resolve().parents[2] / "docs"       # the repository's docs/, in a checkout
    default = docs if (docs / "energy-model.md").exists() else Path("energy-validation")
    out = check_writable_dir(args.out or str(default))
    data = run_validation(all_counts(WORKLOADS, reduced=args.reduced), out, reduced=args.reduced)
    print(validation_table(data))
    print("wrote " + ", ".join(data["files"]))
    return 0


def validation_table(data: dict) -> str:
    rows = [f"  {'workload':<52}{'quantity':<38}{'measured':>10}{'predicted (low-high)':>30}"]
    for r in data["rows"]:
        m = "-" if r["measured"] is None else f"{r['measured']:.3g}"
        p = f"{r['predicted']:.3g} ({r['predicted_low']:.3g}-{r['predicted_high']:.3g})"
        rows.append(f"  {r['workload'][:51]:<52}{r['quantity'][:37]:<38}{m:>10}{p:>30}")
    return "validation (" + data["chip"] + "):\n" + "\n".join(rows)


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
    from energy.report import fmt_time
    rows = [f"  {'chip':<14}{'per inference':>16}{'per token (low-high)':>34}{'latency/token':>15}"]
    chips = data["chips"].items() if isinstance(data["chips"], dict) else ((c["chip"], c) for c in data["chips"])
    for name, chip in chips:
        rng = (chip.get("range") or {}).get("energy_per_token_pj")
        tok = fmt_energy(chip["energy_per_timestep_pj"])
        if rng:
            tok += f" ({fmt_energy(rng['low'])}-{fmt_energy(rng['high'])})"
        lat = fmt_time(chip.get("latency_per_token_s")) if chip.get("latency_per_token_s") else "-"
        rows.append(f"  {name:<14}{fmt_energy(chip['energy_pj']):>16}{tok:>34}{lat:>15}")
    return "energy estimate (per inference, per token = one step of one sample):\n" + "\n".join(rows)


def register(sub) -> None:
    p = sub.add_parser("energy", help="simulate, then estimate energy on modelled chips and write reports")
    add_data_options(p, default_samples=32, resume=False)
    p.add_argument("--chips", default=None,
                   help="comma-separated chip names or chip .toml paths (default: the whole catalogue: "
                        "loihi,loihi2,truenorth,spinnaker,spinnaker2,cmos45-fp32,cmos45-int8,cpu,gpu)")
    p.add_argument("--out", default=None, help="directory for energy.json/.md/.html and figures (default "
                   "energy-report; with --validate: the repository's docs/, or ./energy-validation outside a checkout)")
    p.add_argument("--mapping", default="packed", help="neuromorphic chips: packed (fewest cores, default), spread "
                   "(every core of the chips used: lowest latency) or N (a total core count)")
    p.add_argument("--validate", action="store_true", help="instead of a checkpoint: build the validation "
                   "workloads, predict the measured rows and write energy-validation.md/.json and its figure")
    p.add_argument("--reduced", action="store_true", help="with --validate: a few steps only (tests)")
    add_import_options(p)
    p.set_defaults(func=cmd_energy)
