"""The command line: `python -m simulator <command> ...` (or `ssm-snn`). The one place that composes every
package: one module per command, each registering its options; parsed arguments become a read-only Options."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from models.errors import SimulatorError
from simulator.cli import checkpoints, energy, raster, run, validate
from simulator.cli.options import Options


class OneLineParser(argparse.ArgumentParser):
    """A usage mistake is one line on stderr (exit 2) like every other error; --help shows the usage."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    prog = "ssm-snn" if Path(sys.argv[0]).name == "ssm-snn" else "python -m simulator"  # the same program
    parser = OneLineParser(prog=prog, description="Simulate trained SSM spiking networks spike by spike.")
    sub = parser.add_subparsers(dest="command", required=True)

    for command in (checkpoints, run, energy, raster, validate):
        command.register(sub)
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
        from energy import ChipFileError, CountsError, MappingError
        errors += [ChipFileError, CountsError, MappingError]
    except ImportError:
        pass
    return tuple(errors)


def main(argv: list[str] | None = None) -> int:
    parsed = build_parser().parse_args(argv)
    try:
        code = parsed.func(Options(vars(parsed)))
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
