"""The engines: thin drivers over the Numba kernels.

`run(net, x, engine='event'|'dense')` simulates whole sequences, a layer at a time over the whole
sequence (bidirectional layers need it). `Stream` feeds unidirectional networks a step or a chunk at a
time with persistent state; it reuses exactly the same per-chunk code, so results equal a whole run.
"""
from __future__ import annotations

import time

import numpy as np

from models.errors import InputError
from models.reference import check_input
from models.spec import Network
from simulator import fused, kernels
from simulator.compiled import CompiledNetwork, compile_network
from simulator.counting import Counter
from simulator.recording import RunResult, SpikeEvents, SpikeMasks

ENGINES = ("event", "dense")


class _State:
    """Everything that persists between chunks of one batch of samples: per block the SSM's, the activation's
    and the mixing's state (their runners make it), the encoder's held values, the decoder's running sums."""

    def __init__(self, cn: CompiledNetwork, batch: int):
        H, f = cn.H, cn.dtype
        self.ssm = [layer.ssm.new_state(batch) for layer in cn.layers]
        self.activation = [layer.activation.new_state(batch) for layer in cn.layers]
        self.mixing = [layer.mixing.new_state(batch) for layer in cn.layers]
        if cn.enc_rows is not None:
            self.x_held = np.zeros((batch, cn.enc_rows.shape[0]), f)
            self.u_held = np.tile(cn.enc_bias, (batch, 1))
        self.tok_prev = np.full(batch, -1, np.int64)
        self.pool = np.zeros((batch, H), np.float64)
        self.last = np.zeros((batch, H), np.float64)
        self.steps = 0


