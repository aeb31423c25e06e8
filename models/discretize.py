"""Continuous SSM parameters -> per-channel discrete coefficients, in float64, as the training code did."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import CheckpointError


@dataclass(frozen=True, eq=False)
class DiscreteSSM:
    """s_t = Ab*s_{t-1} + Bb*u_t;  y_t = 2 Re(sum_n C[0]*s_t) (+ backward term) + D*u_t. Shapes (H, N/2)."""

    Ab: np.ndarray  # (H, N/2) complex128
    Bb: np.ndarray  # (H, N/2) complex128
    C: np.ndarray   # (directions, H, N/2) complex128
    D: np.ndarray   # (H,)


def per_channel(ssm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dt, A, B) with one row per channel: channel h uses parameter row h mod n_ssm (not block tiling)."""
    H = ssm.log_dt.shape[0]
    rows = np.arange(H) % ssm.inv_A_real.shape[0]
    dt = np.exp(ssm.log_dt)[:, None]
    return dt, ssm.A[rows], ssm.B[rows]


def discretize(ssm, disc: str) -> DiscreteSSM:
    dt, A, B = per_channel(ssm)
    dtA = dt * A
    if disc == "bilinear":
        # The paper code's default (SSKernelDiag): Tustin transform.
        denom = 1.0 - dtA / 2.0
        Ab = (1.0 + dtA / 2.0) / denom
        Bb = B * dt / denom
    elif disc == "zoh":
        Ab = np.exp(dtA)
        Bb = B * (Ab - 1.0) / A
    else:
        raise CheckpointError(f"discretisation: expected 'bilinear' or 'zoh', found {disc!r}")
    return DiscreteSSM(Ab=Ab, Bb=Bb, C=ssm.C, D=ssm.D)


def check_stable(ssm, disc: str, where: str) -> None:
    """Refuse dynamics that grow: Re(A) must be < 0 and every |Ab| < 1 after discretisation."""
    re_a = -np.exp(ssm.inv_A_real)
    if np.any(re_a >= 0):
        i, n = np.argwhere(re_a >= 0)[0]
        raise CheckpointError(f"{where}/inv_A_real: unstable dynamics, Re(A) = -exp(inv_A_real) must be < 0; "
                              f"row {i} mode {n} has inv_A_real = {ssm.inv_A_real[i, n]:g} (Re(A) = {re_a[i, n]:g})")
    with np.errstate(over="ignore", invalid="ignore"):
        mag = np.abs(discretize(ssm, disc).Ab)
    if not np.all(mag < 1.0):
        h, n = np.argwhere(~(mag < 1.0))[0]
        raise CheckpointError(f"{where}: unstable dynamics after {disc} discretisation, |Ab| = {mag[h, n]:.17g} >= 1 "
                              f"at channel {h} mode {n} (log_dt = {ssm.log_dt[h]:g}); expected |Ab| < 1")
