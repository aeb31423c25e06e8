"""`info`, `import` and `export-torch`: read a checkpoint, summarise it, convert it."""
from __future__ import annotations

from simulator.cli.options import add_import_options, import_options


def _load(args):
    from models.loading import load_network
    return load_network(args.checkpoint, **import_options(args.checkpoint, args))


def cmd_info(args) -> int:
    from simulator.summary import describe
    print(describe(_load(args), args.checkpoint))
    return 0


def cmd_import(args) -> int:
    from models import checkpoint
    net = _load(args)
    checkpoint.save(net, args.out)
    print(f"wrote {args.out}: {net.kind}, {net.n_layers} layers, H={net.H}, N={net.N}, disc={net.disc}, "
          f"decoder={net.decoder.mode}")
    return 0


def cmd_export_torch(args) -> int:
    from models import paper_layout, torch_io
    net = _load(args)
    torch_io.write_state_dict(paper_layout.state_dict_from_network(net, args.dtype), args.out)
    print(f"wrote {args.out} in the paper's state_dict layout")
    return 0


def register(sub) -> None:
    p = sub.add_parser("info", help="print a summary of a checkpoint")
    p.add_argument("checkpoint")
    add_import_options(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("import", help="convert a paper checkpoint (.pt/.ckpt/.safetensors) to this project's .h5")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="output .h5 path")
    add_import_options(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export-torch", help="write a checkpoint back in the paper's state_dict layout")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="output .pt or .safetensors path")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="tensor dtype (default: the dtype of the imported source)")
    add_import_options(p)
    p.set_defaults(func=cmd_export_torch)
