"""An independent implementation for the tests: the paper's network, step by step, straight from a
paper-layout state_dict (no project code involved), in float64 with complex numpy arithmetic."""
from __future__ import annotations

import math

import numpy as np

_erf = np.vectorize(math.erf)


def _c(a):
    return a[..., 0].astype(np.float64) + 1j * a[..., 1].astype(np.float64)


def _norm(sd, prefix, v, eps=1e-5):
    w = sd[prefix + "weight"].astype(np.float64)
    b = sd[prefix + "bias"].astype(np.float64)
    if prefix + "running_mean" in sd:
        return (v - sd[prefix + "running_mean"]) / np.sqrt(sd[prefix + "running_var"] + eps) * w + b
    mu = v.mean(-1, keepdims=True)
    return (v - mu) / np.sqrt(((v - mu) ** 2).mean(-1, keepdims=True) + eps) * w + b


def _gelu(v):
    return 0.5 * v * (1 + _erf(v / math.sqrt(2)))


def forward(sd, x, kind="binary_s4d", disc="bilinear", decoder="pool"):
    """Returns (logits, [per-layer y (B, L, H)], [per-layer spikes or None])."""
    sd = {k: np.asarray(v, dtype=np.float64) for k, v in sd.items() if not k.endswith("num_batches_tracked")}
    if "encoder.0.bias" in sd:
        u = np.asarray(x, np.float64) @ sd["encoder.0.weight"].T + sd["encoder.0.bias"]
    else:
        u = sd["encoder.0.weight"][np.asarray(x)]
    n_layers = len({k.split(".")[2] for k in sd if k.startswith("model.layers.")})
    prenorm = "model.norm.norm.weight" in sd
    has_norm = "model.layers.0.norm.norm.weight" in sd
    B, L, H = u.shape
    ys, spikes_all = [], []
    for i in range(n_layers):
        p = f"model.layers.{i}."
        k = p + "layer.kernel.kernel."
        rows = np.arange(H) % sd[k + "inv_A_real"].shape[0]
        A = (-np.exp(sd[k + "inv_A_real"]) + 1j * sd[k + "A_imag"])[rows]
        Bc = _c(sd[k + "B"])[rows]
        C = _c(sd[k + "C"])
        dt = np.exp(sd[k + "log_dt"])[:, None]
        if disc == "zoh":
            Ab = np.exp(dt * A)
            Bb = Bc * (np.exp(dt * A) - 1) / A
        else:
            Ab = (1 + dt * A / 2) / (1 - dt * A / 2)
            Bb = Bc * dt / (1 - dt * A / 2)
        D = sd[p + "layer.D"][0]
        v = _norm(sd, p + "norm.norm.", u) if (prenorm and has_norm) else u
        y = np.zeros((B, L, H))
        s = np.zeros((B, H, Ab.shape[1]), complex)
        for t in range(L):
            s = Ab * s + Bb * v[:, t, :, None]
            y[:, t] = 2 * (C[0] * s).sum(-1).real + D * v[:, t]
        if C.shape[0] == 2:
            r = np.zeros_like(s)
            for t in range(L - 1, -1, -1):
                y[:, t] += 2 * (C[1] * r).sum(-1).real   # r holds r_{t+1}: strictly future inputs
                r = Ab * r + Bb * v[:, t, :, None]
        ys.append(y)
        if kind == "gsu":
            W = sd[p + "layer.GSU"]
            delta = 0.15 * np.abs(y).max(-1, keepdims=True)
            sp = (y - delta > 0).astype(float) - (-y - delta > 0).astype(float)
            dW = 0.15 * np.abs(W).max()
            Wt = (W - dW > 0).astype(float) - (-W - dW > 0).astype(float)
            z = (sp @ W + sd[p + "layer.GSU_bias"]) * (y @ Wt)
            out = _gelu(_norm(sd, p + "layer.norm.", z))
            spikes_all.append(sp)
        else:
            if kind == "binary_s4d":
                a = (y > 0).astype(float)
                spikes_all.append(a)
            else:
                a = _gelu(y)
                spikes_all.append(None)
            z = a @ sd[p + "layer.output_linear.0.weight"].T + sd[p + "layer.output_linear.0.bias"]
            out = z[..., :H] / (1 + np.exp(-z[..., H:]))
        u = u + out
        if has_norm and not prenorm:
            u = _norm(sd, p + "norm.norm.", u)
    if prenorm:
        u = _norm(sd, "model.norm.norm.", u)
    pooled = u.mean(1) if decoder == "pool" else u[:, -1]
    logits = pooled @ sd["decoder.0.output_transform.weight"].T + sd["decoder.0.output_transform.bias"]
    return logits, ys, spikes_all
