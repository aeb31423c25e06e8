"""Brian2 backend: the same network built from Brian2 groups, for cross-validation (docs/brian2-validation.md).

An independent implementation of the path that matters (SSM recurrence -> threshold -> synaptic mixing):
complex modes are real/imaginary state pairs advanced by an explicit discrete update (`run_regularly`),
channel outputs are summed variables, spikes come from Brian2 thresholds, and the mixing weights are
`Synapses` with `on_pre` (event-driven). Encoder, norms, residuals, the GSU's LayerNorm + GELU and the decoder
are computed in numpy between layers. The network runs layer by layer, one Brian2 run per layer (plus one
over reversed time for the backward direction of bidirectional layers), all samples side by side.

Neuron indices: channel neuron c = b*H + h (sample b, channel h); mode neuron m = c*(N/2) + n.

Schedule within one step t (Brian2's default would put each stage one dt behind the previous; here every
stage reads this step's values, so a layer adds no delay):

  before_groups      modes: s <- Ab s + Bb u_t;  acc: reset the event accumulators
  groups, -21        readout (summed, modes -> chan): yf = 2 Re(sum_n C0 s)          [chan.order = -20]
  groups, -10        chan: y = yf (+ yb_t) + D u_t
  groups, -1         graded synapses (summed, chan -> acc): GSU gate g, S4D baseline GELU(y) [acc.order = 0]
  after_groups       GSU: delta = 0.15 max_h |y| (network_operation: a reduction over channels)
  thresholds         chan: y > 0 (binary), y - delta > 0 (GSU +1); neg: -y - delta > 0 (GSU -1)
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

from models.discretize import DiscreteSSM, discretize
from models.reference import apply_norm, encode, gelu, layer_norm
from models.spec import Network
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


def _array_function(name: str, values: np.ndarray):
    """A Brian2 function name(k) -> values.ravel()[k] (k = step * columns + column).

    Not a TimedArray: TimedArray bakes its shape into the generated code, so every new (L, columns) would
    trigger a fresh C compile; here the array travels in the namespace and the compiled code is reused.
    """
    from brian2 import Function
    flat = np.ascontiguousarray(values, dtype=np.float64).ravel()
    f = Function(lambda k: flat[k], arg_units=[1], return_unit=1, arg_types=["integer"], return_type="float")
    code = f"""
cdef double {name}(long k):
    global _namespace_{name}_values
    return _namespace_{name}_values[k]
