"""Peak memory and disk of `python -m simulator run` as the sample count grows (docs/scale.md).

    python benchmarks/memory.py                  # 100, 1,000 and 10,000 digits, with and without --out
    python benchmarks/memory.py --samples 100 1000

Each case runs in its own child process; its peak resident set size is read with
resource.getrusage(RUSAGE_CHILDREN).ru_maxrss in a wrapper process that runs nothing else. With --out the
output folder's size is sampled every 0.2 s while the run lasts (peak disk) and once at the end (final).
Inputs: the shipped sMNIST Binary S4D checkpoint on the held-out digits (the default `run`), and for more
digits than the test split holds an --input .npy of test digits repeated.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CKPT = ROOT / "scenarios" / "checkpoints" / "smnist_binary_s4d.h5"
MEASURE = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)")


def folder_bytes(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, f))
            except OSError:
                pass  # renamed or deleted while walking
    return total


def input_args(n: int, work: Path) -> list[str]:
    sys.path.insert(0, str(ROOT))
    import numpy as np

    import scenarios
    x, _ = scenarios.get("smnist").load("test")
    if n <= len(x):
        return ["--samples", str(n)]
    path = work / f"smnist_x{n}.npy"
    if not path.exists():
        np.save(path, np.resize(x, (n, *x.shape[1:])))  # test digits repeated, in order
    return [str(CKPT), "--input", str(path)]


def measure(n: int, out: Path | None, work: Path) -> dict:
    cmd = [sys.executable, "-m", "simulator", "run", *input_args(n, work)]
    if out is not None:
        shutil.rmtree(out, ignore_errors=True)
        cmd += ["--out", str(out)]
    peak_disk, done = [0], threading.Event()

    def watch():
        while not done.is_set():
            if out is not None and out.exists():
                peak_disk[0] = max(peak_disk[0], folder_bytes(out))
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", MEASURE, *cmd], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    done.set()
    t.join()
    if r.returncode != 0 or not r.stdout.strip():
        raise SystemExit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    maxrss_kib, code = (int(v) for v in r.stdout.split()[-2:])
    if code != 0:
        raise SystemExit(f"run exited {code}: {' '.join(cmd)}")
    final = folder_bytes(out) if out is not None else 0
    return {"samples": n, "out": out is not None, "peak_rss_mib": maxrss_kib / 1024, "wall_s": wall,
            "peak_disk_mib": peak_disk[0] / 2**20 if out else None, "final_disk_mib": final / 2**20 if out else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--work", default=None, help="folder for inputs and outputs (default: a temporary one)")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="ssm-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs", flush=True)
    rows = []
    for n in args.samples:
        for with_out in (False, True):
            row = measure(n, work / f"out-{n}" if with_out else None, work)
            rows.append(row)
            disk = (f"{row['peak_disk_mib']:10.1f} {row['final_disk_mib']:10.1f}" if with_out else
                    f"{'-':>10} {'-':>10}")
            print(f"{n:>8} {'--out' if with_out else 'no --out':>9} {row['peak_rss_mib']:10.0f} {disk} "
                  f"{row['wall_s']:9.1f}", flush=True)
            if with_out:
                shutil.rmtree(work / f"out-{n}", ignore_errors=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print("\n| samples | --out | peak RSS (MiB) | peak disk (MiB) | final disk (MiB) | wall (s) |")
    print("|---:|---|---:|---:|---:|---:|")
    for r in rows:
        disk = (f"{r['peak_disk_mib']:.1f} | {r['final_disk_mib']:.1f}" if r["out"] else "- | -")
        print(f"| {r['samples']:,} | {'yes' if r['out'] else 'no'} | {r['peak_rss_mib']:.0f} | {disk} | "
              f"{r['wall_s']:.0f} |")


if __name__ == "__main__":
    main()
