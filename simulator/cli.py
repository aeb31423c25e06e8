"""The command line: `python -m simulator <command> ...`. The one place that composes every package."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from models.errors import SimulatorError


def _add_import_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("for paper checkpoints (.pt/.ckpt/.safetensors): what shapes cannot tell")
    g.add_argument("--disc", choices=("bilinear", "zoh"), default=None,
                   help="discretisation the model was trained with (default: bilinear, the paper code's)")
    g.add_argument("--decoder", choices=("pool", "last"), default=None,
                   help="decoder mode (default: pool, the paper code's)")
    g.add_argument("--kind", choices=("binary_s4d", "s4d", "gsu"), default=None,
                   help="layer kind; GSU is detected from its keys, Binary S4D and the S4D (GELU) baseline share "
                        "one layout: give it when no model card (X.json beside X.pt) says which")


def _load(args):
    from models.loading import load_network
    from simulator.commands import import_options
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


class OneLineParser(argparse.ArgumentParser):
    """A usage mistake is one line on stderr (exit 2) like every other error; --help shows the usage."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    prog = "ssm-snn" if Path(sys.argv[0]).name == "ssm-snn" else "python -m simulator"  # the same program
    parser = OneLineParser(prog=prog, description="Simulate trained SSM spiking networks spike by spike.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="print a summary of a checkpoint")
    p.add_argument("checkpoint")
    _add_import_options(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("import", help="convert a paper checkpoint (.pt/.ckpt/.safetensors) to this project's .h5")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="output .h5 path")
    _add_import_options(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("export-torch", help="write a checkpoint back in the paper's state_dict layout")
    p.add_argument("checkpoint")
    p.add_argument("--out", required=True, help="output .pt or .safetensors path")
    p.add_argument("--dtype", choices=("float32", "float64"), default=None,
                   help="tensor dtype (default: the dtype of the imported source)")
    _add_import_options(p)
    p.set_defaults(func=cmd_export_torch)

    from simulator import commands
    commands.register(sub, _add_import_options)
    return parser


def _user_errors() -> tuple[type, ...]:
    """Errors that mean bad input from the user (the message says what to do), never a bug."""
    errors: list[type] = [SimulatorError]
    try:
        from scenarios import ScenarioError
        errors.append(ScenarioError)
    except ImportError:
        pass
    try:
        from energy import ChipFileError, CountsError
        errors += [ChipFileError, CountsError]
    except ImportError:
        pass
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # inside the try: a closed pipe is reported here, not as an exit-time traceback
        return code
    except _user_errors() as e:
        return _fail(str(e))
    except BrokenPipeError:
        # `... | head`: the reader left. Point stdout at /dev/null so the exit flush cannot fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as e:  # the machine refused (disk full, read-only, vanished folder): not a bug
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        return _fail(f"{where}{e.strerror or e}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    """One line on stderr, exit code 2: the message names the file or option and what was wrong."""
    print("error: " + " ".join(message.split()), file=sys.stderr)
    return 2
