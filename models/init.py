"""Untrained networks in the paper's state_dict layout: S4D initialisation plus optional random perturbation.

Used for tests (random non-trivial weights in every layout), for LRA-shaped workloads, and for demos.
"""
from __future__ import annotations

import numpy as np


def s4d_state_dict(*, kind: str = "binary_s4d", H: int = 16, N: int = 8, n_layers: int = 2, n_ssm: int | None = None,
                   directions: int = 1, norm: str = "batch", prenorm: bool = False, d_input: int = 1,
                   classes: int = 10, encoder: str = "linear", init: str = "inv", dt_min: float = 1e-3,
                   dt_max: float = 1e-1, perturb: float = 0.0, seed: int = 0,
                   dtype=np.float32) -> dict[str, np.ndarray]:
    """A paper-layout state_dict. init 'inv' is S4D-Inv (the paper's LRA runs), 'lin' is S4D-Lin.

    perturb > 0 randomises everything the init leaves regular (A, B, norm statistics, ...) so that tests
    exercise non-trivial values in every array.
    """
    rng = np.random.default_rng(seed)
    n_ssm = H if n_ssm is None else n_ssm
    n2 = N // 2
    width = 2 * H if kind != "gsu" else H

    def lin(out_f, in_f):
        bound = 1.0 / np.sqrt(in_f)
        return rng.uniform(-bound, bound, (out_f, in_f)), rng.uniform(-bound, bound, out_f)

    def norm_params(prefix: str) -> dict:
        if norm == "none":
            return {}
        p = {prefix + "weight": 1.0 + perturb * rng.normal(size=H), prefix + "bias": perturb * rng.normal(size=H)}
        if norm == "batch":
            p[prefix + "running_mean"] = perturb * rng.normal(size=H)
            p[prefix + "running_var"] = 1.0 + perturb * rng.uniform(0, 2, size=H)
            p[prefix + "num_batches_tracked"] = np.asarray(0, dtype=np.int64)
        return p

    sd: dict[str, np.ndarray] = {}
    n = np.arange(n2)
    for i in range(n_layers):
        p = f"model.layers.{i}."
        k = p + "layer.kernel.kernel."
        sd[k + "log_dt"] = rng.uniform(np.log(dt_min), np.log(dt_max), H)
        re = np.full((n_ssm, n2), np.log(0.5)) + perturb * rng.normal(size=(n_ssm, n2))
        im = np.pi * n if init == "lin" else N / np.pi * (N / (2 * n + 1) - 1)
        sd[k + "inv_A_real"] = re
        sd[k + "A_imag"] = np.broadcast_to(im, (n_ssm, n2)) * (1 + perturb * rng.uniform(-0.1, 0.1, (n_ssm, n2)))
        b = np.zeros((n_ssm, n2, 2))
        b[..., 0] = 1.0
        sd[k + "B"] = b + perturb * rng.normal(size=(n_ssm, n2, 2))
        sd[k + "C"] = rng.normal(scale=np.sqrt(0.5), size=(directions, H, n2, 2))
        sd[p + "layer.D"] = rng.normal(size=(1, H))
        if kind == "gsu":
            sd[p + "layer.GSU"], sd[p + "layer.GSU_bias"] = lin(H, H)
            sd[p + "layer.norm.weight"] = 1.0 + perturb * rng.normal(size=H)
            sd[p + "layer.norm.bias"] = perturb * rng.normal(size=H)
        else:
            sd[p + "layer.output_linear.0.weight"], sd[p + "layer.output_linear.0.bias"] = lin(width, H)
        sd.update(norm_params(p + "norm.norm."))
    if prenorm:
        sd.update(norm_params("model.norm.norm."))
    if encoder == "linear":
        sd["encoder.0.weight"], sd["encoder.0.bias"] = lin(H, d_input)
    else:
        sd["encoder.0.weight"] = rng.normal(size=(d_input, H))
    sd["decoder.0.output_transform.weight"], sd["decoder.0.output_transform.bias"] = lin(classes, H)
    return {k: (np.array(v, dtype=dtype) if np.asarray(v).dtype.kind == "f" else np.array(v)) for k, v in sd.items()}
