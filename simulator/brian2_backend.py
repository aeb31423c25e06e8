"""Brian2 backend: the same network built from Brian2 groups, for cross-validation (docs/brian2-validation.md).

An independent implementation of the path that matters (SSM recurrence -> threshold -> synaptic mixing):
complex modes are real/imaginary state pairs advanced by an explicit discrete update (`run_regularly`),
channel outputs are summed variables, spikes come from Brian2 thresholds, and the mixing weights are
`Synapses` with `on_pre` (event-driven). Each part kind has its own builder (simulator/parts/brian2*.py);
this module walks the blocks and assembles one layer from its parts. Encoder, norms, residuals, the GSU's
LayerNorm + GELU and the decoder are computed in numpy between layers. The network runs layer by layer, one
Brian2 run per layer (plus one over reversed time for the backward direction of bidirectional layers), all
samples side by side.

Neuron indices: channel neuron c = b*H + h (sample b, channel h); mode neuron m = c*(N/2) + n.

Schedule within one step t (Brian2's default would put each stage one dt behind the previous; here every
stage reads this step's values, so a layer adds no delay):

  before_groups      modes: s <- Ab s + Bb u_t;  acc: reset the event accumulators
  groups, -21        readout (summed, modes -> chan): yf = 2 Re(sum_n C0 s)          [chan.order = -20]
  groups, -10        chan: y = yf (+ yb_t) + D u_t
  groups, -1         graded synapses (summed, chan -> acc): GSU gate g, GLU on GELU(y)  [acc.order = 0]
  after_groups       ternary: delta = ratio * max_h |y| (network_operation: a reduction over channels)
  thresholds         chan: y > 0 (binary), y - delta > 0 (ternary +1); neg: -y - delta > 0 (ternary -1)
  synapses           on_pre, zero delay: each spike adds (or subtracts) its weight column to acc
  end                StateMonitors record y and the accumulator outputs
Backward direction (its own run over reversed time): readout at (groups, -21) first, mode update after
(after_groups), so step t reads r_{t+1}.
"""
from __future__ import annotations

import contextlib
import os
import time
import warnings

import numpy as np

from models.reference import encode
from models.spec import Network
from simulator.parts.brian2 import Layer, builder
from simulator.parts.brian2_arrays import from_monitor
from simulator.recording import RunResult, SpikeEvents

# Brian2 2.9 calls pyparsing names that pyparsing 3.3 deprecates and logs every such warning to stderr: noise
# about a dependency's dependency, not about the run (also filtered in pytest.ini).
warnings.filterwarnings("ignore", message=r".*(deprecated - use|argument is deprecated).*")

# Strict IEEE double arithmetic: Brian2's default flags include -ffast-math and -march=native (FMA
# contraction, reassociation); without them the recurrence matches a plain float64 loop bit for bit.
COMPILE_ARGS = ["-w", "-O3", "-ffp-contract=off", "-fno-fast-math"]
# Brian2's extension cache key ignores compiler flags, so strict-flag modules get their own directory
# (override with SIMULATOR_BRIAN2_CACHE, e.g. when the home directory is read-only).
CACHE_DIR = os.environ.get("SIMULATOR_BRIAN2_CACHE",
                           os.path.join(os.path.expanduser("~"), ".cython", "brian_extensions", "ssm_snn_ieee"))


@contextlib.contextmanager
def _brian2_prefs(target: str):
    """Set Brian2's code-generation preferences for one run, restore the caller's afterwards."""
    from brian2 import prefs
    keys = {"codegen.target": target, "codegen.cpp.extra_compile_args_gcc": COMPILE_ARGS,
            "codegen.runtime.cython.cache_dir": CACHE_DIR,
            # keep every expression's arithmetic in the order written (the optimiser rewrites via sympy)
            "codegen.loop_invariant_optimisations": False}
    old = {k: prefs[k] for k in keys}
    try:
        for k, v in keys.items():
            prefs[k] = v
        yield
    finally:
        for k, v in old.items():
            prefs[k] = v


SPIKE_MONITORS = {1: "spikes_pos", -1: "spikes_neg"}   # by spike sign


