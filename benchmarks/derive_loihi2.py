"""Derive energy/chips/loihi2.toml from energy/chips/loihi.toml: every energy x kE, Loihi's times, a host floor.

Both are calibrated on ONE measured run (energy.validation.L2_MEASURED["torch"]): the workload is built and
counted in our tool (simulator/cli/energy_workloads.py) and priced with Loihi's figures unscaled. kE = measured /
predicted dynamic energy. Times stay Loihi's (kT = 1: Loihi 2 is not slower per operation than Loihi); the
measured step is longer than the cores' work, and the difference is a per-step floor set by the host
(host_step = the measured step time, the max-affine model's constant piece). The other measured runs are not
used. Run from the repository root: python benchmarks/derive_loihi2.py [--check]
(--check: recompute both from the shipped file; both ratios should be 1.000).
"""
from __future__ import annotations

import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from energy import estimate  # noqa: E402
from energy.validation import L2_MEASURED, WORKLOADS, every_step, with_bits  # noqa: E402
from simulator.cli.energy_workloads import workload_counts  # noqa: E402

CHIP = ROOT / "energy" / "chips" / "loihi2.toml"
PRIOR = ("Process scaling alone (Intel 14 nm to Intel 4) would suggest roughly 0.3-1.0x per operation (assumed "
         "from CV^2 scaling); the calibrated factor also absorbs Loihi 2 microcode and 24-bit payload work.")


HOST_NOTE = ("Low: 16.65 us, the measured on-chip step (total minus host time) of a 320-neuron Loihi 1 LSNN on sMNIST "
             "whose input and output run on the embedded x86 cores every step: they drew 23.2 of its 24.8 mW dynamic "
             "(intel-nrc-ecosystem/models, commit 15e429b, nxsdk_modules_ncl/lsnn/seqmnist/"
             "sMNIST_Loihi_performance_measurements.ipynb); high: +25 % assumed. Whether it grows with the values "
             "moved per step is not known from one run.")


