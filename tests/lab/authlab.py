"""A lab for comparing fleetcheck's SSH authentication with OpenSSH's `ssh`, case by case.

Real sshd hosts that authenticate differently (authorized keys, a user CA and nothing else,
MaxAuthTries 3 or 1, `AuthenticationMethods` with partial success, keyboard-interactive through
the lab's own PAM stack or without PAM, only some RSA signature algorithms, RSA/ECDSA host
keys), client keys of every type and file format (OpenSSH, PEM, PKCS#8; encrypted or not;
certificates beside them, elsewhere, expired or for someone else), and real ssh-agents
holding chosen keys. A `Case` is one host entry (its ssh_config block and inventory
variables); a `Group` is the cases one fleetcheck run checks (run-wide: SSH_AUTH_SOCK,
--private-key or ansible.cfg, the default key files in ~/.ssh). `ssh_outcome` runs the real
`ssh` for a case as Ansible would, with root's home made the run's HOME (ssh takes `~` and
`%d` from the password database, fleetcheck from $HOME) in a private mount namespace.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.lab.sshd import keygen, run
from tests.lab.sshlab import HostSpec, SshLab, running_lab

# The lab's own PAM stack for sshd: passwords from the lab's shadow file, nothing else.
PAM_SSHD = ("auth required pam_unix.so nodelay\naccount required pam_unix.so\n"
            "session required pam_permit.so\npassword required pam_deny.so\n")
PAM = {"/etc/pam.d/sshd": PAM_SSHD}

# name -> (type, bits, format, encrypted)
KEYS: dict[str, tuple[str, int | None, str | None, bool]] = {
    "ed": ("ed25519", None, None, False),
    "ecdsa256": ("ecdsa", 256, None, False),
    "ecdsa384": ("ecdsa", 384, None, False),
    "ecdsa521": ("ecdsa", 521, None, False),
    "rsa": ("rsa", 2048, None, False),
    "rsa_pem": ("rsa", 2048, "PEM", False),
    "rsa_pkcs8": ("rsa", 2048, "PKCS8", False),
    "ecdsa_pem": ("ecdsa", 256, "PEM", False),
    "ecdsa_pkcs8": ("ecdsa", 521, "PKCS8", False),
    "enc_ed": ("ed25519", None, None, True),
    "enc_rsa_pem": ("rsa", 2048, "PEM", True),
    "enc_ecdsa_pkcs8": ("ecdsa", 384, "PKCS8", True),
    "agent_ed": ("ed25519", None, None, False),  # its private file lives in agents only
    **{f"bad{i}": ("ed25519", None, None, False) for i in range(1, 8)},  # nobody's
    "cert_ed": ("ed25519", None, None, False),
    "cert_rsa": ("rsa", 2048, None, False),
    "cert_ecdsa": ("ecdsa", 384, None, False),
    "cert_wrong": ("ed25519", None, None, False),  # its certificate names another user
    "cert_expired": ("ed25519", None, None, False),
    "cert_sep": ("ed25519", None, None, False),  # its certificate is elsewhere
    "cert_plus": ("ed25519", None, None, False),  # authorized, with an expired certificate
    "cert_agent": ("ed25519", None, None, False),  # key and certificate in an agent only
}
NOT_AUTHORIZED = {f"bad{i}" for i in range(1, 8)} | {
    k for k in KEYS if k.startswith("cert_") and k != "cert_plus"}
# name -> (principals, validity) of each certificate the lab's user CA signs
CERTS = {"cert_ed": ("fcops,fcpw", "always:forever"),
         "cert_rsa": ("fcops,fcpw", "always:forever"),
         "cert_ecdsa": ("fcops,fcpw", "always:forever"),
         "cert_wrong": ("someoneelse", "always:forever"),
         "cert_expired": ("fcops,fcpw", "20200101:20200102"),
         "cert_sep": ("fcops,fcpw", "always:forever"),
         "cert_plus": ("fcops,fcpw", "20200101:20200102"),
         "cert_agent": ("fcops,fcpw", "always:forever")}
# agent -> the keys it holds, in order
AGENTS = {"empty": (), "one": ("agent_ed",), "many": (*(f"bad{i}" for i in range(1, 8)),
                                                      "agent_ed"),
          "certs": ("cert_agent",), "rsa": ("rsa",)}
PASSPHRASE = "authlab-pass-8Hw2"  # noqa: S105 - throwaway lab keys


def host_specs(material: Path) -> list[HostSpec]:
    """The lab's sshd hosts, authenticating as their names say."""
    keys = f"AuthorizedKeysFile {material}/authorized/%u"
    ca = f"TrustedUserCAKeys {material}/ca.pub"
    return [
        HostSpec("akeys", sshd_config=(keys,)),
        HostSpec("ca", sshd_config=(ca, "AuthorizedKeysFile none", "PasswordAuthentication no")),
        HostSpec("cakeys", sshd_config=(ca, keys)),
        HostSpec("tries3", sshd_config=("MaxAuthTries 3", keys)),
        # One refused request ends the connection: nothing may be spent guessing a method.
        HostSpec("tries1", sshd_config=("MaxAuthTries 1", keys)),
        HostSpec("pkpw", sshd_config=("AuthenticationMethods publickey,password", keys)),
        HostSpec("pkkbd", files=PAM, sshd_config=(
            "AuthenticationMethods publickey,keyboard-interactive", "UsePAM yes",
            "KbdInteractiveAuthentication yes", keys)),
        HostSpec("kbd", files=PAM, sshd_config=(
            "UsePAM yes", "KbdInteractiveAuthentication yes", "PasswordAuthentication no",
            "AuthorizedKeysFile none")),
        HostSpec("kbdnopam", sshd_config=("KbdInteractiveAuthentication yes",
                                          "PasswordAuthentication no", "AuthorizedKeysFile none")),
        HostSpec("pkpk", sshd_config=("AuthenticationMethods publickey,publickey", keys)),
        HostSpec("sha256", sshd_config=("PubkeyAcceptedAlgorithms rsa-sha2-256,ssh-ed25519,"
                                        "ecdsa-sha2-nistp256", keys)),
        HostSpec("rsahost", key_types=("rsa", "ecdsa"), sshd_config=(keys,)),
    ]


