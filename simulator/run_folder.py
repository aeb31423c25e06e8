"""The `run --out DIR` folder: one run at a time (a lock), never mixed with another run's results.

Rules (docs/reliability.md): a folder holding anything but our lock is refused unless --force (replace the
results stored there) or --resume (continue them); summary.json is written last, so its presence means the
run finished.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

from simulator.output_files import TMP_SUFFIX, OutputError, check_writable_dir

LOCK = ".simulator.lock"
PARTIAL = "results.partial"
SUMMARY = "summary.json"
OUTPUTS = (SUMMARY, "counts.json", "spikes.h5", "results.h5")  # the order --force removes them: summary first


class RunFolder:
    def __init__(self, path, *, force: bool = False, resume: bool = False):
        self.path = check_writable_dir(path)
        self._lock_fd = None
        self._lock_fd = self._lock()
        try:
            self._check(path, force, resume)
        except BaseException:
            self.release()
            raise

    def _check(self, path, force: bool, resume: bool) -> None:
        ours_unfinished = {name + TMP_SUFFIX for name in OUTPUTS}  # a killed run's, never complete
        held = sorted(p.name for p in self.path.iterdir() if p.name != LOCK and p.name not in ours_unfinished)
        if held and not (force or resume):
            shown = ", ".join(held[:4]) + (", ..." if len(held) > 4 else "")
            raise OutputError(f"--out {path}: expected an empty or new folder, found {shown}; pass --resume to "
                              "continue the run stored there, --force to replace its results, or another --out")
        for name in ours_unfinished:
            (self.path / name).unlink(missing_ok=True)
        if force:
            self._clear()

    def _lock(self) -> int:
        """flock on a file in the folder: released by the kernel when this process ends, however it ends."""
        path = self.path / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise OutputError(f"--out {self.path}: another run (pid {holder}) is writing to this folder; wait for "
                              "it to finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        return fd

    def release(self) -> None:
        """Unlock (the kernel also does when the process ends, however it ends)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()

    def _clear(self) -> None:
        for name in OUTPUTS:
            (self.path / name).unlink(missing_ok=True)
        shutil.rmtree(self.path / PARTIAL, ignore_errors=True)

    @property
    def partial(self) -> Path:
        return self.path / PARTIAL

    def finished_summary(self) -> dict | None:
        """The stored summary when a run finished here (summary.json is written last), else None."""
        path = self.path / SUMMARY
        if not path.is_file():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise OutputError(f"{path}: expected the finished run's summary (JSON), found an unreadable file "
                              f"({e}); pass --force to compute the run again") from None

    def drop_partial(self) -> None:
        """After summary.json is written: the shards are merged into the final files."""
        shutil.rmtree(self.partial, ignore_errors=True)
