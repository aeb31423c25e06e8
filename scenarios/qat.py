"""Quantisation-aware fine-tuning (QAT): the forward of an SSMClassifier in the engine's fixed-point arithmetic
(simulator/parts/fixed_*.py, docs/precision.md), with straight-through gradients.

Every value the engine rounds is rounded here the same way (fake quantisation: the value q * 2^-f with q the
engine's integer), and the gradient passes through as if it had not been rounded (STE):

* weights: `weight_bits`, one power-of-two exponent per matrix (models.fixed_rules.weight_frac, as the engine), the
  format's weight_rounding; biases at their sum's scale; SSM coefficients AFTER discretisation (Ab, Bb, C, D),
  LIF's beta and the folded BatchNorm gain at `coef_bits` + sign, each tensor its own exponent;
* messages (encoder output, y, mixing output, block output) and states the engine commits (the LIF membrane,
  the GLU's linear half) at their calibrated scales with the format's run rounding and saturation;
* the LIF membrane recurrence and the sigmoid table are the engine's integer operations, exactly;
* the sigma-delta sender's per-channel message exponents (Lava's state_exp) as the engine chooses them.

Not emulated: the SSM's internal state (24 bits in loihi2) is not rounded per step; y comes from the float
convolution of the quantised coefficients (the engine's per-step state rounding is a relative 2^-21 of the
state's range). BatchNorm runs in eval mode (its running statistics frozen) so that it is the engine's folded
per-channel affine.

Scales (fractional bits of every message and state): the maxima of the model's own float64 activations on
calibration inputs from the TRAINING split, turned into fractional bits by the engine's rule
(models.fixed_rules.frac_for, as simulator/calibrate.py and compiled_fixed.block_scales; tests/test_qat.py
checks they are the engine's); the training script recomputes them at the start of every epoch. This module
imports models only (the package rule of tests/test_imports.py: scenarios does not import the simulator).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from models.fixed_rules import frac_for, make_table, message_exponents, quantise, weight_frac
from models.precision import Precision

SUPPORTED = ("lif_s4d", "sigma_delta_s4d")      # archs whose parts have a fake-quantised form here
SIGMOID_DOMAIN = 4                               # as simulator/parts/fixed_mixing.py


# ---- rounding -------------------------------------------------------------------------------------------
def round_to(x: torch.Tensor, frac: int, rounding: str, bits: int | None = None) -> torch.Tensor:
    """q * 2^-frac with q = floor or trunc(x * 2^frac), saturated to `bits` signed bits (no gradient)."""
    v = x * 2.0 ** frac                         # powers of two: exact
    q = torch.floor(v) if rounding == "floor" else torch.trunc(v)
    if bits is not None:
        hi = 2.0 ** (bits - 1) - 1
        q = q.clamp(-hi - 1, hi)
    return q * 2.0 ** -frac


def fq(x: torch.Tensor, frac: int, rounding: str, bits: int | None = None) -> torch.Tensor:
    """Fake quantisation with a straight-through gradient: forward round_to(x), backward identity."""
    return x + (round_to(x.detach(), frac, rounding, bits) - x).detach()


def rshift(x: torch.Tensor, k: int, rounding: str) -> torch.Tensor:
    """The engine's rshift on integer-valued tensors: x * 2^-k, floor or toward zero; k <= 0 is exact."""
    if k <= 0:
        return x * float(2 ** -k)
    v = x / float(2 ** k)
    return torch.floor(v) if rounding == "floor" else torch.trunc(v)


def wfrac(a: torch.Tensor, bits: int) -> int:
    return weight_frac(a.detach().double().cpu().numpy(), bits)


def fq_weight(w: torch.Tensor, bits: int, p: Precision, frac: int | None = None) -> torch.Tensor:
    """A tensor at `bits` signed bits with its own shared exponent (or `frac`), weight rounding, STE."""
    return fq(w, wfrac(w, bits) if frac is None else frac, p.weight_rounding, bits)


def fq_complex(z: torch.Tensor, bits: int, p: Precision) -> torch.Tensor:
    """Real and imaginary parts with one exponent for the tensor, as the engine's SSM coefficients."""
    f = wfrac(torch.cat([z.real.reshape(-1), z.imag.reshape(-1)]), bits)
    return torch.complex(fq(z.real, f, p.weight_rounding, bits), fq(z.imag, f, p.weight_rounding, bits))