"""
    f.implementations.add_implementation("cython", code, namespace={f"_{name}_values": flat}, name=name)
    return f


def _gelu_function():
    """GELU with the exact erf (PyTorch's default), in C's libm for Cython and scipy for numpy."""
    from brian2 import Function
    f = Function(gelu, arg_units=[1], return_unit=1)
    code = """
cdef extern from "math.h":
    double erf(double)
cdef double gelu_erf(double x):
    return 0.5 * x * (1.0 + erf(x / sqrt(2.0)))
"""
    f.implementations.add_implementation("cython", code, name="gelu_erf")
    return f


def _per_sample(values: np.ndarray, B: int) -> np.ndarray:
    """Per-channel (H, ...) parameters -> per-neuron arrays for B samples side by side."""
    return np.tile(np.ascontiguousarray(values).ravel(), B)


def _time_major(a: np.ndarray) -> np.ndarray:
    """(B, L, H) -> (L, B*H): row t holds every channel neuron's value at step t."""
    B, L, H = a.shape
    return a.transpose(1, 0, 2).reshape(L, B * H)


def _from_monitor(values: np.ndarray, B: int, H: int) -> np.ndarray:
    """StateMonitor array (B*H, L) -> (B, L, H)."""
    return np.asarray(values).reshape(B, H, -1).transpose(0, 2, 1).copy()


MODE_EQS = """
sr : 1
si : 1
ar : 1 (constant)
ai : 1 (constant)
br : 1 (constant)
bi : 1 (constant)
cr : 1 (constant)
ci : 1 (constant)
col : integer (constant)
ncols : integer (constant, shared)
"""
# s <- Ab*s + Bb*u_t as real arithmetic on the (re, im) pair; sr_old keeps the update simultaneous.
MODE_UPDATE = """
u = u_in(t_in_timesteps * ncols + col)
sr_old = sr
sr = ar*sr - ai*si + br*u
si = ar*si + ai*sr_old + bi*u
"""
# y_c = 2 Re(sum_n C s) as a summed variable: each mode neuron feeds its channel neuron.
READOUT = "yf_post = 2.0*(cr_pre*sr_pre - ci_pre*si_pre) : 1 (summed)"


def _ssm(d: DiscreteSSM, direction: int, B: int, chan, *, update_when: str, dt):
    """Mode group (N/2 complex modes per channel neuron) and its summed readout into `chan`.

    The readout runs at ('groups', chan.order - 1); the mode update at `update_when`: 'before_groups' reads
    the state after this step's input (forward), 'after_groups' reads it before (backward: r_{t+1}).
    """
    from brian2 import NeuronGroup, Synapses
    H, n2 = d.Ab.shape
    M = B * H * n2
    modes = NeuronGroup(M, MODE_EQS, dt=dt, name=f"modes{direction}")
    modes.ar, modes.ai = _per_sample(d.Ab.real, B), _per_sample(d.Ab.imag, B)
    modes.br, modes.bi = _per_sample(d.Bb.real, B), _per_sample(d.Bb.imag, B)
    modes.cr, modes.ci = _per_sample(d.C[direction].real, B), _per_sample(d.C[direction].imag, B)
    modes.col = np.arange(M) // n2
    modes.ncols = B * H
    modes.run_regularly(MODE_UPDATE, when=update_when, name=f"modes{direction}_update")
    readout = Synapses(modes, chan, model=READOUT, dt=dt, name=f"readout{direction}")
    readout.connect(i=np.arange(M), j=np.arange(M) // n2)
    return [modes, readout]


def _backward(d: DiscreteSSM, z: np.ndarray, dt) -> np.ndarray:
    """yb_t = 2 Re(sum_n C1 r_{t+1}), r_t = Ab r_{t+1} + Bb u_t, r_L = 0: one run over reversed time."""
    from brian2 import Network, NeuronGroup, StateMonitor
    B, L, H = z.shape
    u_in = _array_function("u_in", _time_major(z[:, ::-1]))
    chan = NeuronGroup(B * H, "yf : 1", dt=dt, order=-20, name="chan1")
    mon = StateMonitor(chan, "yf", record=True, when="end", dt=dt, name="mon_yb")
    ssm = _ssm(d, 1, B, chan, update_when="after_groups", dt=dt)
    Network(*ssm, chan, mon).run(L * dt, namespace={"u_in": u_in})
    return _from_monitor(mon.yf, B, H)[:, ::-1]


def _channel_eqs(kind: str) -> str:
    eqs = """
y : 1
yf : 1
d : 1 (constant)
ncols : integer (constant, shared)
"""
    if kind == "gsu":
        eqs += "delta : 1\n"
    if kind == "s4d":
        eqs += "act = gelu_erf(y) : 1\n"
    return eqs


def _layer(kind: str, d: DiscreteSSM, mixing, z: np.ndarray, yb: np.ndarray | None, record_pre: bool, dt):
    """One layer over the whole sequence. Returns (pre y or None, SpikeEvents, mixing output (B, L, H))."""
    from brian2 import Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses, linked_var, network_operation
    B, L, H = z.shape
    ns = {"u_in": _array_function("u_in", _time_major(z))}
    y_code = "y = yf + d*u_in(t_in_timesteps * ncols + i)"
    if yb is not None:
        ns["yb_in"] = _array_function("yb_in", _time_major(yb))
        y_code = "y = (yf + yb_in(t_in_timesteps * ncols + i)) + d*u_in(t_in_timesteps * ncols + i)"
    if kind == "s4d":
        ns["gelu_erf"] = _gelu_function()
    threshold = {"binary_s4d": "y > 0", "gsu": "y - delta > 0", "s4d": None}[kind]
    chan = NeuronGroup(B * H, _channel_eqs(kind), threshold=threshold, reset="" if threshold else None, dt=dt,
                       order=-20, name="chan0")
    chan.d = _per_sample(d.D, B)
    chan.ncols = B * H
    # y after the readout (order -21) and before any graded synapse reads it (acc.order - 1 = -1).
    chan.run_regularly(y_code, when="groups", order=-10, name="chan0_y")
    objs = [chan, *_ssm(d, 0, B, chan, update_when="before_groups", dt=dt)]

    # Mixing: every channel neuron of sample b projects to every accumulator neuron of sample b.
    pre_idx = np.repeat(np.arange(B * H), H)                       # (b, k) repeated for each target j
    post_idx = (pre_idx // H) * H + np.tile(np.arange(H), B * H)   # (b, j)
    k, j = pre_idx % H, post_idx % H
    if kind == "gsu":
        acc = NeuronGroup(B * H, "P : 1\ng : 1\nbias : 1 (constant)\npg = (P + bias) * g : 1", dt=dt, name="acc")
        acc.bias = _per_sample(mixing.bias, B)
        # Ternary spikes: a positive source (chan) adds the weight row, a negative source subtracts it.
        neg = NeuronGroup(B * H, "yl : 1 (linked)\ndl : 1 (linked)", threshold="-yl - dl > 0", reset="", dt=dt,
                          order=-20, name="neg")
        neg.yl = linked_var(chan, "y")
        neg.dl = linked_var(chan, "delta")
        # The gate g = y @ Wt is graded (real y, ternary weights): a summed variable, not events.
        pos_syn = Synapses(chan, acc, "w : 1 (constant)\nwt : 1 (constant)\ng_post = wt*y_pre : 1 (summed)",
                           on_pre="P_post += w", dt=dt, name="mix_pos")
        neg_syn = Synapses(neg, acc, "w : 1 (constant)", on_pre="P_post -= w", dt=dt, name="mix_neg")
        for syn in (pos_syn, neg_syn):
            syn.connect(i=pre_idx, j=post_idx)
            syn.w = mixing.weight[k, j]                             # P = s @ W: W[k, j]
        pos_syn.wt = mixing.ternary_weight()[k, j]
        acc.run_regularly("P = 0", when="before_groups", name="acc_reset")

        y_state = chan.variables["y"].get_value()
        delta_state = chan.variables["delta"].get_value()
        ratio = mixing.spike_ratio

        # delta = ratio * max_h |y| is a reduction over channels, which Brian2 code cannot express.
        @network_operation(when="after_groups", dt=dt, name="gsu_delta")
        def gsu_delta():
            delta_state[:] = np.repeat(ratio * np.abs(y_state.reshape(B, H)).max(axis=1), H)

        objs += [acc, neg, pos_syn, neg_syn, gsu_delta]
        out_var = "pg"
    else:
        acc = NeuronGroup(B * H, "za : 1\nzb : 1\nba : 1 (constant)\nbb : 1 (constant)\n"
                                 "out = (za + ba) * (1.0 / (1.0 + exp(-(zb + bb)))) : 1", dt=dt, name="acc")
        acc.ba, acc.bb = _per_sample(mixing.bias[:H], B), _per_sample(mixing.bias[H:], B)
        if kind == "binary_s4d":
            # Event-driven: a spike of channel k adds its weight column W[:, k] to both GLU halves.
            syn = Synapses(chan, acc, "wa : 1 (constant)\nwb : 1 (constant)",
                           on_pre="za_post += wa\nzb_post += wb", dt=dt, name="mix")
            acc.run_regularly("za = 0\nzb = 0", when="before_groups", name="acc_reset")
        else:
            # S4D baseline: graded GELU(y) messages every step, as summed variables.
            syn = Synapses(chan, acc, "wa : 1 (constant)\nwb : 1 (constant)\n"
                                      "za_post = wa*act_pre : 1 (summed)\nzb_post = wb*act_pre : 1 (summed)",
                           dt=dt, name="mix")
        syn.connect(i=pre_idx, j=post_idx)
        syn.wa = mixing.weight[j, k]
        syn.wb = mixing.weight[H + j, k]
        objs += [acc, syn]
        out_var = "out"

    mon_out = StateMonitor(acc, out_var, record=True, when="end", dt=dt, name="mon_out")
    objs.append(mon_out)
    if record_pre:
        mon_y = StateMonitor(chan, "y", record=True, when="end", dt=dt, name="mon_y")
        objs.append(mon_y)
    spike_mons = []
    if kind != "s4d":
        spike_mons.append((1, SpikeMonitor(chan, name="spikes_pos")))
        if kind == "gsu":
            spike_mons.append((-1, SpikeMonitor(neg, name="spikes_neg")))
        objs += [m for _, m in spike_mons]

    Network(*objs).run(L * dt, namespace=ns)

    out = _from_monitor(getattr(mon_out, out_var), B, H)
    if kind == "gsu":
        out = gelu(layer_norm(out, mixing.norm_weight, mixing.norm_bias, mixing.norm_eps))
    pre = _from_monitor(mon_y.y, B, H) if record_pre else None
    events = _events(spike_mons, H, float(dt)) if kind != "s4d" else SpikeEvents.empty()
    return pre, events, out


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
    """
    from brian2 import ms
    start = time.perf_counter()
    dt = 1 * ms  # one network step; its physical value plays no role
    h = encode(net, x)
    B, L, H = h.shape
    pres, spikes = [], []
    with _brian2_prefs(target):
        for block in net.blocks:
            d = discretize(block.ssm, net.disc)
            z = apply_norm(block.norm, h) if net.prenorm else h
            yb = _backward(d, z, dt) if d.C.shape[0] == 2 else None
            pre, events, out = _layer(net.kind, d, block.mixing, z, yb, record_pre, dt)
            h = h + out
            if not net.prenorm:
                h = apply_norm(block.norm, h)
            pres.append(pre)
            spikes.append(events)
    if net.prenorm:
        h = apply_norm(net.final_norm, h)
    pooled = h.mean(axis=1) if net.decoder.mode == "pool" else h[:, -1]
    logits = pooled @ net.decoder.weight.T + net.decoder.bias
    return RunResult(logits=logits, spikes=spikes, counts={}, timesteps=L, channels=H,
                     pre=pres if record_pre else None, wall_time_s=time.perf_counter() - start)