class Simulation:
    """A batch of samples being simulated; feed() advances every layer over a chunk of time steps."""

    def __init__(self, cn: CompiledNetwork, batch: int, engine: str = "event", record_pre: bool = False,
                 trace_neurons=None, sample_offset: int = 0, use_fused: bool = True, probe=None):
        if engine not in ENGINES:
            raise InputError(f"engine: expected one of {', '.join(ENGINES)}, found {engine!r}")
        self.cn, self.batch, self.event = cn, batch, engine == "event"
        self.state = _State(cn, batch)
        self.counter = Counter(cn, batch)
        self.record_pre = record_pre
        self.trace_neurons = None if trace_neurons is None else np.asarray(trace_neurons, np.int64)
        self.sample_offset = sample_offset
        # probe(layer or None, name, array): sees every tensor between parts (calibration, simulator/calibrate.py)
        self.probe = probe
        self.spikes: list[list[SpikeMasks]] = [[] for _ in cn.layers]
        self.pre: list[list[np.ndarray]] = [[] for _ in cn.layers]
        self.traces: list[list[np.ndarray]] = [[] for _ in cn.layers]
        self.stage_time_s: dict[str, float] = {"encoder": 0.0, "ssm": 0.0, "mixing": 0.0, "elementwise": 0.0}
        # The fused kernel when every part has a piece and no per-part array is asked for (pre-activations,
        # traces); otherwise the walker below. Both give the same bits (tests/test_fused.py).
        wanted = use_fused and not record_pre and self.trace_neurons is None and probe is None
        self.fused = fused.driver_for(cn) if wanted else None

    # ---- one chunk: the walker ------------------------------------------------------------------------
    def feed(self, x: np.ndarray) -> None:
        """Advance over x: (batch, Lc, d_input) floats or (batch, Lc) tokens (already validated)."""
        if self.fused is not None:
            return self._feed_fused(x)
        cn, st, f = self.cn, self.state, self.cn.dtype
        prenorm = cn.net.prenorm
        probe = self.probe or _no_probe
        t0 = time.perf_counter()
        probe(None, "x", x)
        h = self._encode(x)
        self.stage_time_s["encoder"] += time.perf_counter() - t0
        Lc = h.shape[1]
        slots = Lc * cn.H
        for li, layer in enumerate(cn.layers):
            t0 = time.perf_counter()
            c = self.counter.adder(f"layer{li}")
            probe(li, "h", h)
            z_in = layer.norm.apply(h) if (prenorm and layer.norm is not None) else h
            y, work = layer.ssm.run(np.ascontiguousarray(z_in, dtype=f), st.ssm[li], self.event)
            t1 = time.perf_counter()
            sent, spikes = layer.activation.run(y, st.activation[li])
            out = layer.mixing.run(sent, y, st.mixing[li], self.event)
            t2 = time.perf_counter()
            probe(li, "z", z_in)
            probe(li, "y", y)
            probe(li, "sent", sent)
            probe(li, "out", out)
            if not prenorm and layer.norm is not None:
                h = layer.norm.add_and_norm(h, out, layer.residual)
            else:
                h = layer.join(h, out, c)
            probe(li, "h_next", h)
            self.stage_time_s["ssm"] += t1 - t0
            self.stage_time_s["mixing"] += t2 - t1
            self.stage_time_s["elementwise"] += time.perf_counter() - t2
            self._count(c, layer, Lc, slots, work, sent, y, spikes, li)
            if spikes is not None:
                self.spikes[li].append(self._events(spikes, st.steps))
            if self.record_pre:
                self.pre[li].append(y)
            if self.trace_neurons is not None:
                self.traces[li].append(y[:, :, self.trace_neurons].copy())
        if prenorm and cn.final_norm is not None:
            h = cn.final_norm.apply(h)
            probe(None, "final", h)
        kernels.pool_sum(np.ascontiguousarray(h, dtype=np.float64), st.pool)
        st.last = h[:, -1].astype(np.float64)
        st.steps += Lc
        self.counter.decoder(Lc)

    def _feed_fused(self, x: np.ndarray) -> None:
        cn, st = self.cn, self.state
        t0 = time.perf_counter()
        if cn.enc_rows is None:
            self.counter.encoder_tokens(x, st.tok_prev)
            st.tok_prev = x[:, -1].copy()
        else:
            x = cn.prepare_input(x)
            self.counter.encoder_linear(x, st.x_held)      # before the kernel moves x_held on
        records, works, ys, last, enc_sats = fused.feed(self.fused, cn, st, x, self.event)
        if enc_sats is not None:
            self.counter.adder("encoder")("saturations", enc_sats)
        self.stage_time_s["fused"] = self.stage_time_s.get("fused", 0.0) + time.perf_counter() - t0
        Lc = x.shape[1]
        for li, (layer, sent, spiking) in enumerate(zip(cn.layers, records, self.fused.spiking)):
            spikes = sent if spiking else None
            self._count(self.counter.adder(f"layer{li}"), layer, Lc, Lc * cn.H, works[li], sent, ys[li], spikes, li)
            if spikes is not None:
                self.spikes[li].append(self._events(spikes, st.steps))
        st.last = last
        st.steps += Lc
        self.counter.decoder(Lc)

    def _count(self, c, layer, Lc: int, slots: int, work, sent, y, spikes, li: int) -> None:
        """Each part reports its own primitives; the walker adds only the residual sum."""
        events = None if spikes is None else np.count_nonzero(spikes, axis=1)   # (B, H) spikes per input
        layer.ssm.count(c, Lc, slots, work)
        layer.activation.count(c, slots, events, self.state.activation[li])
        layer.mixing.count(c, Lc, slots, sent, y, events, self.state.mixing[li])
        if layer.norm is not None:
            layer.norm.count(c, slots)
        if layer.residual:
            c("residual_adds", slots)

    def _events(self, spikes: np.ndarray, t_offset: int) -> SpikeMasks:
        """A chunk's spikes as bit masks; the chunks of a layer are joined along time in result()."""
        return SpikeMasks.from_dense(spikes, self.sample_offset)

    def _encode(self, x: np.ndarray) -> np.ndarray:
        cn, st = self.cn, self.state
        if cn.enc_rows is None:
            self.counter.encoder_tokens(x, st.tok_prev)
            st.tok_prev = x[:, -1].copy()
            return np.ascontiguousarray(cn.embedding[x], dtype=cn.dtype)
        x = cn.prepare_input(x)
        self.counter.encoder_linear(x, st.x_held)
        u = np.empty((x.shape[0], x.shape[1], cn.H), cn.dtype)
        if self.event:
            kernels.graded_event(x, cn.enc_rows, cn.enc_bias, st.x_held, st.u_held, u)
        else:
            kernels.graded_dense(x, cn.enc_rows, cn.enc_bias, u)
            st.x_held[:] = x[:, -1]
        return cn.finish_encoder(u, self.counter.adder("encoder"))

    # ---- results ------------------------------------------------------------------------------------
    def logits(self) -> np.ndarray:
        net, st = self.cn.net, self.state
        if st.steps == 0:
            raise InputError("no time steps have been fed yet")
        pooled = (st.pool / st.steps if net.decoder.mode == "pool" else st.last) * self.cn.out_scale
        return kernels.decode(np.ascontiguousarray(pooled, np.float64), net.decoder.weight, net.decoder.bias)

    def result(self) -> RunResult:
        cat = lambda parts: np.concatenate(parts, axis=1)  # noqa: E731  (chunks along time)
        return RunResult(
            logits=self.logits(),
            spikes=[SpikeMasks.concat_steps(p) if p else SpikeEvents.empty() for p in self.spikes],
            counts=self.counter.per_sample(),
            timesteps=self.state.steps, channels=self.cn.H,
            pre=[cat(p) for p in self.pre] if self.record_pre else None,
            traces={i: cat(p) for i, p in enumerate(self.traces)} if self.trace_neurons is not None else {},
            trace_neurons=self.trace_neurons)


