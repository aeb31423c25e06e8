"""The S4D SSM part: a diagonal state of N/2 complex modes per channel (models/parts/__init__.py).

Per channel h (parameter row h mod n_ssm): A = -exp(inv_A_real) + i A_imag, discretised as the training code
did (models/discretize.py); s_t = Ab s_{t-1} + Bb u_t, y_t = 2 Re(C0 . s_t) + D u_t. A second row of C reads a
backward recurrence over strictly future inputs (bidirectional layers). The reference forward is the FFT
convolution the training code computes; every engine is held to it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.discretize import check_stable, discretize
from models.errors import CheckpointError
from models.parts.base import Part
from models.parts.registry import register


@register
@dataclass(frozen=True, eq=False)
class S4D(Part):
    role = "ssm"
    kind = "s4d"
    ARRAYS = ("log_dt", "inv_A_real", "A_imag", "B", "C", "D")
    COMPLEX = ("B", "C")
    NEEDS = {"state": "complex"}

    log_dt: np.ndarray      # (H,)
    inv_A_real: np.ndarray  # (n_ssm, N/2): Re(A) = -exp(inv_A_real)
    A_imag: np.ndarray      # (n_ssm, N/2)
    B: np.ndarray           # (n_ssm, N/2) complex
    C: np.ndarray           # (directions, H, N/2) complex
    D: np.ndarray           # (H,)

    @property
    def A(self) -> np.ndarray:
        return -np.exp(self.inv_A_real) + 1j * self.A_imag

    @property
    def modes(self) -> int:
        """Complex modes per channel (N/2)."""
        return int(self.inv_A_real.shape[1])

    @property
    def directions(self) -> int:
        return int(self.C.shape[0])

    @property
    def n_ssm(self) -> int:
        return int(self.inv_A_real.shape[0])

    @property
    def state_size(self) -> int:
        """N: real numbers of state per channel and direction (N/2 complex modes)."""
        return 2 * self.modes

    @classmethod
    def shapes(cls, H: int, declared: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
        a = declared.get("inv_A_real", ())
        c = declared.get("C", ())
        if len(a) != 2 or min(a) < 1:
            raise CheckpointError(f"inv_A_real: expected shape (n_ssm, N/2) with both >= 1, found {a}")
        dirs = c[0] if c else 0
        if dirs not in (1, 2):
            raise CheckpointError(f"C: expected 1 or 2 directions on axis 0, found shape {c}")
        n_ssm, n2 = a
        return {"log_dt": (H,), "inv_A_real": (n_ssm, n2), "A_imag": (n_ssm, n2), "B": (n_ssm, n2),
                "C": (dirs, H, n2), "D": (H,)}

    def check_stable(self, disc: str, where: str) -> None:
        check_stable(self, disc, where)

    def forward(self, u: np.ndarray, disc: str) -> np.ndarray:
        return ssm_fft(discretize(self, disc), u)


def ssm_kernels(d, L: int) -> np.ndarray:
    """K with shape (directions, H, L): K_c[h, l] = 2 Re(sum_n C[c,h,n] Bb[h,n] Ab[h,n]^l)."""
    powers = np.exp(np.log(d.Ab)[..., None] * np.arange(L))  # (H, N/2, L)
    return 2.0 * np.einsum("chn,hnl->chl", d.C * d.Bb[None], powers).real


def ssm_fft(d, u: np.ndarray) -> np.ndarray:
    """y[b, t, h] for input u (B, L, H): causal convolution, plus the strictly-future backward term."""
    L = u.shape[1]
    K = ssm_kernels(d, L)
    n = 2 * L  # zero padding to 2L: linear, not circular, convolution
    uf = np.fft.rfft(u, n=n, axis=1)                        # (B, n/2+1, H)
    y = np.fft.irfft(uf * np.fft.rfft(K[0].T, n=n, axis=0), n=n, axis=1)[:, :L]
    if K.shape[0] == 2:
        # Backward direction: y[t] += sum_{s>t} K1[s-t-1] u[s]. On reversed time that is a causal
        # convolution with K1 delayed by one step.
        k1 = np.zeros((L, K.shape[1]))
        k1[1:] = K[1].T[: L - 1]
        ur = np.fft.rfft(u[:, ::-1], n=n, axis=1)
        y = y + np.fft.irfft(ur * np.fft.rfft(k1, n=n, axis=0), n=n, axis=1)[:, :L][:, ::-1]
    return y + d.D * u
