"""`pip install .` gives a working `ssm-snn` command, with the shipped checkpoints and chip files as package
data: run from an empty folder, with nothing of the source tree on the path."""
import json
import os
import shutil
import subprocess
import sys

from conftest import ROOT


def test_pip_install_then_ssm_snn_run_in_an_empty_folder(tmp_path):
    target, work, source = tmp_path / "site", tmp_path / "elsewhere", tmp_path / "source"
    work.mkdir()
    # Build from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    keep = ("models", "simulator", "energy", "scenarios", "pyproject.toml", "README.md", "requirements.txt",
            "requirements-train.txt", "requirements-test.txt")
    shutil.copytree(ROOT, source, ignore=lambda d, names: [n for n in names if n == "__pycache__" or
                                                          (d == str(ROOT) and n not in keep)])
    # --no-deps/--no-build-isolation: offline, using the dependencies and setuptools this suite runs with.
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(target), str(source)], check=True, capture_output=True)
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
    assert script.stdout.startswith("usage: ssm-snn")
    body = lambda text: text[text.index("Simulate"):]  # noqa: E731  (the usage line names the caller)
    assert body(mod.stdout) == body(script.stdout)