@dataclass(frozen=True)
class Case:
    """One inventory host: the lab host it reaches, as whom, its ssh_config block's lines,
    the key its inventory names (variable, key name) and its ansible_password."""

    name: str
    server: str
    user: str = "fcops"
    config: tuple[str, ...] = ()
    key_var: tuple[str, str] | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Group:
    """The cases of one run and what the run shares: the agent in SSH_AUTH_SOCK, the key
    given run-wide (`key_via` "cli": --private-key, "cfg": ansible.cfg private_key_file),
    and key files copied to OpenSSH's default names in ~/.ssh (key name, file name)."""

    cases: tuple[Case, ...]
    agent: str | None = None
    private_key: str | None = None
    key_via: str = "cli"
    default_keys: tuple[tuple[str, str], ...] = ()


class AuthLab:
    """The running lab: hosts, key files, the user CA and agents (sockets by name)."""

    def __init__(self, lab: SshLab, material: Path, agents: Mapping[str, str]) -> None:
        self.lab = lab
        self.material = material
        self.agents = dict(agents)

    def key(self, name: str) -> Path:
        """The private key file `name` (for agent-only keys: where it would be)."""
        return self.material / "keys" / name

    def cert(self, name: str) -> Path:
        """Where the certificate of key `name` is (`cert_sep`'s is not beside its key)."""
        if name == "cert_sep":
            return self.material / "certs" / "sep-cert.pub"
        return self.material / "keys" / f"{name}-cert.pub"

    def address(self, server: str) -> str:
        """A lab host's address."""
        return self.lab.hosts[server].address

    # -- the files of one group ---------------------------------------------------------------

    def write_config(self, group: Group, path: Path) -> Path:
        """The ssh_config both clients read with -F: a block per case, then the lab's
        known_hosts rules for every host."""
        lines = []
        for case in group.cases:
            lines += [f"Host {case.name}", f"  HostName {self.address(case.server)}",
                      *(f"  {line}" for line in case.config)]
        lines += ["Host *", f"  UserKnownHostsFile {self.lab.known_hosts}",
                  "  GlobalKnownHostsFile /dev/null", "  StrictHostKeyChecking yes",
                  "  ConnectTimeout 5"]
        path.write_text("\n".join(lines) + "\n")
        return path

    def install_defaults(self, group: Group, home: Path) -> None:
        """Copy the group's default keys into `home`/.ssh (and only those)."""
        ssh_dir = home / ".ssh"
        ssh_dir.mkdir(parents=True, exist_ok=True)
        for old in ssh_dir.glob("id_*"):
            old.unlink()
        for key, as_name in group.default_keys:
            shutil.copy(self.key(key), ssh_dir / as_name)
            (ssh_dir / as_name).chmod(0o600)
            pub = self.key(key).with_name(f"{key}.pub")
            if pub.exists():
                shutil.copy(pub, ssh_dir / f"{as_name}.pub")

    def inventory_vars(self, case: Case) -> dict[str, Any]:
        """The case's inventory variables."""
        out: dict[str, Any] = {"ansible_user": case.user}
        if case.key_var is not None:
            out[case.key_var[0]] = str(self.key(case.key_var[1]))
        if case.password is not None:
            out["ansible_password"] = case.password
        return out

    # -- OpenSSH's side -----------------------------------------------------------------------

    def ssh_outcome(self, group: Group, case: Case, config: Path, home: Path) -> str:
        """What real `ssh` makes of the case, run as Ansible runs it: 'ok', 'denied',
        'too_many' (sshd's MaxAuthTries), or 'other: <ssh's last words>'."""
        argv = ["ssh", "-F", str(config), "-o", f"User={case.user}"]
        key = case.key_var[1] if case.key_var else group.private_key
        if key is not None:
            argv += ["-o", f'IdentityFile="{self.key(key)}"']
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home)}
        if group.agent is not None:
            env["SSH_AUTH_SOCK"] = self.agents[group.agent]
        if case.password is None:
            argv += ["-o", "BatchMode=yes"]
        else:  # ssh asks the askpass program, as sshpass answers its prompt: once (sshpass
            # gives up when asked again, so Ansible makes one password attempt per method)
            argv += ["-o", "NumberOfPasswordPrompts=1"]
            env.update(SSH_ASKPASS=str(self.material / "askpass"), SSH_ASKPASS_REQUIRE="force",
                       AUTHLAB_PASSWORD=case.password, DISPLAY=":0")
        argv += [case.name, "true"]
        passwd = self._passwd(home)
        shell = f"mount --bind {passwd} /etc/passwd && exec \"$@\""
        full = self.lab.controller.exec_argv(["unshare", "-m", "--propagation", "private",
                                              "sh", "-c", shell, "sh", *argv])
        proc = subprocess.run(full, env=env, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL, start_new_session=True, check=False)
        if proc.returncode == 0:
            return "ok"
        if "Too many authentication failures" in proc.stderr:
            return "too_many"
        if "Permission denied" in proc.stderr:
            return "denied"
        if "no matching host key type found" in proc.stderr:
            return "no_host_key_type"
        last = proc.stderr.strip().splitlines()[-1:] or [f"exit {proc.returncode}"]
        return f"other: {last[0]}"

    def _passwd(self, home: Path) -> Path:
        """The machine's passwd with root's home made `home`, for ssh's `~` and %d."""
        path = home.parent / "passwd-for-ssh"
        if not path.exists():
            lines = []
            for line in Path("/etc/passwd").read_text().splitlines():
                fields = line.split(":")
                if len(fields) == 7 and fields[0] == "root":
                    fields[5] = str(home)
                lines.append(":".join(fields))
            path.write_text("\n".join(lines) + "\n")
        return path


