"""Cross-validation: compare two runs of one network (ours vs Brian2) spike by spike (docs/brian2-validation.md).

`compare` is pure (RunResults in, a report out); `validate_main` runs both sides and writes the report files.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from models.spec import Network
from simulator.recording import RunResult, SpikeEvents

# Both sides compute the same float64 arithmetic in a different order (FFT or recurrence, BLAS or synaptic
# sums): they differ by rounding, ~1e-15 relative, growing slowly with L. A real fault (wrong sign, a step
# of delay, a wrong mode or weight) moves values by 1e-3 or more. 1e-9 sits between with margin on both sides.
TOLERANCE = 1e-9


def within(a: np.ndarray, b: np.ndarray, tol: float) -> bool:
    """|a - b| <= tol * max(1, |a|, |b|) elementwise: absolute near zero, relative for large values."""
    scale = np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
    return bool(np.all(np.abs(a - b) <= tol * scale))


@dataclass
class LayerAgreement:
    layer: int
    spikes_ours: int
    spikes_theirs: int
    mismatched: int                                    # (sample, t, neuron) slots whose spike values differ
    first_divergence: tuple[int, int, int] | None      # earliest (sample, t, neuron) by that order
    spike_at_divergence: tuple[int, int] | None        # (ours, theirs) spike value there
    pre_at_divergence: tuple[float, float] | None      # (ours, theirs) pre-spike y there: near 0 = rounding flip
    max_pre_diff: float | None                         # None when either side recorded no pre values
    pre_within: bool

    @property
    def spikes_identical(self) -> bool:
        return self.mismatched == 0


@dataclass
class ValidationReport:
    layers: list[LayerAgreement]
    max_logit_diff: float
    logits_within: bool
    predictions_agree: int
    samples: int
    tolerance: float
    kind: str = ""                                     # the network's name (display only)
    spiking_layers: tuple[bool, ...] = ()              # which layers emit spikes
    names: tuple[str, str] = ("ours", "brian2")
    extra: dict = field(default_factory=dict)          # timings, accuracies, ... (filled by validate_main)

    @property
    def passed(self) -> bool:
        return self.logits_within and all(l.spikes_identical and l.pre_within for l in self.layers)

    def first_diverging_layer(self) -> int | None:
        return next((l.layer for l in self.layers if not l.spikes_identical), None)

    def format(self) -> str:
        a, b = self.names
        lines = [f"cross-validation {a} vs {b}: {self.samples} samples, tolerance {self.tolerance:g} "
                 f"(relative, absolute below 1)"]
        for l in self.layers:
            pre = "n/a" if l.max_pre_diff is None else f"{l.max_pre_diff:.3g}"
            if self.spiking_layers and not self.spiking_layers[l.layer] and l.spikes_identical:
                spk = "no spikes (graded activation)"
            elif l.spikes_identical:
                spk = f"spikes identical ({l.spikes_ours} events)"
            else:
                s, t, n = l.first_divergence
                spk = (f"spikes DIFFER in {l.mismatched} slots ({a} {l.spikes_ours}, {b} {l.spikes_theirs} events); "
                       f"first at sample {s}, t {t}, neuron {n}: {a} {_signed(l.spike_at_divergence[0])}, "
                       f"{b} {_signed(l.spike_at_divergence[1])}")
                if l.pre_at_divergence is not None:
                    spk += f" (y {l.pre_at_divergence[0]:.17g} vs {l.pre_at_divergence[1]:.17g})"
            lines.append(f"  layer {l.layer}: {spk}; max |pre diff| {pre}{'' if l.pre_within else ' (OUT OF TOLERANCE)'}")
        lines.append(f"  logits: max |diff| {self.max_logit_diff:.3g}{'' if self.logits_within else ' (OUT OF TOLERANCE)'}; "
                     f"predictions agree on {self.predictions_agree}/{self.samples}")
        for k, v in self.extra.items():
            lines.append(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
        first = self.first_diverging_layer()
        verdict = "PASSED" if self.passed else "FAILED" + (f" (first diverging layer {first})" if first is not None else "")
        lines.append(verdict)
        return "\n".join(lines)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = self.passed
        d["first_diverging_layer"] = self.first_diverging_layer()
        for l, ld in zip(self.layers, d["layers"]):
            ld["spikes_identical"] = l.spikes_identical
        return _plain(d)


def _signed(v: int) -> str:
    return f"{v:+d}" if v else "0"


def _plain(v):
    """numpy scalars and tuples -> JSON-ready Python values."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _spike_keys(ev: SpikeEvents, L: int, H: int) -> tuple[np.ndarray, np.ndarray]:
    """Events as sorted flat slot keys (sample, t, neuron) -> int64, with their values. Stays sparse."""
    keys = (ev.sample.astype(np.int64) * L + ev.t) * H + ev.neuron
    order = np.argsort(keys, kind="stable")
    return keys[order], ev.value[order].astype(np.int8)


