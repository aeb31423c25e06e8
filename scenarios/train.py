"""Training recipe: python -m scenarios.train SCENARIO --arch binary_s4d|gsu|s4d|lif_s4d|sigma_delta_s4d|s5 [options].

Trains an SSM-SNN classifier (scenarios/torch_model.py) on a scenario's train
split, evaluates it on the held-out test split in eval mode, and writes

* ``OUT.pt``   ``torch.save(model.state_dict())`` in the paper's key layout,
* ``OUT.json`` config, recipe, seed, wall time, test accuracy, firing rates,
* ``OUT.md``   a model card (scenarios/cards.py).

PyTorch is an optional extra (``pip install -r requirements-train.txt``).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

import scenarios
from scenarios import cards


RELU = ("sigma_delta_s4d", "s5")   # archs trained with a plain ReLU activation (no surrogate)


def _import_torch():
    # On shared cores, spinning OpenMP workers burn the time slices the other
    # thread needs; passive waiting keeps 2 threads useful under contention.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError:
        sys.exit("scenarios.train needs PyTorch, an optional extra: pip install -r requirements-train.txt")
    return torch


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m scenarios.train", description=__doc__.splitlines()[0])
    p.add_argument("scenario", help=f"one of {', '.join(scenarios.names())}")
    p.add_argument("--arch", default="binary_s4d",
                   choices=("binary_s4d", "gsu", "s4d", "lif_s4d", "sigma_delta_s4d", "s5"))
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--d-state", type=int, default=64)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--lr", type=float, default=0.01, help="AdamW lr of all non-SSM parameters")
    p.add_argument("--ssm-lr", type=float, default=0.001, help="lr of log_dt, A, B (no weight decay)")
    p.add_argument("--wd", type=float, default=0.05, help="weight decay (not on SSM, norms, biases, D)")
    p.add_argument("--warmup", type=float, default=1.0, help="linear warm-up epochs, then cosine decay")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--norm", default=None, choices=("batch", "layer", "none"),
                   help="block norm (default: batch; none for sigma_delta_s4d, Meyer et al.'s network)")
    p.add_argument("--no-residual", dest="residual", action="store_false", default=None,
                   help="blocks without the residual sum (default for sigma_delta_s4d)")
    p.add_argument("--fold-norm", action="store_true",
                   help="linear mixing (sigma_delta_s4d): train with a BatchNorm between the activation and the "
                        "linear, folded into the linear's weights after training (the shipped network has no norm)")
    p.add_argument("--lif-beta", type=float, default=0.9, help="lif_s4d: membrane decay beta")
    p.add_argument("--lif-threshold", type=float, default=1.0, help="lif_s4d: spike threshold")
    p.add_argument("--lif-reset", default="soft", choices=("soft", "hard"), help="lif_s4d: reset after a spike")
    p.add_argument("--prenorm", action="store_true")
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--init", default="inv", choices=("inv", "lin"))
    p.add_argument("--disc", default="bilinear", choices=("bilinear", "zoh"))
    p.add_argument("--augment", type=int, default=0,
                   help="random image shifts of up to this many pixels (train only; 0 = off)")
    p.add_argument("--n-train", type=int, default=None, help="use only the first n training samples")
    p.add_argument("--init-from", default=None, metavar="PATH.pt",
                   help="warm start from one of our state_dicts (torch.load weights_only=True, strict; a folded "
                        "sigma_delta_s4d file with --fold-norm gets its BatchNorms rebuilt as identities)")
    p.add_argument("--prune", type=float, default=None, metavar="FRACTION",
                   help="s5: zero this fraction of the complex entries of each layer's B and C by magnitude "
                        "(after --init-from), and keep them zero through training (fixed mask)")
    p.add_argument("--qat", default=None, metavar="PRECISION",
                   help="quantisation-aware fine-tuning at a fixed-point format (loihi2, w8s24, a chip name or "
                        ".toml, as the simulator's --precision): the forward is the engine's fixed-point arithmetic "
                        "with straight-through gradients (scenarios/qat.py), scales recalibrated on the first "
                        "--qat-calibration training digits at every epoch; use with --init-from")
    p.add_argument("--qat-calibration", type=int, default=64,
                   help="training digits the QAT scales are calibrated on (default 64, as the simulator)")
    p.add_argument("--qat-float-weight", type=float, default=1.0,
                   help="with --qat, the loss is CE(fixed point) + this x CE(float): keeps the float accuracy "
                        "(QAT alone moved the LIF checkpoint's float accuracy from 97.7 to 88.5 %% in 4 steps)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=None, help="output .pt path (default scenarios/checkpoints/<scenario>_<arch>.pt)")
    return p.parse_args(argv)


def image_shape(sc):
    side = int(round(math.sqrt(sc.seq_len)))
    return (side, side) if side * side == sc.seq_len and sc.d_input == 1 else None


def shift_images(x, max_shift, rng):
    """Shift each row-major image (B, L) by a random (dy, dx) in [-k, k]^2, zero fill."""
    B, L = x.shape
    s = int(round(math.sqrt(L)))
    k = max_shift
    pad = np.zeros((B, s + 2 * k, s + 2 * k), x.dtype)
    pad[:, k:k + s, k:k + s] = x.reshape(B, s, s)
    off = rng.integers(0, 2 * k + 1, size=(B, 2))
    return np.stack([pad[i, a:a + s, b:b + s] for i, (a, b) in enumerate(off)]).reshape(B, L)


def param_groups(model, lr, ssm_lr, wd):
    """S4 convention: SSM parameters (dt, A, B) get a small lr and no weight decay."""
    ssm, no_decay, decay = [], [], []
    for name, p in model.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if leaf in ("log_dt", "inv_A_real", "A_imag", "B"):
            ssm.append(p)
        elif p.ndim < 2 or leaf == "D" or ".norm." in name:
            no_decay.append(p)
        else:
            decay.append(p)
    return [dict(params=decay, lr=lr, weight_decay=wd),
            dict(params=no_decay, lr=lr, weight_decay=0.0),
            dict(params=ssm, lr=ssm_lr, weight_decay=0.0)]


def evaluate(model, x, y, batch=100):
    """(accuracy, per-layer firing rates) in eval mode.

    Firing rate = fraction of (time step x channel) slots with a nonzero
    spike (binary 1 or ternary +-1); None for the non-spiking S4D baseline.
    """
    torch = sys.modules["torch"]
    model.eval()
    correct, nonzero = 0, np.zeros(model.cfg.n_layers)
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.as_tensor(x[i:i + batch], dtype=torch.get_default_dtype())
            logits, acts = model(xb, return_activity=True)
            correct += int((logits.argmax(-1).numpy() == y[i:i + batch]).sum())
            nonzero += [float((a != 0).sum()) for a in acts]
    slots = len(x) * x.shape[1] * model.cfg.d_model
    rates = None if model.cfg.arch == "s4d" else [round(float(v) / slots, 4) for v in nonzero]
    # (sigma_delta_s4d and s5: the fraction of nonzero ReLU outputs, their activity; cards say so)
    return correct / len(x), rates


def _qat_precision(args):
    """The Precision of --qat (None without it); an unknown or float name exits with a one-line message."""
    if args.qat is None:
        return None
    from models.errors import InputError
    from models.precision import FLOATS, fixed_format
    if args.qat in FLOATS:
        sys.exit(f"--qat {args.qat}: expected a fixed-point format (loihi2, w8s24, ...); float needs no QAT")
    try:
        prec = fixed_format(args.qat)
    except InputError as e:
        sys.exit(f"--qat {e}")
    if prec.message_bits < 2:
        sys.exit(f"--qat {args.qat}: its messages are {prec.message_bits} bit (no payload); the engine refuses it")
    return prec


def main(argv=None):
    args = parse_args(argv)
    try:
        sc = scenarios.get(args.scenario)
    except scenarios.ScenarioError as e:
        sys.exit(str(e))
    if not isinstance(sc, scenarios.Scenario):      # e.g. the LRA workloads: shapes only, no data
        trainable = [n for n in scenarios.names() if isinstance(scenarios.get(n), scenarios.Scenario)]
        sys.exit(f"scenario {sc.name!r} has no training data; trainable: {', '.join(trainable)}")
    qat_prec = _qat_precision(args)
    torch = _import_torch()
    from tqdm import tqdm
    from scenarios.torch_model import ModelConfig, SSMClassifier

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)      # data order and augmentation

    # Load unpermuted row-major images so shifts act on the picture; permute afterwards.
    perm = sc.permutation
    x_train, y_train = sc.load("train", n=args.n_train)
    x_test, y_test = sc.load("test")
    if perm is not None:
        inv = np.argsort(perm)
        x_train = x_train[:, inv]                # back to row-major for augmentation
    x_train = x_train[..., 0].astype(np.float32)
    if args.augment and image_shape(sc) is None:
        sys.exit(f"--augment needs square single-channel images; scenario {sc.name} is not")

    cfg = ModelConfig(arch=args.arch, d_input=sc.d_input, n_classes=sc.n_classes,
                      d_model=args.d_model, d_state=args.d_state, n_layers=args.layers,
                      bidirectional=args.bidirectional, prenorm=args.prenorm,
                      init=args.init, disc=args.disc, dropout=args.dropout,
                      norm=args.norm or ("none" if args.arch == "sigma_delta_s4d" else "batch"),
                      residual=(args.arch != "sigma_delta_s4d") if args.residual is None else args.residual,
                      fold_norm=args.fold_norm, lif_beta=args.lif_beta, lif_threshold=args.lif_threshold, lif_reset=args.lif_reset)
    model = SSMClassifier(cfg)
    if args.init_from:
        from scenarios.torch_parts.warm_start import InitMismatch, load_into
        stats = x_train[:500] if perm is None else x_train[:500][:, perm]
        try:
            load_into(model, args.init_from, torch.from_numpy(np.ascontiguousarray(stats))[..., None])
        except InitMismatch as e:
            sys.exit(str(e))
    if qat_prec is not None:
        from scenarios import qat
        try:
            qat.check_supported(cfg)
        except ValueError as e:
            sys.exit(str(e))
        x_cal = sc.load("train", n=args.qat_calibration)[0]   # the simulator's calibration split

        def loss_of(m, xb, yb):           # (loss, the fixed-point logits)
            lq = qat.forward(m, xb, scales)
            loss = torch.nn.functional.cross_entropy(lq, yb)
            if args.qat_float_weight:
                loss = loss + args.qat_float_weight * torch.nn.functional.cross_entropy(m(xb), yb)
            return loss, lq
    else:
        def loss_of(m, xb, yb):
            logits = m(xb)
            return torch.nn.functional.cross_entropy(logits, yb), logits
    masks = {}
    if args.prune is not None:
        from scenarios.torch_parts import pruning
        try:
            masks = pruning.make_masks(model, args.prune)
        except ValueError as e:
            sys.exit(str(e))
        print(f"pruned to sparsity {pruning.sparsity(model)}", flush=True)
    opt = torch.optim.AdamW(param_groups(model, args.lr, args.ssm_lr, args.wd))
    n = len(x_train)
    steps_per_epoch = math.ceil(n / args.batch)
    total, warm = args.epochs * steps_per_epoch, max(1, int(args.warmup * steps_per_epoch))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))

    out = Path(args.out) if args.out else scenarios.CHECKPOINT_DIR / f"{sc.name}_{args.arch}.pt"
    out.parent.mkdir(parents=True, exist_ok=True)
    print(f"training {args.arch} on {sc.name}: {n} samples, L={sc.seq_len}, {cfg}", flush=True)
    history = []
    t0 = time.time()
    for epoch in range(args.epochs):
        if qat_prec is not None:          # scales of the model as it is now; BatchNorms stay frozen
            model.eval()
            scales = qat.calibrate_scales(model, x_cal, qat_prec)
            model.train()
            qat.freeze_norms(model)
        else:
            model.train()
        order = rng.permutation(n)
        seen = hits = 0
        loss_sum = 0.0
        bar = tqdm(range(0, n, args.batch), desc=f"epoch {epoch + 1}/{args.epochs}", mininterval=10, file=sys.stdout)
        for i in bar:
            idx = order[i:i + args.batch]
            xb = x_train[idx]
            if args.augment:
                xb = shift_images(xb, args.augment, rng)
            if perm is not None:
                xb = xb[:, perm]
            xb = torch.from_numpy(np.ascontiguousarray(xb))[..., None]
            yb = torch.from_numpy(y_train[idx])
            loss, logits = loss_of(model, xb, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if masks:
                pruning.apply(model, masks)
            sched.step()
            seen += len(idx)
            hits += int((logits.argmax(-1) == yb).sum())
            loss_sum += loss.item() * len(idx)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{hits / seen:.3f}", refresh=False)
        history.append(dict(epoch=epoch + 1, train_loss=round(loss_sum / n, 4), train_acc=round(hits / n, 4),
                            wall_s=round(time.time() - t0, 1)))
        print(f"epoch {epoch + 1}: train loss {loss_sum / n:.4f} acc {hits / n:.4f} ({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0
    if cfg.fold_norm:                      # evaluate and ship the folded network (no norm left)
        from scenarios.torch_model import fold_norms
        model = fold_norms(model)
        cfg = model.cfg
    acc, rates = evaluate(model, x_test, y_test)
    qat_meta = None
    if qat_prec is not None:
        qat_meta = dict(precision=qat_prec.name, format=qat_prec.as_dict(), calibration_digits=len(x_cal),
                        scales="recalibrated at the start of every epoch on the first training digits",
                        batch_norm="frozen (eval mode: running statistics) during QAT", stop="last epoch",
                        float_loss_weight=args.qat_float_weight)
    print(f"test accuracy {acc:.4f} on {len(y_test)} held-out digits; firing rates {rates}", flush=True)

    torch.save(model.state_dict(), out)
    meta = dict(
        name=out.stem, scenario=sc.name, arch=args.arch, config=cfg.to_dict(),
        recipe=dict(epochs=args.epochs, seed=args.seed, batch=args.batch, optimizer="AdamW", lr=args.lr,
                    ssm_lr=args.ssm_lr, weight_decay=args.wd, warmup_epochs=args.warmup, schedule="cosine",
                    augment_shift_px=args.augment, folded_norm=args.fold_norm, surrogate="none (ReLU)" if args.arch in RELU else "arctan",
                    n_train=n, threads=args.threads, init_from=args.init_from, prune=args.prune, qat=qat_meta),
        train_wall_s=round(train_s, 1), test_accuracy=acc, n_test=len(y_test), firing_rates=rates,
        n_params=sum(p.numel() for p in model.parameters()),
        sparsity=pruning.sparsity(model) if masks else None,
        history=history, torch=torch.__version__, python=platform.python_version(),
        command="python -m scenarios.train " + " ".join(sys.argv[1:] if argv is None else argv),
    )
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    out.with_suffix(".md").write_text(cards.render(meta))
    print(f"wrote {out}, {out.with_suffix('.json')}, {out.with_suffix('.md')}", flush=True)
    return meta


if __name__ == "__main__":
    main()