def fleetcheck_outcome(host: Mapping[str, Any]) -> str:
    """A host of fleetcheck's JSON report in `ssh_outcome`'s words."""
    error = host["error"]
    if error is None or error["kind"] in ("become_failed", "no_tool", "parse_error"):
        return "ok"  # it logged in: what came after is not authentication's business
    if error["kind"] == "auth_failed":
        if "too many authentication failures" in error["message"].lower():
            return "too_many"
        return "denied"
    if error["kind"] == "ssh_error" and "no matching host key type" in error["message"]:
        return "no_host_key_type"
    return f"{error['kind']}: {error['message']}"


def _make_keys(material: Path) -> None:
    keys = material / "keys"
    keys.mkdir()
    for name, (kind, bits, fmt, encrypted) in KEYS.items():
        argv = ["ssh-keygen", "-q", "-t", kind, "-N", PASSPHRASE if encrypted else "", "-C", "",
                "-f", str(keys / name)]
        if bits:
            argv += ["-b", str(bits)]
        if fmt:
            argv += ["-m", fmt]
        run(argv)
    keygen(material / "ca")
    (material / "certs").mkdir()
    for name, (principals, validity) in CERTS.items():
        run(["ssh-keygen", "-q", "-s", str(material / "ca"), "-I", name, "-n", principals,
             "-V", validity, str(keys / f"{name}.pub")])
    shutil.move(keys / "cert_sep-cert.pub", material / "certs" / "sep-cert.pub")
    authorized = material / "authorized"
    authorized.mkdir()
    pubs = "".join((keys / f"{k}.pub").read_text() for k in KEYS if k not in NOT_AUTHORIZED)
    for user in ("fcops", "fcpw"):
        (authorized / user).write_text(pubs)
    askpass = material / "askpass"
    # ssh's password prompts say "password:"; a key's passphrase prompt is left unanswered.
    askpass.write_text('#!/bin/sh\ncase "$1" in\n  *assword:*) printf \'%s\\n\' '
                       '"$AUTHLAB_PASSWORD" ;;\n  *) exit 1 ;;\nesac\n')
    askpass.chmod(0o755)


