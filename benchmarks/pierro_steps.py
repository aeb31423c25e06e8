"""The Pierro validation row, one change at a time: the workload spec (energy.validation.WORKLOADS["pierro"]) and
the GPU's extra-stage operators (energy.baselines.EXTRA_STAGE_KEYS) altered, everything else as shipped. Prints the
markdown rows quoted in docs/energy-model.md ("Calibration and validation"). Light: four small runs of 256 steps.
Run from the repository root: python benchmarks/pierro_steps.py
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import energy.baselines as b  # noqa: E402
from energy import validation as v  # noqa: E402
from simulator.cli.energy_workloads import workload_counts  # noqa: E402

base = dict(v.WORKLOADS["pierro"])
steps = [("recipe size (H 192, P 128), linear ReLU mixing, no residual; 8 operators per block",
          dict(H=192, P=128, mixing=None, residual=False), ()),
         ("+ README's dim_scale 0.5 (H 96, P 64)", dict(mixing=None, residual=False), ()),
         ("+ half1 gate and residual add", dict(), ()),
         ("+ one GPU operator per extra stage (shipped)", dict(), b.EXTRA_STAGE_KEYS)]
keys = b.EXTRA_STAGE_KEYS
print("| Pierro workload | Loihi 2 uJ per token | Jetson operators | Jetson us per token | energy ratio (vs 149) | "
      "latency ratio (vs 42) |")
print("|---|---|---|---|---|---|")
for name, change, extra in steps:
    spec = dict(base, **change)
    b.EXTRA_STAGE_KEYS = extra
    c = v.decoder_every_step(v.with_bits(workload_counts(spec, spec["steps"]), spec["message_bits"]))
    e = v.estimate(c, "loihi2", spec["cores"])
    j = b.regimes(c, ["jetson-orin-nano"])["jetson-orin-nano"]["streaming"]["central"]
    f = b.flops_per_token(c)
    er, tr = j["energy_pj"] / e["energy_per_token_pj"], j["latency_s"] / e["latency_per_token_s"]
    print(f"| {name} | {e['energy_per_token_pj'] / 1e6:.2f} | {f['operators']} | {j['latency_s'] * 1e6:.0f} | "
          f"{er:.0f} ({er / 149:.2f}x) | {tr:.1f} ({tr / 42:.2f}x) |")
b.EXTRA_STAGE_KEYS = keys