def text(kE: float, kT: float, host_us: float | None = None, compute_us: float = 0.0) -> str:
    L1 = tomllib.loads((ROOT / "energy" / "chips" / "loihi.toml").read_text())

    def q(sec, key, k, extra=""):
        d = L1[sec][key]
        v, lo, hi = (round(d[x] * k, 4) for x in ("value", "low", "high"))
        if sec == "timing" and k == 1:   # times unscaled: the calibration run's extra time is host_step
            return (f'{key} = {{ value = {v}, low = {lo}, high = {hi}, unit = "{d["unit"]}", kind = "derived", '
                    f'secondary = false, source = "Loihi\'s {key} (energy/chips/loihi.toml: SANA-FE\'s fit to '
                    f'silicon), unscaled: Loihi 2 is taken to be no slower per operation than Loihi (Intel reports up '
                    f'to 10x faster, Orchard et al. 2021: not applied); the calibration run\'s longer step is the '
                    f'host floor host_step", note = "{extra}" }}')
        return (f'{key} = {{ value = {v}, low = {lo}, high = {hi}, unit = "{d["unit"]}", kind = "derived", '
                f'secondary = false, source = "Loihi\'s {key} (energy/chips/loihi.toml: {d["value"]} {d["unit"]}, '
                f'range {d["low"]}-{d["high"]}) x {k:.4g}: {"kE" if sec == "energy" else "kT"}, calibrated on ONE '
                f'measured Loihi 2 run (Intel\'s S4D profiler run, torch version: 0.660 uJ dynamic and 31.03 us per '
                f'step; lava-nc/lava-dl branch S4D_debug; benchmarks/derive_loihi2.py, docs/energy-validation.md)", '
                f'note = "{extra}" }}')
    def host(us):
        if us is None:
            return ""
        return (f'host_step = {{ value = {round(us, 3)}, low = 16.65, high = {round(us * 1.25, 3)}, unit = "us", '
                f'kind = "derived", secondary = false, source = "The measured step of Intel\'s S4D profiler run '
                f'(torch version, 31.03 us; lava-nc/lava-dl branch S4D_debug, commit 1b35217) is longer than its cores\' '
                f'work priced with Loihi\'s times ({compute_us:.2f} us): the rest is a per-step floor set by the input and '
                f'output processes (lava\'s spike_injector InputProcess and receiver Receiver, every step) and the step '
                f'synchronisation, most likely. Derived from that ONE calibration run; '
                f'benchmarks/derive_loihi2.py", note = "{HOST_NOTE}" }}')
    orig = CHIP.read_text()
    rest = orig[orig.index("[capacity]"):]
    return f'''# Intel Loihi 2. No per-operation energies or times have been published. Every energy and time below is
# Loihi's (SANA-FE-fitted, energy/chips/loihi.toml) times a factor, calibrated on ONE measured Loihi 2 run
# (docs/energy-validation.md, row L2-S4D torch): kE = {kE:.4g} (energies), kT = {kT:.4g} (times), and a per-step
# host floor (host_step) from the same run. Ranges are Loihi's ranges times the same factors.
# Written by benchmarks/derive_loihi2.py.

[chip]
name = "loihi2"
display_name = "Intel Loihi 2 (energies derived from Loihi, calibrated on one run)"
family = "neuromorphic"
process = "Intel 4"
step_model = "loihi"
static_scope = "chip"
summary = "Graded spikes, microcoded neurons (complex/resonate modes native). Per-op energies = Loihi's x kE = {kE:.3g}, times x kT = {kT:.3g}, a per-step host floor of {host_us or 0:.3g} us, calibrated on one measured S4D run; static power measured on a one-chip board (0.109-0.142 W)."

[energy]
{q("energy", "synop", kE, PRIOR)}
payload_mult = {{ value = {round(3.1 * kE, 4)}, low = {round(3.1 * kE * 0.5, 4)}, high = {round(3.1 * kE * 1.5, 4)}, unit = "pJ", kind = "derived", secondary = true, source = "Horowitz 2014 (ISSCC), 32-bit integer multiply 3.1 pJ at 45 nm, x kE = {kE:.4g}; range x0.5-x1.5 assumed", note = "A graded synaptic event = synop + payload_mult x message bits x weight bits / (32 x 32): messages are priced by their width." }}
{q("energy", "neuron_update", kE, "One update of a programmable neuron, a complex (resonate) mode included: Loihi 2 runs it natively.")}
{q("energy", "spike_within_tile", kE, "Per message sent (graded or binary).")}
{q("energy", "tile_hop", kE)}
host_op = {{ value = 0.9, low = 0.45, high = 1.8, unit = "nJ", kind = "assumed", secondary = true, source = "Degnan et al. 2015 ARM per-op energy via nengo/keras-spiking ('arm'); range x/2-x2 assumed", note = "Unused when every operation can run on the programmable neurons." }}

[power]
static_per_chip = {{ value = 109.0, low = 109.0, high = 142.0, unit = "mW", kind = "measured", secondary = false, source = "Intel's Loihi 2 profiler on a one-chip board (lava-nc/lava-dl, branch S4D_debug, commit 1b35217, sCIFAR profiling_scripts notebooks): static 0.109 W in the torch-version run, 0.142 W in the sigma-delta run", note = "Board-level static power of the whole chip, whatever the cores used (static_scope chip). The PilotNet tutorial reports 0.282 W on another board." }}

[timing]
{q("timing", "barrier_sync", kT)}
{q("timing", "neuron_update_time", kT)}
{q("timing", "synop_time", kT)}
{q("timing", "spike_out_time", kT)}
{q("timing", "hop_time", kT)}
{host(host_us)}

{rest}'''


def factors(chip_path) -> tuple[float, float]:
    w = WORKLOADS["l2_s4d"]
    counts = with_bits(every_step(workload_counts(w, w["steps"])), w["message_bits"])
    e = estimate(counts, chip_path, w["cores"])
    m = L2_MEASURED["torch"]
    return (m["dynamic_uj"] / (e["dynamic_energy_pj"] / e["timesteps"] * 1e-6),
            m["time_us"] / (e["latency_per_token_s"] * 1e6))


def main():
    if "--check" in sys.argv:
        print("measured / predicted with the shipped file, dynamic energy and step time: %.4f %.4f" % factors(CHIP))
        return
    with tempfile.TemporaryDirectory() as d:
        unit = Path(d) / "loihi2_unscaled.toml"
        unit.write_text(text(1.0, 1.0))
        kE, time_ratio = factors(unit)
    measured = L2_MEASURED["torch"]["time_us"]
    compute = measured / time_ratio
    if compute >= measured:
        raise SystemExit(f"the cores' work ({compute:.2f} us) is not below the measured step: no host floor to derive")
    CHIP.write_text(text(kE, 1.0, measured, compute))
    print(f"kE = {kE:.4f}; cores' work {compute:.2f} us, host floor {measured:.2f} us; wrote {CHIP}")


if __name__ == "__main__":
    main()
