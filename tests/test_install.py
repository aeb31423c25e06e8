"""`pip install .` gives a working `ssm-snn` command, with the shipped checkpoints and chip files as package
data: run from an empty folder, with nothing of the source tree on the path."""
import json
import os
import subprocess
import sys

from conftest import ROOT


def test_pip_install_then_ssm_snn_run_in_an_empty_folder(tmp_path):
    target, work = tmp_path / "site", tmp_path / "elsewhere"
    work.mkdir()
    # --no-deps/--no-build-isolation: offline, using the dependencies and setuptools this suite runs with.
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(ROOT)], check=True, capture_output=True)
    installed = {p.name for p in (target / "scenarios" / "checkpoints").iterdir()}
    assert {"smnist_binary_s4d.h5", "smnist_binary_s4d.json", "smnist_gsu.pt"} <= installed
    assert (target / "energy" / "chips" / "loihi2.toml").is_file()

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    command = [str(target / "bin" / "ssm-snn")]
    out = subprocess.run(command + ["run", "--samples", "3", "--out", "res"], cwd=work, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    summary = json.loads((work / "res" / "summary.json").read_text())
    assert summary["samples"] == 3 and str(target) in summary["checkpoint"]   # the installed copy ran
    assert "accuracy" in out.stdout

    energy = subprocess.run(command + ["energy", "--samples", "1", "--chips", "loihi2", "--out", "e"], cwd=work,
                            env=env, capture_output=True, text=True)
    assert energy.returncode == 0, energy.stderr
    assert (work / "e" / "energy.json").is_file()

    # The same program as `python -m simulator`: the same help text.
    mod = subprocess.run([sys.executable, "-m", "simulator", "--help"], cwd=work, env=env, capture_output=True,
                         text=True)
    script = subprocess.run(command + ["--help"], cwd=work, env=env, capture_output=True, text=True)
    assert mod.returncode == script.returncode == 0
    assert mod.stdout.split("\n", 1)[1] == script.stdout.split("\n", 1)[1]