def _layer(ssm, act, mix, layer: Layer, z: np.ndarray, record_pre: bool):
    """One block's Brian2 run over the whole sequence, assembled from its parts' builders: the SSM's and the
    activation's equations make the channel group, then each part adds its groups and synapses.

    Returns (pre y or None, SpikeEvents, mixing output (B, L, H)).
    """
    from brian2 import Network, NeuronGroup, SpikeMonitor, StateMonitor
    B, H, dt = layer.B, layer.H, layer.dt
    ns = ssm.inputs(z)
    ns.update(act.namespace())
    chan = NeuronGroup(B * H, ssm.CHANNEL_EQS + act.CHANNEL_EQS, threshold=act.threshold,
                       reset=act.reset, dt=dt, order=-20, name="chan0")
    objs = [chan, *ssm.build(chan)]
    act_objs, sent = act.build(chan)
    mix_objs, acc, out_var = mix.build(chan, sent)
    objs += act_objs + mix_objs

    mon_out = StateMonitor(acc, out_var, record=True, when="end", dt=dt, name="mon_out")
    objs.append(mon_out)
    if record_pre:
        mon_y = StateMonitor(chan, "y", record=True, when="end", dt=dt, name="mon_y")
        objs.append(mon_y)
    spike_mons = [(sign, SpikeMonitor(src, name=SPIKE_MONITORS[sign])) for sign, src in sent.spikes]
    objs += [m for _, m in spike_mons]

    Network(*objs).run(z.shape[1] * dt, namespace=ns)

    out = mix.finish(from_monitor(getattr(mon_out, out_var), B, H))
    pre = from_monitor(mon_y.y, B, H) if record_pre else None
    return pre, _events(spike_mons, H, float(dt)), out


def _events(spike_mons, H: int, dt_s: float) -> SpikeEvents:
    """SpikeMonitor contents -> SpikeEvents sorted by (sample, t, neuron)."""
    parts = []
    for sign, mon in spike_mons:
        c = np.asarray(mon.i[:], dtype=np.int64)
        t = np.rint(np.asarray(mon.t_[:]) / dt_s).astype(np.int32)
        parts.append(SpikeEvents(sample=(c // H).astype(np.int32), t=t, neuron=(c % H).astype(np.int32),
                                 value=np.full(c.size, sign, np.int8)))
    ev = SpikeEvents.concat(parts)
    order = np.lexsort((ev.neuron, ev.t, ev.sample))
    return SpikeEvents(ev.sample[order], ev.t[order], ev.neuron[order], ev.value[order])


def run_brian2(net: Network, x: np.ndarray, record_pre: bool = True, target: str = "cython") -> RunResult:
    """Run `net` on inputs x (as models.reference.encode takes them) in Brian2; float64 throughout.

    target: 'cython' (compiled, cached in CACHE_DIR) or 'numpy' (no compiler needed, slower).
    Raises InputError before any Brian2 run if some part kind has no Brian2 builder.
    """
    from brian2 import ms
    start = time.perf_counter()
    dt = 1 * ms  # one network step; its physical value plays no role
    h = encode(net, x)
    B, L, H = h.shape
    # Every builder first, so a part without one is refused before any (possibly long) Brian2 run.
    layers = [Layer(B=B, H=H, dt=dt, disc=net.disc, message=block.activation.MESSAGE) for block in net.blocks]
    builders = [[builder(part, layer) for part in (block.ssm, block.activation, block.mixing)]
                for block, layer in zip(net.blocks, layers)]
    pres, spikes = [], []
    with _brian2_prefs(target):
        for block, layer, parts in zip(net.blocks, layers, builders):
            z = _norm(block.norm, h) if net.prenorm else h
            pre, events, out = _layer(*parts, layer, z, record_pre)
            h = h + out if block.residual else out
            if not net.prenorm:
                h = _norm(block.norm, h)
            pres.append(pre)
            spikes.append(events)
    if net.prenorm:
        h = _norm(net.final_norm, h)
    pooled = h.mean(axis=1) if net.decoder.mode == "pool" else h[:, -1]
    logits = pooled @ net.decoder.weight.T + net.decoder.bias
    return RunResult(logits=logits, spikes=spikes, counts={}, timesteps=L, channels=H,
                     pre=pres if record_pre else None, wall_time_s=time.perf_counter() - start)


def _norm(part, x: np.ndarray) -> np.ndarray:
    """A norm part's own numpy forward (none: identity); norms have no time structure to cross-validate."""
    return x if part is None else part.forward(x)
