"""Where and how to connect to one host: inventory settings over ssh_config, as OpenSSH does.

Inventory values (ansible_port, ansible_user, ansible_ssh_private_key_file,
ansible_ssh_common_args) play the part of ssh's command line: they win over
the config files, which fill in the rest (HostName, User, Port, IdentityFile,
ProxyJump, ProxyCommand, HostKeyAlias, UserKnownHostsFile, ...).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from pathlib import Path

from fleetcheck.errors import ErrorKind, HostFailure, InputError
from fleetcheck.frozen import frozen, replace
from fleetcheck.transport.ssh.cmdline import config_file, parse_jump, parse_ssh_args
from fleetcheck.transport.ssh.config import SshConfig
from fleetcheck.transport.ssh.config_syntax import parse_port, parse_time
from fleetcheck.transport.ssh.known_hosts import DEFAULT_PORT, host_port_name
from fleetcheck.transport.ssh.names import check_host_name, check_port, check_user

DEFAULT_IDENTITIES = ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk")
# The %-tokens ssh expands in ProxyCommand (sshconnect.c); paths take all of `_tokens`.
_PROXY_TOKENS = frozenset("hknpr")
MAX_HOPS = 8
# StrictHostKeyChecking as fleetcheck's host key modes: `ask` cannot ask in a batch run, so
# it refuses an unknown key as `ssh -o BatchMode=yes` does.
_STRICTNESS = {"yes": "strict", "true": "strict", "ask": "strict", "accept-new": "accept-new",
               "no": "off", "false": "off", "off": "off"}


@frozen
class Target:
    """A fully resolved SSH destination; `via` is the jump host it is reached through."""

    alias: str  # the name as given (inventory address), which Host blocks matched
    hostname: str  # where the TCP connection goes
    port: int
    user: str
    identity_files: tuple[str, ...]
    identities_only: bool = False
    named_identities: tuple[str, ...] = ()  # named by the inventory/CLI: must exist
    default_identities: bool = False  # no IdentityFile anywhere: OpenSSH's defaults
    via: Target | None = None
    proxy_command: str | None = None
    host_key_alias: str | None = None
    known_hosts_files: tuple[str, ...] = ()
    user_known_hosts: str | None = None  # where accept-new appends
    hash_known_hosts: bool = False
    connect_timeout: float | None = None
    agent: str | None = field(default=None, repr=False)
    pubkey_auth: bool = True
    password_auth: bool = True
    strict_host_key_checking: str | None = None  # its ssh arguments' or ssh_config's, lower-cased
    kbd_auth: bool = True  # KbdInteractiveAuthentication: the password answers its prompts
    certificate_files: tuple[str, ...] = ()
    pubkey_algorithms: str | None = None  # PubkeyAcceptedAlgorithms as written
    host_key_algorithms: str | None = None  # HostKeyAlgorithms as written

    def host_key_mode(self, run_mode: str, forced: bool) -> str:
        """The host key mode for this host: the run's when it is `off` or was given on the
        command line (`forced`), else the host's own StrictHostKeyChecking where it has one
        (as ssh under Ansible's host_key_checking=True), else the run's."""
        if run_mode == "off" or forced or self.strict_host_key_checking is None:
            return run_mode
        return _STRICTNESS[self.strict_host_key_checking]

    @property
    def known_hosts_name(self) -> str:
        """The name this host's keys are filed under in known_hosts: HostKeyAlias as it is
        (ssh adds no port to an alias), else 'host' or '[host]:port'."""
        return self.host_key_alias or host_port_name(self.hostname, self.port)

    @property
    def known_hosts_fallback(self) -> str | None:
        """The bare name ssh also tries for a host on another port than 22 (no alias)."""
        if self.host_key_alias or self.port == DEFAULT_PORT:
            return None
        return self.hostname.lower()

    def describe(self) -> str:
        """'user@host:port' (for messages; never carries secrets)."""
        host = f"[{self.hostname}]" if ":" in self.hostname else self.hostname
        return f"{self.user}@{host}:{self.port}"


@frozen(slots=False)
class Resolver:
    """Run-wide inputs to target resolution: parsed config, home, CLI overrides."""

    config: SshConfig
    home: Path
    local_user: str
    known_hosts: tuple[str, ...] = ()  # --known-hosts: replaces the user's files
    agent: str | None = field(default=None, repr=False)  # SSH_AUTH_SOCK
    private_key: str | None = None  # --private-key, where the inventory names none
    connect_timeout: float | None = None  # --connect-timeout, when given
    # The files hosts' ssh arguments name with -F (as written), read before any host is
    # contacted; one a host names that is not here (a worker's own hosts) is read on use.
    host_configs: dict[str, SshConfig] = field(default_factory=dict, compare=False)

    def config_for(self, written: str | None) -> SshConfig:
        """The ssh_config a host reads: the run's, or the file its ssh arguments' `-F` names
        (a host failure, `inventory`, when that cannot be read: ssh would not start)."""
        if written is None:
            return self.config
        if written.lower() == "none":
            return SshConfig()
        if written not in self.host_configs:
            try:
                self.host_configs[written] = SshConfig.given(Path(written),
                                                             include_base=self.home / ".ssh")
            except InputError as exc:
                raise HostFailure(ErrorKind.INVENTORY, f"-F in its ssh arguments: {exc}") from None
        return self.host_configs[written]

    def resolve(self, address: str, *, port: int | None = None, user: str | None = None,
                key_file: str | None = None, ssh_args: Sequence[str] = (), lead: int = 0,
                connect_timeout: float | None = None) -> Target:
        """The Target for an inventory host (its address, port, user, key, extra ssh args,
        and its own connection timeout: ansible_ssh_timeout, over -T and ssh_config's).

        As on ansible-core's ssh command line, the first `lead` ssh args (Ansible's
        ssh_args) come before the port and user, and the rest (ansible_ssh_common_args and
        _extra_args) after them: ssh keeps the first value, so `ansible_port` wins over a
        `-p` in ansible_ssh_common_args."""
        preset: dict[str, str | list[str]] = parse_ssh_args(ssh_args[:lead])
        config = self.config_for(config_file(ssh_args))
        if port is not None:
            preset.setdefault("port", str(port))
        if user:
            preset.setdefault("user", user)
        for option, value in parse_ssh_args(ssh_args[lead:]).items():
            if option == "identityfile":
                preset[option] = [*_as_list(preset.get(option)), *_as_list(value)]
            else:
                preset.setdefault(option, value)
        key = key_file or self.private_key
        if key:
            preset["identityfile"] = [key, *_as_list(preset.get("identityfile"))]
        target = self._resolve(address, preset, 0, config)
        if connect_timeout is not None:
            target = replace(target, connect_timeout=connect_timeout)
        named = len(_as_list(preset.get("identityfile")))  # they come first, as with ssh -i
        # `IdentityFile none` names no file (ssh skips it): nothing to check exists
        files = tuple(f for f in target.identity_files[:named] if f.lower() != "none")
        return replace(target, named_identities=files) if files else target

    def _resolve(self, alias: str, preset: Mapping[str, str | list[str]], depth: int,
                 config: SshConfig) -> Target:
        if depth > MAX_HOPS:
            raise HostFailure(ErrorKind.SSH_ERROR,
                              f"more than {MAX_HOPS} ProxyJump hops (a loop in ssh_config?)")
        # Every value a %-token stands for is checked before anything is expanded.
        check_host_name(alias, "jump host" if depth else "address")
        # HostName's %h is expanded, and the name lower-cased, by the lookup (as by ssh).
        opts = config.lookup(alias, preset=preset, local_user=self.local_user)
        hostname = _str(opts, "hostname") or alias
        if hostname != alias.lower():
            check_host_name(hostname, "HostName")
        raw_port = _str(opts, "port") or "22"
        port = parse_port(raw_port) or check_port(raw_port)  # ssh takes service names too
        user = check_user(_str(opts, "user") or self.local_user)
        alias_key = _str(opts, "hostkeyalias")
        if alias_key is not None:  # ssh files and looks keys up under the lower-cased alias
            alias_key = check_host_name(alias_key, "HostKeyAlias").lower()
        tokens = self._tokens(alias, hostname, port, user, alias_key)
        ids = [self._path(p, tokens) for p in _as_list(opts.get("identityfile"))]
        defaulted = not ids
        if defaulted:
            ids = [str(self.home / ".ssh" / name) for name in DEFAULT_IDENTITIES]
        if self.known_hosts:
            user_files = list(self.known_hosts)
        else:
            user_files = [self._path(p, tokens) for p in _files(
                opts.get("userknownhostsfile"), "~/.ssh/known_hosts ~/.ssh/known_hosts2")]
        global_files = _files(opts.get("globalknownhostsfile"),
                              "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2")
        via, proxy_command = self._proxy(opts, tokens, depth, config)
        timeout = self.connect_timeout
        configured = _str(opts, "connecttimeout")
        if timeout is None and configured and configured != "none":
            # ssh waits forever with 0; fleetcheck keeps its default instead.
            timeout = float(parse_time(configured) or 0) or None
        return Target(
            alias=alias, hostname=hostname, port=port, user=user, identity_files=tuple(ids),
            identities_only=_yes(opts, "identitiesonly"), default_identities=defaulted,
            via=via, proxy_command=proxy_command,
            host_key_alias=alias_key,
            known_hosts_files=tuple(user_files + [p for p in global_files if p != "/dev/null"]),
            user_known_hosts=next((p for p in user_files if p != "/dev/null"), None),
            hash_known_hosts=_yes(opts, "hashknownhosts"), connect_timeout=timeout,
            agent=self._agent(opts, tokens),
            pubkey_auth=(_str(opts, "pubkeyauthentication") or "yes").lower() not in _NO,
            password_auth=(_str(opts, "passwordauthentication") or "yes").lower() not in _NO,
            strict_host_key_checking=_strictness(_str(opts, "stricthostkeychecking")),
            kbd_auth=(_str(opts, "kbdinteractiveauthentication") or "yes").lower() not in _NO,
            certificate_files=tuple(self._path(p, tokens)
                                    for p in _as_list(opts.get("certificatefile"))),
            pubkey_algorithms=_str(opts, "pubkeyacceptedalgorithms"),
            host_key_algorithms=_str(opts, "hostkeyalgorithms"),
        )

    def _proxy(self, opts: Mapping[str, str | list[str]], tokens: Mapping[str, str],
               depth: int, config: SshConfig) -> tuple[Target | None, str | None]:
        """The jump host (ProxyJump, last hop) or the ProxyCommand; whichever came first.
        Jump hosts read the same ssh_config (ssh passes its -F on to them)."""
        jump = _str(opts, "proxyjump")
        command = _str(opts, "proxycommand")
        if jump and jump.lower() != "none":
            # ssh refuses a last hop that is the destination itself, as written.
            last_user, last_host, last_port = parse_jump(jump.split(",")[-1])
            if (last_host, str(last_port or 22), last_user or tokens["r"]) == \
                    (tokens["h"], tokens["p"], tokens["r"]):
                raise HostFailure(ErrorKind.SSH_ERROR, f"ProxyJump loop via {last_host}")
            via: Target | None = None
            for hop in jump.split(","):
                user, host, port = parse_jump(hop)
                preset: dict[str, str | list[str]] = {}
                if user:
                    preset["user"] = user
                if port:
                    preset["port"] = str(port)
                if via is not None:  # an explicit chain overrides the hop's own ProxyJump
                    preset["proxyjump"] = "none"
                hop_target = self._resolve(host, preset, depth + 1, config)
                if via is not None:
                    hop_target = _with_via(hop_target, via)
                via = hop_target
            return via, None
        if command and command.lower() != "none":
            # Substituted as ssh does: the template's own quoting applies (values are checked).
            allowed = {k: v for k, v in tokens.items() if k in _PROXY_TOKENS}
            return None, expand_tokens(command, allowed)
        return None, None

    def _tokens(self, alias: str, hostname: str, port: int, user: str,
                alias_key: str | None) -> dict[str, str]:
        local = os.uname().nodename
        # %C is the SHA-1 of %l%h%p%r: the full local host name, as ssh hashes it.
        digest = hashlib.sha1(f"{local}{hostname}{port}{user}".encode(),
                              usedforsecurity=False).hexdigest()
        return {"h": hostname, "p": str(port), "r": user, "n": alias, "u": self.local_user,
                "d": str(self.home), "l": local, "L": local.split(".")[0], "C": digest,
                "i": str(os.getuid()), "k": alias_key or alias}

    def _path(self, value: str, tokens: Mapping[str, str]) -> str:
        """A file name as ssh expands one: `~` first, then %-tokens and ${VARIABLE}s."""
        if value.startswith("~/") or value == "~":
            value = str(self.home) + value[1:]
        return expand_tokens(value, tokens, environment=True)

    def _agent(self, opts: Mapping[str, str | list[str]], tokens: Mapping[str, str]) -> str | None:
        configured = _str(opts, "identityagent")
        if configured is None or configured == "SSH_AUTH_SOCK":
            return self.agent
        if configured.lower() == "none":
            return None
        if configured.startswith("$") and not configured.startswith("${"):
            return os.environ.get(configured[1:]) or None  # ssh: a variable naming the socket
        return self._path(configured, tokens)


def identity_exists(path: str) -> bool:
    """Whether ssh can use identity `path`: the key file, or its `.pub` alone (the agent
    holding the private half signs for it, as with IdentitiesOnly and a hardware agent)."""
    return os.path.isfile(path) or os.path.isfile(path + ".pub")


def _with_via(target: Target, via: Target) -> Target:
    return replace(target, via=via, proxy_command=None)


def expand_tokens(value: str, tokens: Mapping[str, str], *, environment: bool = False) -> str:
    """Replace %h, %p, %r, ... and %% (the values were checked: see `names`), and with
    `environment` ${VARIABLE}s; HostFailure for an unknown token or unset variable."""
    def sub(m: re.Match[str]) -> str:
        text = m.group(0)
        if text == "%%":
            return "%"
        if text.startswith("%"):
            if text[1:] not in tokens:
                raise HostFailure(ErrorKind.SSH_ERROR, f"unknown token {text} in {value!r}")
            return tokens[text[1:]]
        name = text[2:-1]
        if not name or name not in os.environ:
            raise HostFailure(ErrorKind.SSH_ERROR,
                              f"environment variable ${{{name}}} in {value!r} is not set")
        return os.environ[name]
    pattern = r"%.?|\$\{[^}]*\}" if environment else r"%.?"
    return re.sub(pattern, sub, value, flags=re.DOTALL)


def _strictness(value: str | None) -> str | None:
    """A StrictHostKeyChecking value, lower-cased; an `inventory` failure for one ssh refuses
    (ssh_config's are checked as the file is read, `-o` ones only here)."""
    if value is None or value.lower() in _STRICTNESS:
        return None if value is None else value.lower()
    raise HostFailure(ErrorKind.INVENTORY, f"StrictHostKeyChecking {value!r} is not one of "
                      f"{', '.join(_STRICTNESS)} (ssh refuses it)")


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _str(opts: Mapping[str, str | list[str]], key: str) -> str | None:
    value = opts.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _yes(opts: Mapping[str, str | list[str]], key: str) -> bool:
    return (_str(opts, key) or "").lower() in ("yes", "true")


_NO = ("no", "false")


def _files(value: str | list[str] | None, default: str) -> list[str]:
    """A known-hosts file list: the configured words ("none": no file), else `default`."""
    files = _as_list(value) or default.split()
    return [] if [f.lower() for f in files] == ["none"] else files