# ---- scales ---------------------------------------------------------------------------------------------
@dataclass
class BlockScales:
    """Fractional bits of one block's tensors (the engine's BlockScales fields of the same names)."""

    f_in: int       # block input
    f_y: int        # SSM output
    f_out: int      # mixing output
    f_next: int     # block output
    internal: dict  # '<role>.<name>' -> calibrated max |value| (activation.v, mixing.z)
    state_bits: int

    def frac(self, name: str, bits: int | None = None) -> int:
        return frac_for(self.internal.get(name, 0.0), bits or self.state_bits)


@dataclass
class Scales:
    """The precision and the calibrated fractional bits: input, encoder output, and each block's BlockScales."""

    precision: Precision
    f_x: int
    f_u: int
    blocks: list


def check_supported(cfg) -> None:
    if cfg.arch not in SUPPORTED:
        raise ValueError(f"--qat: arch {cfg.arch!r} has no fake-quantised forward; supported: {', '.join(SUPPORTED)}")
    if cfg.prenorm or cfg.fold_norm or cfg.norm not in ("batch", "none"):
        raise ValueError("--qat: supports postnorm networks with batch norm or none, without --fold-norm "
                         "(fine-tune the folded network itself)")


def to_network(model):
    """The simulator's Network of the model's current weights (float64), as `simulator import` builds it."""
    from models import own_layout
    cfg = model.cfg
    sd = {k: v.detach().double().cpu().numpy() if v.is_floating_point() else v.cpu().numpy()
          for k, v in model.state_dict().items()}
    return own_layout.network_from_state_dict(sd, source="qat", arch=cfg.arch, disc=cfg.disc,
                                              decoder=cfg.decoder, config=cfg.to_dict())


def ranges(model, x: np.ndarray) -> dict:
    """max |value| of the tensors the engine calibrates (simulator/calibrate.py's names), float64, eval mode."""
    m = copy.deepcopy(model).double().eval()
    r = {}
    with torch.no_grad():
        x = torch.as_tensor(np.asarray(x, np.float64))
        h = m.encoder(x)
        r["x"], r["h0"] = _max(x), _max(h)
        for li, block in enumerate(m.model.layers):
            lay = block.layer
            y = lay.ssm(h)
            a = lay.activation(y)
            out = lay.mixing(a, y)
            nxt = block.norm(h + out if block.residual else out)
            r.update({f"{li}.y": _max(y), f"{li}.out": _max(out), f"h{li + 1}": _max(nxt)})
            act = lay.activation
            if act.kind == "lif":                     # the float membrane, pre-reset, and the threshold
                v, mv = torch.zeros_like(y[:, 0]), act.thr
                for t in range(y.shape[1]):
                    v = act.beta * v + y[:, t]
                    mv = max(mv, _max(v))
                    fired = v > act.thr
                    v = torch.where(fired, torch.zeros_like(v) if act.reset == "hard" else v - act.thr, v)
                r[f"{li}.activation.v"] = mv
            if lay.mixing.kind == "glu":
                r[f"{li}.mixing.z"] = _max(a @ lay.mixing[0].weight.T + lay.mixing[0].bias)
            h = nxt
    return r


def _max(t) -> float:
    return float(t.abs().max()) if t.numel() else 0.0


def calibrate_scales(model, x_cal: np.ndarray, precision: Precision) -> Scales:
    """Scales of the model as it is now on x_cal: the engine's rule on the model's own ranges."""
    r = ranges(model, x_cal)
    mb, sb = precision.message_bits, precision.state_bits
    F = lambda name: frac_for(r[name], mb)  # noqa: E731
    blocks = []
    for li in range(len(model.model.layers)):
        internal = {k[len(f"{li}."):]: v for k, v in r.items() if k.startswith(f"{li}.") and k.count(".") >= 2}
        blocks.append(BlockScales(F(f"h{li}"), F(f"{li}.y"), F(f"{li}.out"), F(f"h{li + 1}"), internal, sb))
    return Scales(precision, F("x"), F("h0"), blocks)


