"""Do the engines reproduce the trained PyTorch models on every held-out digit? (issue 4)

For each shipped checkpoint: PyTorch (float64 and float32) and both engines (float64) on all 1,000 held-out
digits; prints accuracies, prediction agreement and the largest logit difference.
Usage: python benchmarks/trained_agreement.py [--samples N]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import scenarios  # noqa: E402
from models.loading import load_network  # noqa: E402
from scenarios.torch_model import ModelConfig, SSMClassifier  # noqa: E402
from simulator.engine import run  # noqa: E402

SHIPPED = ("smnist_binary_s4d", "smnist_gsu", "smnist_s4d", "psmnist_binary_s4d")


def torch_logits(model, x, dtype):
    out = []
    with torch.no_grad():
        for i in range(0, len(x), 100):
            out.append(model(torch.from_numpy(x[i:i + 100]).to(dtype)).double().numpy())
    return np.concatenate(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=None)
    ap.add_argument("--only", default=None, help="comma list of checkpoint names")
    args = ap.parse_args()
    torch.set_num_threads(2)
    rows = {}
    for name in (args.only.split(",") if args.only else SHIPPED):
        ck = scenarios.CHECKPOINT_DIR
        meta = json.loads((ck / f"{name}.json").read_text())
        x, y = scenarios.get(name.split("_")[0]).load("test", n=args.samples)
        model = SSMClassifier(ModelConfig(**meta["config"])).eval()
        model.load_state_dict(torch.load(ck / f"{name}.pt", weights_only=True))
        l32 = torch_logits(model, x, torch.float32)
        l64 = torch_logits(model.double(), x, torch.float64)
        net = load_network(ck / f"{name}.h5")
        row = {"samples": len(x), "torch_float32_acc": float(np.mean(l32.argmax(1) == y)),
               "torch_float64_acc": float(np.mean(l64.argmax(1) == y))}
        for engine in ("event", "dense"):
            r = run(net, x, engine=engine, batch_size=50)
            row[f"{engine}_acc"] = float(np.mean(r.predictions == y))
            row[f"{engine}_agree_torch64"] = float(np.mean(r.predictions == l64.argmax(1)))
            row[f"{engine}_max_logit_diff"] = float(np.abs(r.logits - l64).max())
        row["float32_vs_float64_flips"] = int(np.sum(l32.argmax(1) != l64.argmax(1)))
        rows[name] = row
        print(name, json.dumps(row))
    print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
