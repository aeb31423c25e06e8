"""Real-valued S4D: S4D whose A, B and C have no imaginary parts (models/parts/s4d.py for the complex one)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.discretize import DiscreteSSM, check_stable, discretize
from models.errors import CheckpointError
from models.parts.base import Part
from models.parts.registry import register
from models.parts.s4d import ssm_fft


@register
@dataclass(frozen=True, eq=False)
class S4DReal(Part):
    """S4D with real modes, as in Intel's Loihi 2 S4D runs (Meyer et al., arXiv 2409.15022; S4D: Gu et al.,
    arXiv 2206.11893).

    Per channel h (parameter row h mod n_ssm) and mode n: A = -exp(inv_A_real) (real, < 0), discretised as
    S4D's (bilinear or ZOH); s_t = Ab s_{t-1} + Bb u_t, y_t = 2 C0 . s_t + D u_t, and with a second row of C
    a backward recurrence over strictly future inputs. These are S4D's equations with A_imag = 0 and B, C
    real (the factor 2 kept, so a real network equals the complex S4D with zero imaginary parts), but each
    mode is one real number: a real mode update (1 multiply-add and the readout) instead of a complex one.
    """

    role = "ssm"
    kind = "s4d_real"
    ARRAYS = ("log_dt", "inv_A_real", "B", "C", "D")
    NEEDS = {"state": "real"}

    log_dt: np.ndarray      # (H,)
    inv_A_real: np.ndarray  # (n_ssm, modes): A = -exp(inv_A_real)
    B: np.ndarray           # (n_ssm, modes)
    C: np.ndarray           # (directions, H, modes)
    D: np.ndarray           # (H,)

    @property
    def A(self) -> np.ndarray:
        return -np.exp(self.inv_A_real)

    @property
    def modes(self) -> int:
        return int(self.inv_A_real.shape[1])

    @property
    def n_ssm(self) -> int:
        return int(self.inv_A_real.shape[0])

    @property
    def directions(self) -> int:
        return int(self.C.shape[0])

    @property
    def state_size(self) -> int:
        """Real numbers of state per channel and direction."""
        return self.modes

    @classmethod
    def shapes(cls, H: int, declared: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
        a = declared.get("inv_A_real", ())
        c = declared.get("C", ())
        if len(a) != 2 or min(a) < 1:
            raise CheckpointError(f"inv_A_real: expected shape (n_ssm, modes) with both >= 1, found {a}")
        dirs = c[0] if c else 0
        if dirs not in (1, 2):
            raise CheckpointError(f"C: expected 1 or 2 directions on axis 0, found shape {c}")
        n_ssm, n = a
        return {"log_dt": (H,), "inv_A_real": (n_ssm, n), "B": (n_ssm, n), "C": (dirs, H, n), "D": (H,)}

    def discrete(self, disc: str):
        """Per-channel real (Ab, Bb), by S4D's own discretisation (it reads log_dt, A and B only)."""
        return discretize(self, disc)

    def check_stable(self, disc: str, where: str) -> None:
        check_stable(self, disc, where)

    def forward(self, u: np.ndarray, disc: str) -> np.ndarray:
        """S4D's FFT reference on the same coefficients held as complex numbers with zero imaginary parts."""
        d = self.discrete(disc)
        cplx = DiscreteSSM(Ab=d.Ab.astype(np.complex128), Bb=d.Bb.astype(np.complex128),
                           C=self.C.astype(np.complex128), D=self.D)
        return ssm_fft(cplx, u)
