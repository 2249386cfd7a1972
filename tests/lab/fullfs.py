"""A real, tiny file system with no space left: for tests of what a full disk costs."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.lab.prereq import require


@contextlib.contextmanager
def full_tmpfs(path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs mounted at `path` (made here), filled up to the last block."""
    require(os.geteuid() == 0, "root (to mount a tmpfs)")
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)], check=True)
    try:
        subprocess.run(["dd", "if=/dev/zero", f"of={path / 'filler'}", "bs=4k"],
                       capture_output=True, check=False)
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)
