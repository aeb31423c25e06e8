"""Long Range Arena workloads with the paper's model shapes (its per-task configurations, arXiv 2401.00955).

The LRA datasets are not available offline, so these are *workloads*: untrained networks with the paper's
initialisation (S4D-Inv, its dt ranges), run on inputs with each task's statistics. ListOps is algorithmic,
so its sequences and labels are real (generated and evaluated here). Reports mark these runs as untrained:
their accuracies mean nothing, their costs (operations, time, memory, energy) are the point.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ListOps vocabulary: 0 = padding, digits 0-9 -> 1..10, operators, brackets.
LISTOPS_OPS = ("MIN", "MAX", "MED", "SM")
LISTOPS_TOKENS = ("<pad>",) + tuple(str(d) for d in range(10)) + tuple(f"[{op}" for op in LISTOPS_OPS) + ("]",)


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    seq_len: int
    n_layers: int
    H: int
    N: int
    norm: str
    prenorm: bool
    n_ssm: int | None
    encoder: str          # 'embedding' (tokens) or 'linear' (pixels)
    d_input: int          # vocabulary size or input channels
    n_classes: int
    dt_min: float = 1e-3
    dt_max: float = 1e-1
    inputs: str = ""      # how the inputs are made
    untrained: bool = True
    default_checkpoint: str | None = None
    checkpoint_path = None

    def network(self, kind: str = "binary_s4d", seed: int = 0):
        """The untrained network: S4D-Inv init, bidirectional, as in the paper's LRA runs."""
        from models.init import s4d_state_dict
        from models.paper_layout import network_from_state_dict
        sd = s4d_state_dict(kind=kind, H=self.H, N=self.N, n_layers=self.n_layers, n_ssm=self.n_ssm,
                            directions=2, norm=self.norm, prenorm=self.prenorm, d_input=self.d_input,
                            classes=self.n_classes, encoder=self.encoder, init="inv", dt_min=self.dt_min,
                            dt_max=self.dt_max, seed=seed)
        return network_from_state_dict(sd, source=f"untrained {self.name} workload (S4D-Inv init, seed {seed})",
                                       kind=kind, metadata={"scenario": self.name, "untrained": True})

    def load(self, split: str = "test", n: int | None = None, seed: int = 0):
        """(inputs, labels); labels are real for ListOps and -1 (unknown) elsewhere."""
        n = 8 if n is None else n
        rng = np.random.default_rng(seed + (0 if split == "test" else 1_000_003))
        return _GENERATORS[self.name](self, rng, n)


# ---- inputs with each task's statistics -----------------------------------------------------------------

def listops_expression(rng, budget: int = 1000, max_depth: int = 10, max_args: int = 10, depth: int = 0):
    """A random ListOps tree (Nangia & Bowman 2018 grammar): (op, [args]) or a digit. `budget` bounds the
    tokens the tree may take, so generation stays linear in the sequence length."""
    if depth >= max_depth or budget < 8 or (depth > 0 and rng.uniform() < 0.3):
        return int(rng.integers(10))
    op = LISTOPS_OPS[rng.integers(len(LISTOPS_OPS))]
    n_args = int(rng.integers(2, max_args + 1))
    share = (budget - 2) // n_args
    return op, [listops_expression(rng, share, max_depth, max_args, depth + 1) for _ in range(n_args)]


def listops_value(e) -> int:
    if isinstance(e, int):
        return e
    op, args = e
    vals = [listops_value(a) for a in args]
    if op == "MIN":
        return min(vals)
    if op == "MAX":
        return max(vals)
    if op == "MED":
        return int(np.median(vals))  # LRA's ListOps takes the integer median
    return sum(vals) % 10            # SM: sum modulo 10


def listops_tokens(e) -> list[int]:
    if isinstance(e, int):
        return [1 + e]
    op, args = e
    out = [LISTOPS_TOKENS.index(f"[{op}")]
    for a in args:
        out += listops_tokens(a)
    return out + [LISTOPS_TOKENS.index("]")]


def _listops(w: Workload, rng, n):
    x = np.zeros((n, w.seq_len), np.int64)
    y = np.zeros(n, np.int64)
    for i in range(n):
        while True:  # LRA's sequences run from tens to 2,000 tokens
            e = listops_expression(rng, budget=int(rng.integers(100, w.seq_len + 1)))
            toks = listops_tokens(e)
            if 20 <= len(toks) <= w.seq_len:
                break
        x[i, :len(toks)] = toks
        y[i] = listops_value(e)
    return x, y


# Relative frequencies of lowercase letters and space in English text (approximate, for byte statistics).
_ENGLISH = "etaoinshrdlcumwfgypbvkjxqz"
_ENGLISH_P = np.array([12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8, 2.4, 2.4, 2.2, 2.0, 2.0,
                       1.9, 1.5, 1.0, 0.8, 0.15, 0.15, 0.1, 0.07])


