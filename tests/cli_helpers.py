"""Calling the command line in-process, as a user would see it: exit code, stdout, stderr without progress bars."""
import contextlib
import io
import re

from simulator.cli import main

PROGRESS = re.compile(r"\d+/\d+ \[|\d+(\.\d+)?(it|sample)/s")


def message_lines(err: str) -> list[str]:
    """stderr lines that say something (tqdm redraws its bar with carriage returns)."""
    lines = []
    for line in err.replace("\r", "\n").splitlines():
        if line.strip() and not PROGRESS.search(line):
            lines.append(line)
    return lines


def call(*argv):
    """(exit code, stdout, message lines on stderr) of `python -m simulator ARGV`, run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as e:  # argparse: usage errors and --help
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    return code, out.getvalue(), message_lines(err.getvalue())


def assert_one_line_error(result, *needles):
    code, _, lines = result
    assert code == 2, result
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in lines[0]
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]