@contextlib.contextmanager
def _agents(material: Path) -> Iterator[dict[str, str]]:
    """One real ssh-agent per AGENTS entry, holding its keys in order; killed on exit."""
    pids: list[int] = []
    socks: dict[str, str] = {}
    try:
        for name, keys in AGENTS.items():
            sock = material / f"agent-{name}.sock"
            out = run(["ssh-agent", "-s", "-a", str(sock)])
            found = re.search(r"SSH_AGENT_PID=(\d+);", out)
            assert found, out
            pids.append(int(found.group(1)))
            env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
            for key in keys:
                subprocess.run(["ssh-add", "-q", str(material / "keys" / key)], env=env,
                               check=True, capture_output=True, stdin=subprocess.DEVNULL)
            socks[name] = str(sock)
        for key in ("agent_ed", "cert_agent"):  # their private halves live in agents only
            (material / "keys" / key).unlink()
        (material / "keys" / "cert_agent-cert.pub").unlink()
        yield socks
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 15)


@contextlib.contextmanager
def running_auth_lab() -> Iterator[AuthLab]:
    """The started lab, removed (hosts, agents, files) on exit."""
    material = Path(tempfile.mkdtemp(prefix="fcauth-"))
    material.chmod(0o755)
    try:
        _make_keys(material)
        with _agents(material) as socks, running_lab(host_specs(material)) as lab:
            yield AuthLab(lab, material, socks)
    finally:
        shutil.rmtree(material, ignore_errors=True)
