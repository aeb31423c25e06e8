"""A truthful interface: help says what happens, every parsed option works, the README's example runs."""
import argparse
import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT, make_net

from models import checkpoint
from simulator.cli import build_parser

COMMANDS = ("run", "energy", "raster", "validate", "info", "import", "export-torch")


def subparsers():
    parser = build_parser()
    choices = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    return {name: choices[name] for name in COMMANDS}


def test_every_stated_default_is_the_real_default():
    for name, p in subparsers().items():
        for action in p._actions:
            stated = re.search(r"default:? ([\w.-]+)", action.help or "")
            if stated is None or action.default is None:
                continue
            assert stated.group(1) == str(action.default), (name, action.dest, action.help, action.default)


@pytest.mark.parametrize("command,samples", [("run", "all"), ("energy", "32"), ("validate", "10")])
def test_samples_help_states_each_commands_own_default(command, samples):
    action = next(a for a in subparsers()[command]._actions if a.dest == "samples")
    assert f"default: {samples}" in action.help
    assert action.default == (None if samples == "all" else int(samples))


@pytest.mark.parametrize("command,refused", [
    ("energy", ["--resume"]),
    ("validate", ["--dtype", "float32"]), ("validate", ["--cluster", "local:2"]), ("validate", ["--resume"]),
    ("raster", ["--cluster", "local:2"]), ("raster", ["--resume"]), ("raster", ["--batch-size", "4"]),
    ("raster", ["--samples", "4"]),
])
def test_options_a_command_cannot_honour_are_not_parsed(command, refused, capsys):
    extra = ["--out", "x.png"] if command == "raster" else []
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([command, *extra, *refused])
    assert e.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err


@pytest.fixture(scope="module")
def h5(tmp_path_factory):
    path = tmp_path_factory.mktemp("ck") / "m.h5"
    checkpoint.save(make_net(kind="binary_s4d", H=8, N=4)[0], path)
    return path


@pytest.mark.parametrize("flag", [["--kind", "s4d"], ["--disc", "zoh"], ["--decoder", "last"]])
@pytest.mark.parametrize("command", ["info", "run"])
def test_import_options_with_an_h5_are_refused_not_ignored(h5, flag, command):
    data = ["--scenario", "digits", "--samples", "1"] if command == "run" else []
    r = subprocess.run([sys.executable, "-m", "simulator", command, str(h5), *flag, *data],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and flag[0] in r.stderr and "records its own" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_energy_runs_on_a_dask_cluster(h5, tmp_path):
    r = subprocess.run([sys.executable, "-m", "simulator", "energy", str(h5), "--scenario", "digits", "--samples",
                        "3", "--batch-size", "2", "--cluster", "local:1", "--chips", "loihi", "--out",
                        str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "energy.json").is_file()


def test_readme_python_example_runs_as_written(tmp_path, monkeypatch):
    code = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(code) == 1
    os.symlink(ROOT / "scenarios", tmp_path / "scenarios")   # "from the repository root", writing nowhere there
    monkeypatch.chdir(tmp_path)
    exec(compile(code[0], "README.md", "exec"), {})
    assert (tmp_path / "raster.png").stat().st_size > 10_000
    assert (tmp_path / "energy-report" / "energy.html").is_file()