def freeze_norms(model) -> None:
    """BatchNorms in eval mode (running statistics fixed): the engine's folded affine."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()


# ---- forward --------------------------------------------------------------------------------------------
def forward(model, x: torch.Tensor, sc: Scales, return_activity: bool = False):
    """Logits of the model in fixed point (fake-quantised, STE); x (B, L, d_input)."""
    p = sc.precision
    mb = p.message_bits
    enc = model.encoder[0]
    xq = round_to(x, sc.f_x, p.rounding, mb)
    f_w = wfrac(enc.weight, p.weight_bits)
    u = xq @ fq(enc.weight, f_w, p.weight_rounding, p.weight_bits).T + fq(enc.bias, sc.f_x + f_w, p.weight_rounding)
    h = fq(u, sc.f_u, p.rounding, mb)
    acts = []
    for block, bs in zip(model.model.layers, sc.blocks):
        h, a = _block(block, h, bs, p)
        acts.append(a)
    logits = model.decoder[0](h)
    return (logits, acts) if return_activity else logits


def _block(block, h, bs: BlockScales, p: Precision):
    lay = block.layer
    y = fq(_ssm(lay, h, p), bs.f_y, p.rounding, p.message_bits)
    kind = lay.activation.kind
    if kind == "lif":
        a = _lif(lay.activation, y, bs, p)
        out = _glu(lay.mixing[0], a, bs, p)
    elif kind == "relu_sigma_delta":
        a = torch.relu(y)
        out = _linear_sigma_delta(lay.mixing[0], a, bs, p)
    else:
        raise ValueError(f"--qat: activation {kind!r} has no fake-quantised form")
    x = h + out if block.residual else out
    if block.norm.kind == "batch":
        bn = block.norm.norm
        g = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        c = bn.bias - bn.running_mean * g
        f_g = wfrac(g, p.coef_bits + 1)
        f_sum = max(bs.f_in, bs.f_out) if block.residual else bs.f_out
        x = x * fq(g, f_g, p.weight_rounding, p.coef_bits + 1) + fq(c, f_sum + f_g, p.weight_rounding)
    return fq(x, bs.f_next, p.rounding, p.message_bits), a


def _ssm(lay, u, p: Precision):
    """y = K * u + D u with K from the quantised discretised coefficients (complex s4d or real s4d_real)."""
    from scenarios.torch_parts.conv import fft_conv
    kern = lay.kernel.kernel
    bits = p.coef_bits + 1
    L = u.shape[1]
    steps = torch.arange(L, device=u.device, dtype=torch.float64 if u.dtype == torch.float64 else torch.float32)
    if lay.kernel.kind == "s4d":
        Ab, Bb = kern.discrete()
        Ab, Bb = fq_complex(Ab, bits, p), fq_complex(Bb, bits, p)
        C = fq_complex(torch.view_as_complex(kern.C), bits, p)
        K = 2 * torch.einsum("chn,hnl->chl", C * Bb, _powers(Ab, steps)).real
    elif lay.kernel.kind == "s4d_real":
        Ab, Bb = kern.discrete()
        Ab, Bb, C = fq_weight(Ab, bits, p), fq_weight(Bb, bits, p), fq_weight(kern.C, bits, p)
        # powers through the complex log, as SSKernelReal (Ab may be negative)
        K = 2 * torch.einsum("chn,hnl->chl", C * Bb, _powers(torch.complex(Ab, torch.zeros_like(Ab)), steps).real)
    else:
        raise ValueError(f"--qat: ssm {lay.kernel.kind!r} has no fake-quantised form")
    return fft_conv(u, K, fq_weight(lay.D, bits, p), lay.kernel.bidirectional)


def _powers(Ab, steps):
    """Ab^l through the complex log; a coefficient quantised to 0 gives 1, 0, 0, ... (log would give NaN)."""
    zero = Ab == 0
    V = torch.exp(torch.log(torch.where(zero, torch.ones_like(Ab), Ab))[..., None] * steps)
    return torch.where(zero[..., None] & (steps > 0), torch.zeros_like(V), V)


class QLIF(torch.autograd.Function):
    """The engine's integer membrane (lif_fixed): v = commit(rshift(bq v + rshift(y, k_y), f_beta)); spike
    when v > vq; reset. Backward: the float LIF's arctan surrogate (LIFSpike) at the dequantised membrane."""

    @staticmethod
    def forward(ctx, y, q):
        yi = torch.round(y.detach().double() * 2.0 ** q["f_y"])
        B, L, H = y.shape
        v = yi.new_zeros(B, H)
        s = torch.empty_like(yi)
        vs = torch.empty_like(yi)
        lo, hi = -2.0 ** (q["bits"] - 1), 2.0 ** (q["bits"] - 1) - 1
        for t in range(L):
            v = rshift(q["bq"] * v + rshift(yi[:, t], q["k_y"], q["rnd"]), q["f_beta"], q["rnd"]).clamp(lo, hi)
            vs[:, t] = v
            fired = v > q["vq"]
            s[:, t] = fired.double()
            v = torch.where(fired, torch.zeros_like(v) if q["hard"] else v - q["vq"], v)
        scale = 2.0 ** -q["f_v"]
        ctx.save_for_backward((vs * scale).to(y.dtype), s.to(y.dtype))
        ctx.beta, ctx.thr, ctx.hard, ctx.alpha = q["bq"] * 2.0 ** -q["f_beta"], q["vq"] * scale, q["hard"], q["alpha"]
        return s.to(y.dtype)

    @staticmethod
    def backward(ctx, grad):
        from scenarios.torch_parts.lif import LIFSpike
        return LIFSpike.backward(ctx, grad)[0], None