def _text(w: Workload, rng, n):
    """Byte-level documents: English-like letter statistics and word lengths, padded with 0 (IMDB reviews
    in LRA average ~1,300 bytes, truncated at 4,096)."""
    letters = np.frombuffer(_ENGLISH.encode(), np.uint8)
    p = _ENGLISH_P / _ENGLISH_P.sum()
    x = np.zeros((n, w.seq_len), np.int64)
    for i in range(n):
        length = int(min(w.seq_len, rng.lognormal(np.log(1000), 0.6)))
        chars = letters[rng.choice(len(letters), size=length, p=p)].astype(np.int64)
        chars[rng.uniform(size=length) < 1 / 5.5] = ord(" ")  # mean word length ~4.5 letters
        x[i, :length] = chars
    return x, np.full(n, -1, np.int64)


def _smooth_image(rng, side: int, n: int) -> np.ndarray:
    """Grey natural-image-like fields: 1/f spectrum, scaled to CIFAR grey statistics (mean 0.48, sd 0.24)."""
    f = np.fft.fftfreq(side)
    amp = 1.0 / np.maximum(np.hypot(*np.meshgrid(f, f)), 1.0 / side)
    spec = amp * np.exp(2j * np.pi * rng.uniform(size=(n, side, side)))
    img = np.fft.ifft2(spec).real
    img = (img - img.mean(axis=(1, 2), keepdims=True)) / img.std(axis=(1, 2), keepdims=True)
    return np.clip(0.48 + 0.24 * img, 0, 1)


def _image(w: Workload, rng, n):
    side = int(round(np.sqrt(w.seq_len)))
    return _smooth_image(rng, side, n).reshape(n, w.seq_len, 1), np.full(n, -1, np.int64)


def _pathfinder(w: Workload, rng, n):
    """Pathfinder-like images: dark background, dashed curved strokes and two endpoint dots; a label says
    whether the dots lie on one stroke (drawn so, so the label is true of the image)."""
    side = int(round(np.sqrt(w.seq_len)))
    imgs = np.zeros((n, side, side))
    labels = rng.integers(0, 2, n)
    for i in range(n):
        strokes = []
        for _ in range(rng.integers(3, 6)):
            pos = rng.uniform(0.1, 0.9, 2) * side
            ang = rng.uniform(0, 2 * np.pi)
            pts = []
            for k in range(int(side * 0.8)):
                ang += rng.normal(0, 0.15)
                pos = np.clip(pos + [np.cos(ang), np.sin(ang)], 0, side - 1)
                pts.append(pos.copy())
                if (k // max(1, side // 16)) % 2 == 0:  # dashes
                    imgs[i, int(pos[1]), int(pos[0])] = 1.0
            strokes.append(pts)
        a = strokes[0][0]
        b = strokes[0][-1] if labels[i] else strokes[1][-1]
        for p in (a, b):
            r0, c0 = int(p[1]), int(p[0])
            imgs[i, max(0, r0 - 1):r0 + 2, max(0, c0 - 1):c0 + 2] = 1.0
    return imgs.reshape(n, w.seq_len, 1), labels.astype(np.int64)


WORKLOADS = {
    "lra-listops": Workload("lra-listops", "ListOps: nested MIN/MAX/MED/SM expressions, real generated labels",
                            2000, 8, 128, 64, "batch", False, None, "embedding", len(LISTOPS_TOKENS), 10,
                            inputs="generated ListOps expressions (real labels), padded to 2,000 tokens"),
    "lra-text": Workload("lra-text", "Text (IMDB bytes): byte-level classification", 4096, 6, 256, 64, "batch", True,
                         None, "embedding", 256, 2, inputs="English-like byte statistics, ~1,000-byte documents"),
    "lra-retrieval": Workload("lra-retrieval", "Retrieval (AAN): each document of a pair as one sequence", 4000, 6,
                              256, 64, "batch", True, None, "embedding", 256, 2,
                              inputs="English-like byte statistics; a pair = 2 samples (the pair-matching "
                                     "head is not simulated)"),
    "lra-image": Workload("lra-image", "Image (CIFAR-10 grey): 32x32 pixels", 1024, 6, 512, 64, "layer", False, 2,
                          "linear", 1, 10, inputs="1/f grey images with CIFAR grey mean/sd"),
    "lra-pathfinder": Workload("lra-pathfinder", "Pathfinder: 32x32 connected-dots images", 1024, 6, 256, 64, "batch",
                               True, None, "linear", 1, 2, inputs="dashed strokes and two dots, 32x32"),
    "lra-pathx": Workload("lra-pathx", "Path-X: 128x128 connected-dots images", 16384, 6, 256, 64, "batch", True,
                          None, "linear", 1, 2, dt_min=1e-4, inputs="dashed strokes and two dots, 128x128"),
}
_GENERATORS = {"lra-listops": _listops, "lra-text": _text, "lra-retrieval": _text, "lra-image": _image,
               "lra-pathfinder": _pathfinder, "lra-pathx": _pathfinder}
