"""Real OpenSSH keys, agents and signatures for the evidence tests (ssh-keygen, ssh-agent)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.lab.prereq import require

KEYGEN_TYPES = {"ed25519": ["-t", "ed25519"], "ecdsa": ["-t", "ecdsa", "-b", "256"],
                "ecdsa384": ["-t", "ecdsa", "-b", "384"], "rsa": ["-t", "rsa", "-b", "2048"]}


def need(*tools: str) -> None:
    """Skip locally, fail under CI, when an OpenSSH tool is missing."""
    for tool in tools:
        require(shutil.which(tool) is not None, f"{tool} (OpenSSH client)")


def keygen(directory: Path, name: str, kind: str = "ed25519", comment: str = "",
           passphrase: str = "") -> Path:
    """A new key pair made by ssh-keygen; the private key's path (the public one is .pub)."""
    need("ssh-keygen")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    subprocess.run(["ssh-keygen", "-q", *KEYGEN_TYPES[kind], "-N", passphrase, "-C",
                    comment or name, "-f", str(path)], check=True, capture_output=True)
    return path


def allowed_line(principals: str, key: Path, options: str = "") -> str:
    """An allowed_signers line for `key`'s public half."""
    kind, blob = Path(f"{key}.pub").read_text().split()[:2]
    return " ".join(p for p in (principals, options, kind, blob) if p)


def keygen_sign(key: Path, path: Path) -> Path:
    """`ssh-keygen -Y sign -f KEY -n fleetcheck FILE`: writes FILE.sig."""
    sig = Path(f"{path}.sig")
    sig.unlink(missing_ok=True)
    subprocess.run(["ssh-keygen", "-Y", "sign", "-f", str(key), "-n", "fleetcheck", str(path)],
                   check=True, capture_output=True)
    return sig


def keygen_verify(allowed: Path, identity: str, sig: Path, data: bytes,
                  ) -> subprocess.CompletedProcess[str]:
    """`ssh-keygen -Y verify -f ALLOWED -I ID -n fleetcheck -s SIG < DATA`."""
    return subprocess.run(["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", identity,
                           "-n", "fleetcheck", "-s", str(sig)], input=data.decode(),
                          capture_output=True, text=True, check=False)


def fingerprint(key: Path) -> str:
    """'SHA256:…' of a key, as ssh-keygen -l prints it."""
    out = subprocess.run(["ssh-keygen", "-lf", f"{key}.pub"], capture_output=True, text=True,
                         check=True).stdout
    match = re.search(r"SHA256:\S+", out)
    assert match, out
    return match.group()


@contextlib.contextmanager
def agent(*keys: Path, passphrase: str = "") -> Iterator[str]:
    """A real ssh-agent holding `keys` (added with `passphrase` through SSH_ASKPASS); yields
    its socket, killed afterwards."""
    need("ssh-agent", "ssh-add")
    out = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True,
                         check=True).stdout
    sock = re.search(r"SSH_AUTH_SOCK=([^;]+);", out)
    pid = re.search(r"SSH_AGENT_PID=(\d+);", out)
    assert sock and pid, out
    env = {**os.environ, "SSH_AUTH_SOCK": sock.group(1)}
    if passphrase:
        askpass = keys[0].parent / "askpass.sh"
        askpass.write_text(f"#!/bin/sh\nprintf '%s\\n' '{passphrase}'\n")
        askpass.chmod(0o700)
        env.update(SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
    try:
        for key in keys:
            subprocess.run(["ssh-add", "-q", str(key)], env=env, check=True,
                           capture_output=True, stdin=subprocess.DEVNULL)
        yield sock.group(1)
    finally:
        os.kill(int(pid.group(1)), signal.SIGTERM)