def _no_probe(layer, name, array) -> None:
    pass


class Stream:
    """Online use: feed one step or a chunk at a time; state persists between calls.

    >>> s = Stream(net, batch=1); s.feed(x[:, :100]); s.feed(x[:, 100:]); s.logits()
    """

    def __init__(self, net: Network, batch: int = 1, engine: str = "event", dtype: str = "float64",
                 record_pre: bool = False):
        if net.directions == 2:
            raise InputError("streaming needs a unidirectional network: a bidirectional layer's output at step t "
                             "depends on future inputs, so run the whole sequence with simulator.engine.run()")
        self.net = net
        self.sim = Simulation(compile_network(net, dtype), batch, engine, record_pre=record_pre)

    def feed(self, x: np.ndarray) -> np.ndarray:
        """Feed (batch, steps, d_input) or (batch, d_input) for one step (tokens: (batch, steps) or (batch,)).
        Returns the logits so far (the decoder applied to the steps seen)."""
        x = np.asarray(x)
        one_step = x.ndim == (1 if self.net.encoder.kind == "embedding" else 2)
        if one_step:
            x = x[:, None] if self.net.encoder.kind == "embedding" else x[:, None, :]
        x = check_input(self.net, x)
        if x.shape[0] != self.sim.batch:
            raise InputError(f"input: this stream was opened for batch {self.sim.batch}, found {x.shape[0]} samples")
        self.sim.feed(x)
        return self.sim.logits()

    def logits(self) -> np.ndarray:
        return self.sim.logits()

    def result(self) -> RunResult:
        return self.sim.result()


def run(net: Network, x: np.ndarray, engine: str = "event", dtype: str = "float64", batch_size: int = 16,
        record_pre: bool = False, trace_neurons=None, progress: bool = False, compiled: CompiledNetwork | None = None,
        sample_offset: int = 0, use_fused: bool = True) -> RunResult:
    """Simulate whole sequences: x (samples, L, d_input) floats or (samples, L) tokens. use_fused=False keeps
    every network on the layer-at-a-time walker (the fused kernel's check)."""
    x = check_input(net, x)
    cn = compiled or compile_network(net, dtype)
    t0 = time.perf_counter()
    results = []
    chunks = range(0, x.shape[0], batch_size)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=x.shape[0], unit="sample", desc=f"{engine} engine", leave=False)
    for start in chunks:
        xb = x[start:start + batch_size]
        sim = Simulation(cn, xb.shape[0], engine, record_pre, trace_neurons, sample_offset + start, use_fused)
        sim.feed(xb)
        results.append(sim.result())
        if bar is not None:
            bar.update(xb.shape[0])
    if bar is not None:
        bar.close()
    out = merge(results)
    out.wall_time_s = time.perf_counter() - t0
    return out


def merge(parts: list[RunResult]) -> RunResult:
    """Concatenate results of disjoint sample ranges (in order)."""
    first = parts[0]
    n_layers = len(first.spikes)
    return RunResult(
        logits=np.concatenate([p.logits for p in parts]),
        spikes=[SpikeEvents.concat([p.spikes[i] for p in parts]) for i in range(n_layers)],
        counts={layer: {k: np.concatenate([p.counts[layer][k] for p in parts]) for k in first.counts[layer]}
                for layer in first.counts},
        timesteps=first.timesteps, channels=first.channels,
        pre=[np.concatenate([p.pre[i] for p in parts]) for i in range(n_layers)] if first.pre is not None else None,
        traces={i: np.concatenate([p.traces[i] for p in parts]) for i in first.traces},
        trace_neurons=first.trace_neurons,
        wall_time_s=sum(p.wall_time_s for p in parts))
