"""Convert shipped .pt checkpoints to the simulator's .h5 and note it on their model cards.

    python -m scenarios.convert [scenarios/checkpoints/NAME.pt ...]   # default: every shipped .pt

Runs the project's own command line, ``python -m simulator import CKPT --out
NAME.h5 --disc D --decoder M --kind ARCH`` (the kind matters: Binary S4D and
the S4D baseline share one key layout; the new part kinds lif_s4d,
sigma_delta_s4d and s5 take their kind and settings from the model card
beside the .pt instead), then records the .h5 file and the
exact command in the JSON sidecar and re-renders the card. It then checks
the .h5 on the whole test split with the simulator's float64 FFT reference
(``models.reference``) against the .pt run in float32 by PyTorch, and
records that accuracy and the number of changed predictions on the card.
A checkpoint fine-tuned with --qat PRECISION is also run by the simulator at that precision and in float64
(``python -m simulator run NAME.h5 [--precision P]``, whole test split) and both accuracies go on the card.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scenarios import CHECKPOINT_DIR, cards

PAPER_KINDS = ("binary_s4d", "gsu", "s4d")


def convert(pt: Path) -> Path:
    side = pt.with_suffix(".json")
    meta = json.loads(side.read_text())
    cfg = meta["config"]
    h5 = pt.with_suffix(".h5")
    rel = lambda p: p.relative_to(Path.cwd()) if p.is_relative_to(Path.cwd()) else p  # noqa: E731
    args = ["import", str(rel(pt)), "--out", str(rel(h5)), "--disc", cfg["disc"], "--decoder", cfg["decoder"]]
    if meta["arch"] in PAPER_KINDS:
        args += ["--kind", meta["arch"]]
    # else a new part kind (lif_s4d, sigma_delta_s4d, s5): the importer reads `arch` and `config` from the
    # model card X.json beside X.pt (models/own_layout.py); --kind names only the paper's three
    done = subprocess.run([sys.executable, "-m", "simulator", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"converting {pt} failed:\n{done.stdout}{done.stderr}")
    meta["h5"] = h5.name
    meta["h5_command"] = "python -m simulator " + " ".join(args)
    meta["h5_check"] = check(pt, h5, meta)
    if (meta["recipe"].get("qat") or {}).get("precision"):
        meta["precision_check"] = precision_check(h5, meta["recipe"]["qat"]["precision"], rel)
    side.write_text(json.dumps(meta, indent=2) + "\n")
    pt.with_suffix(".md").write_text(cards.render(meta))
    print(f"{pt.name} -> {h5.name}")
    return h5


def check(pt: Path, h5: Path, meta: dict) -> dict:
    """float64 accuracy of the .h5 (models.reference) and prediction changes vs the float32 .pt."""
    import numpy as np
    import torch

    import scenarios
    from models import checkpoint, reference
    from scenarios.torch_model import ModelConfig, SSMClassifier

    net = checkpoint.load(h5)
    model = SSMClassifier(ModelConfig(**meta["config"]))
    model.load_state_dict(torch.load(pt, weights_only=True))
    model.eval()
    x, y = scenarios.get(meta["scenario"]).load("test")
    p64, p32 = [], []
    for i in range(0, len(x), 100):
        p64.append(reference.forward(net, x[i:i + 100]).predictions)
        with torch.no_grad():
            p32.append(model(torch.from_numpy(x[i:i + 100]).float()).argmax(-1).numpy())
    p64, p32 = np.concatenate(p64), np.concatenate(p32)
    return dict(accuracy_f64=float((p64 == y).mean()), prediction_changes_vs_pt_f32=int((p64 != p32).sum()))


def precision_check(h5: Path, precision: str, rel) -> dict:
    """Test accuracy of the .h5 in the simulator (event engine, whole test split) at `precision` and float64."""
    import tempfile
    out = {"precision": precision}
    with tempfile.TemporaryDirectory() as tmp:
        for key, extra in (("accuracy_float64", []), ("accuracy_fixed", ["--precision", precision])):
            args = ["run", str(rel(h5)), *extra]
            done = subprocess.run([sys.executable, "-m", "simulator", *args, "--out", f"{tmp}/{key}", "--no-spikes"],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"running {h5} failed:\n{done.stdout}{done.stderr}")
            summary = json.loads(Path(f"{tmp}/{key}/summary.json").read_text())
            out[key] = summary["accuracy"]
            out[key.replace("accuracy", "command")] = "python -m simulator " + " ".join(args)
            out["samples"] = summary["samples"]
    return out


def main(argv=None):
    paths = [Path(p) for p in (sys.argv[1:] if argv is None else argv)] or sorted(CHECKPOINT_DIR.glob("*.pt"))
    for p in paths:
        convert(p.resolve())


if __name__ == "__main__":
    main()
