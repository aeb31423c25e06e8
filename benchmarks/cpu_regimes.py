"""Measure the two CPU regimes of an S4D-style network on this machine with PyTorch (issue 15).

streaming: batch 1, token by token, the recurrent form, one PyTorch operator at a time (as a deployed
           recurrent model runs): seconds per token, and seconds per operator (the latency floor);
batched:   the convolution form over whole sequences (FFT), batch 16: seconds per token and the FLOP rate.

Energy: RAPL (/sys/class/powercap/intel-rapl:0/energy_uj) when readable, else none is measured and
energy/baselines.py multiplies the time by the data-sheet power in energy/platforms.toml ([cpu]).
Writes benchmarks/results/cpu_regimes.json. Run: python benchmarks/cpu_regimes.py [--quick]
"""
from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path

import torch

H, N, LAYERS, D_IN, CLASSES = 128, 4, 4, 1, 10
OPS_PER_LAYER = 8   # state update (mul, repeat_interleave, mul, add), readout (matmul), mixing (matmul, add bias, relu)
OPS_OUTSIDE = 2     # encoder matmul, decoder matmul


def rapl_uj():
    p = Path("/sys/class/powercap/intel-rapl:0/energy_uj")
    try:
        return int(p.read_text())
    except OSError:
        return None


def make(seed=0):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g) / math.sqrt(s[-1])  # noqa: E731
    return {"enc": r(H, D_IN), "a": torch.rand(LAYERS, H * N, generator=g) * 0.9, "b": r(LAYERS, H * N),
            "c": r(LAYERS, H, H * N), "w": r(LAYERS, H, H), "bias": r(LAYERS, H), "dec": r(CLASSES, H)}


@torch.inference_mode()
def streaming(p, tokens):
    x = torch.rand(tokens, 1, D_IN)
    s = [torch.zeros(1, H * N) for _ in range(LAYERS)]
    for _ in range(50):                       # warm-up
        u = x[0] @ p["enc"].T
    t0, e0 = time.perf_counter(), rapl_uj()
    for t in range(tokens):
        u = x[t] @ p["enc"].T                                     # 1 op
        for i in range(LAYERS):
            s[i] = s[i] * p["a"][i] + u.repeat_interleave(N, dim=1) * p["b"][i]   # state update (4 operators)
            y = s[i] @ p["c"][i].T                                # readout
            u = torch.relu(y @ p["w"][i].T + p["bias"][i])        # mixing, bias, relu (3 operators)
        _ = u @ p["dec"].T                                        # 1 op
    dt, e1 = time.perf_counter() - t0, rapl_uj()
    return dt / tokens, (None if e0 is None or e1 is None else (e1 - e0) * 1e-6 / tokens)


@torch.inference_mode()
def batched(p, batch, length):
    x = torch.rand(batch, length, D_IN)
    k = torch.arange(length, dtype=torch.float32)
    kernels = [(p["a"][i][:, None] ** k[None, :]) * p["b"][i][:, None] for i in range(LAYERS)]  # (HN, L)
    def run():
        u = x @ p["enc"].T                                         # (B, L, H)
        for i in range(LAYERS):
            uu = u.repeat_interleave(N, dim=2).transpose(1, 2)      # (B, HN, L)
            n = 2 * length
            s = torch.fft.irfft(torch.fft.rfft(uu, n=n) * torch.fft.rfft(kernels[i], n=n), n=n)[..., :length]
            y = s.transpose(1, 2) @ p["c"][i].T
            u = torch.relu(y @ p["w"][i].T + p["bias"][i])
        return u[:, -1] @ p["dec"].T
    run()
    t0, e0 = time.perf_counter(), rapl_uj()
    reps = 3
    for _ in range(reps):
        run()
    dt, e1 = (time.perf_counter() - t0) / reps, rapl_uj()
    tokens = batch * length
    flops = tokens * (2 * H * D_IN + LAYERS * (2 * H * H * N + 2 * H * H + 3 * H)
                      + LAYERS * H * N * 3 * 5 * math.log2(2 * length)) 
    return dt / tokens, flops / dt, (None if e0 is None or e1 is None else (e1 - e0) * 1e-6 / reps / tokens)


def main():
    quick = "--quick" in sys.argv
    torch.set_num_threads(2)
    p = make()
    tok_s, tok_j = streaming(p, 200 if quick else 2000)
    ops = LAYERS * OPS_PER_LAYER + OPS_OUTSIDE
    b_s, flops_rate, b_j = batched(p, 4 if quick else 16, 256 if quick else 1024)
    out = {"about": "benchmarks/cpu_regimes.py on this machine (PyTorch, 2 threads)",
           "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
           "network": {"H": H, "N": N, "layers": LAYERS, "d_input": D_IN, "classes": CLASSES},
           "streaming_s_per_token": tok_s, "operators_per_token": ops, "s_per_operator": tok_s / ops,
           "batched_s_per_token": b_s, "batched_flop_per_s": flops_rate,
           "rapl_j_per_token": {"streaming": tok_j, "batched": b_j},
           "energy_note": "RAPL readable" if tok_j is not None else
           "RAPL not readable here (/sys/class/powercap absent): energy = time x data-sheet power"}
    path = Path(__file__).parent / "results" / "cpu_regimes.json"
    path.write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