def compare_spikes(ours: SpikeEvents, theirs: SpikeEvents, L: int, H: int):
    """(mismatched slot count, first mismatched key or None, ours value, theirs value)."""
    ka, va = _spike_keys(ours, L, H)
    kb, vb = _spike_keys(theirs, L, H)
    keys = np.union1d(ka, kb)
    a = np.zeros(keys.size, np.int8)
    b = np.zeros(keys.size, np.int8)
    a[np.searchsorted(keys, ka)] = va
    b[np.searchsorted(keys, kb)] = vb
    bad = np.flatnonzero(a != b)
    if bad.size == 0:
        return 0, None, 0, 0
    i = bad[0]
    return int(bad.size), int(keys[i]), int(a[i]), int(b[i])


def compare(net: Network, x: np.ndarray, ours: RunResult, theirs: RunResult, tolerance: float = TOLERANCE,
            names: tuple[str, str] = ("ours", "brian2")) -> ValidationReport:
    """Per layer: spike agreement (first divergence as (sample, t, neuron)), max |pre diff|; then logits.

    x is accepted for context (shapes); both runs must be of `net` on the same x.
    """
    L, H = ours.timesteps, ours.channels
    if (theirs.timesteps, theirs.channels, theirs.samples) != (L, H, ours.samples):
        raise ValueError(f"runs differ in shape: (L, H, samples) {(L, H, ours.samples)} vs "
                         f"{(theirs.timesteps, theirs.channels, theirs.samples)}")
    layers = []
    for i in range(net.n_layers):
        sa, sb = (r.spikes[i] if i < len(r.spikes) else SpikeEvents.empty() for r in (ours, theirs))
        pa = ours.pre[i] if ours.pre is not None else None
        pb = theirs.pre[i] if theirs.pre is not None else None
        mismatched, key, va, vb = compare_spikes(sa, sb, L, H)
        first = at_pre = None
        if key is not None:
            s, rest = divmod(key, L * H)
            first = (int(s), *map(int, divmod(rest, H)))
            if pa is not None and pb is not None:
                at_pre = (float(pa[first]), float(pb[first]))
        have_pre = pa is not None and pb is not None
        layers.append(LayerAgreement(
            layer=i, spikes_ours=len(sa), spikes_theirs=len(sb), mismatched=mismatched, first_divergence=first,
            spike_at_divergence=None if key is None else (va, vb), pre_at_divergence=at_pre,
            max_pre_diff=float(np.max(np.abs(pa - pb))) if have_pre else None,
            pre_within=within(pa, pb, tolerance) if have_pre else True))
    return ValidationReport(
        layers=layers, max_logit_diff=float(np.max(np.abs(ours.logits - theirs.logits))),
        logits_within=within(ours.logits, theirs.logits, tolerance),
        predictions_agree=int(np.sum(ours.predictions == theirs.predictions)), samples=ours.samples,
        tolerance=tolerance, kind=net.kind, spiking_layers=tuple(b.spiking for b in net.blocks), names=names)


def reference_run(net: Network, x: np.ndarray) -> RunResult:
    """The FFT reference (models.reference.forward) as a RunResult, usable as an engine_runner."""
    from models.reference import forward
    start = time.perf_counter()
    ref = forward(net, x)
    return RunResult(logits=ref.logits,
                     spikes=[SpikeEvents.from_dense(r.spikes) if b.spiking else SpikeEvents.empty()
                             for r, b in zip(ref.layers, net.blocks)],
                     counts={}, timesteps=ref.layers[0].pre.shape[1], channels=net.H,
                     pre=[r.pre for r in ref.layers], wall_time_s=time.perf_counter() - start)


def validate_main(net: Network, x: np.ndarray, labels: np.ndarray | None, engine_runner, out_dir: str | None,
                  *, tolerance: float = TOLERANCE, target: str = "cython",
                  engine_name: str = "ours") -> ValidationReport:
    """Run our engine (`engine_runner(net, x) -> RunResult` with pre filled) and Brian2 on x; compare.

    Writes out_dir/validation.json and out_dir/validation.txt when out_dir is given. Brian2's wall time
    includes its code generation (and the C compile on a cold cache).
    """
    from simulator.brian2_backend import run_brian2
    t0 = time.perf_counter()
    ours = engine_runner(net, x)
    t1 = time.perf_counter()
    theirs = run_brian2(net, x, record_pre=True, target=target)
    t2 = time.perf_counter()
    report = compare(net, x, ours, theirs, tolerance, names=(engine_name, "brian2"))
    report.extra.update({f"{engine_name}_wall_s": t1 - t0, "brian2_wall_s": t2 - t1,
                         "timesteps": theirs.timesteps, "channels": theirs.channels, "layers": net.n_layers})
    if labels is not None:
        labels = np.asarray(labels)
        report.extra[f"{engine_name}_accuracy"] = float(np.mean(ours.predictions == labels))
        report.extra["brian2_accuracy"] = float(np.mean(theirs.predictions == labels))
    if out_dir is not None:
        from simulator.output_files import dumps_strict, write_text_atomic
        os.makedirs(out_dir, exist_ok=True)
        write_text_atomic(os.path.join(out_dir, "validation.json"), dumps_strict(report.to_dict(), indent=2))
        write_text_atomic(os.path.join(out_dir, "validation.txt"), report.format() + "\n")
    return report