def _lif(act, y, bs: BlockScales, p: Precision):
    cb = p.coef_bits + 1
    f_beta = weight_frac(np.array([act.beta]), cb)
    f_v = bs.frac("activation.v", p.state_bits)
    q = dict(f_y=bs.f_y, f_beta=f_beta, f_v=f_v, k_y=bs.f_y - (f_beta + f_v), bits=p.state_bits, rnd=p.rounding,
             bq=float(quantise(np.array([act.beta]), f_beta, p.weight_rounding)[0]),
             vq=float(quantise(np.array([act.thr]), f_v, p.weight_rounding)[0]),
             hard=act.reset == "hard", alpha=act.alpha)
    return QLIF.apply(y, q)


def sigmoid_table(z: torch.Tensor, f_z: int, p: Precision) -> torch.Tensor:
    """The engine's sigmoid (fixed_point.lut on make_table) of z at frac f_z, as a value at frac coef_bits;
    gradient of the float sigmoid (STE)."""
    from models.parts.mixing import sigmoid
    t = make_table(sigmoid, SIGMOID_DOMAIN, p.lut_bits, f_z, p.coef_bits, p.rounding, False)
    vals = torch.as_tensor(t.values, dtype=torch.float64)
    zi = torch.round(z.detach().double() * 2.0 ** f_z)
    n = vals.shape[0] - 1
    if t.k > 0:
        idx = torch.floor(zi / 2.0 ** t.k)
        r = zi - idx * 2.0 ** t.k
    else:
        idx, r = zi * 2.0 ** -t.k, torch.zeros_like(zi)
    i = (idx + t.offset).clamp(0, n - 1).long()
    inner = vals[i] + rshift((vals[(i + 1).clamp(max=n)] - vals[i]) * r, t.k, p.rounding)
    out = torch.where(idx + t.offset < 0, vals[0], torch.where(idx + t.offset >= n, vals[n], inner))
    s = torch.sigmoid(z)
    return s + ((out * 2.0 ** -p.coef_bits).to(z.dtype) - s).detach()


def _glu(lin, a, bs: BlockScales, p: Precision):
    """z = s W + b for spikes s (weights one exponent, bias at the sum's scale, that of the weights); out =
    commit(commit_state(z_lin) * sigmoid_table(z_gate)) at the mixing output's scale."""
    f_w = f_z = wfrac(lin.weight, p.weight_bits)
    z = a @ fq(lin.weight, f_w, p.weight_rounding, p.weight_bits).T + fq(lin.bias, f_z, p.weight_rounding)
    H = z.shape[-1] // 2
    zl = fq(z[..., :H], bs.frac("mixing.z", p.state_bits), p.rounding, p.state_bits)
    return fq(zl * sigmoid_table(z[..., H:], f_z, p), bs.f_out, p.rounding, p.message_bits)


def _linear_sigma_delta(lin, a, bs: BlockScales, p: Precision):
    """ReLU sigma-delta sender (threshold 0) into ReLU(W a + b): channel i's messages at y's scale over
    2^k_i, its receiving weights scaled by 2^k_i before the shared-exponent quantisation (fixed_mixing)."""
    k = torch.as_tensor(message_exponents(lin.weight.detach().double().T.cpu().numpy(), p.message_bits // 2),
                        dtype=a.dtype)
    f_y = bs.f_y
    # Lava's step with threshold 0 holds floor(a / 2^k) * 2^k after every step (floor shifts); truncation
    # would make it depend on the path: refused below rather than approximated.
    if p.rounding != "floor":
        raise ValueError("--qat: the sigma-delta sender is emulated for floor rounding only (loihi2, spinnaker)")
    step = torch.pow(2.0, k - f_y)
    sent = a + (torch.floor(a.detach() / step) * step - a).detach()
    rows = lin.weight * torch.pow(2.0, k)[None, :]            # (out, in): input i's weights times 2^k_i
    f_w = wfrac(rows, p.weight_bits)
    w = fq(rows, f_w, p.weight_rounding, p.weight_bits) / torch.pow(2.0, k)[None, :]
    z = sent @ w.T + fq(lin.bias, f_w + f_y, p.weight_rounding)
    return fq(torch.relu(z), bs.f_out, p.rounding, p.message_bits)
