"""Lab prerequisites: missing ones skip locally but fail under CI (CI=true)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def in_ci() -> bool:
    """True when running under CI, where a missing prerequisite is a failure."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, what: str) -> None:
    """Skip (locally) or fail (in CI) when a lab prerequisite is missing."""
    if condition:
        return
    message = f"lab prerequisite missing: {what}"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def require_netns() -> None:
    """Root and iproute2's `ip`, needed to create network namespaces."""
    require(os.geteuid() == 0, "root (to create network namespaces)")
    require(shutil.which("ip") is not None, "iproute2 'ip' command")


def require_sshd_lab() -> None:
    """What an SSH lab (tests/lab/sshlab.py) needs: namespaces, OpenSSH's server and tools."""
    require_netns()
    require(Path("/usr/sbin/sshd").is_file(), "OpenSSH server (/usr/sbin/sshd)")
    for tool in ("ssh", "ssh-keygen", "unshare", "sudo", "openssl"):
        require(shutil.which(tool) is not None, tool)


def require_doas() -> None:
    """doas on the lab's hosts (the machine's binary; Debian package opendoas)."""
    require(shutil.which("doas") is not None, "doas (Debian package opendoas)")


def require_corpus(corpus: Path, minimum: int = 1) -> None:
    """Skip when the shared corpus of real outputs is absent, even under CI; fail when it
    is there with fewer than `minimum` outputs.

    Unlike the lab's prerequisites, the corpus is optional test data kept outside
    the project (DESIGN.md: tests may read it when it is present), so a checkout without
    it must still pass. Where it is present it must be whole: a corpus cut short (a
    partial copy, a moved directory) is a failure, never a skip that reads as green, and
    every file in it must parse.
    """
    if not corpus.is_dir():
        pytest.skip(f"shared corpus of real outputs not present at {corpus} (optional test data)")
    found = len(list(corpus.glob("**/*.out")))
    if found < minimum:
        pytest.fail(f"shared corpus at {corpus} holds {found} outputs, fewer than the {minimum} "
                    "its tests read: it is damaged or partly copied")


def require_celery() -> None:
    """The celery engine's tests: Redis's server and the celery extra (`.[celery]`)."""
    require(shutil.which("redis-server") is not None, "redis-server (Debian package redis-server)")
    try:
        import celery  # noqa: F401
        import redis  # noqa: F401
    except ImportError:
        require(False, "celery[redis] (pip install -e '.[celery]')")
