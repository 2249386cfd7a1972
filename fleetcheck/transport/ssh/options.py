"""Run-wide SSH settings, kept free of paramiko so that planning and the CLI stay light."""

from __future__ import annotations

from dataclasses import field
from pathlib import Path

from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.transport.ssh.config import SshConfig
from fleetcheck.transport.ssh.target import Resolver

HOST_KEY_MODES = ("strict", "accept-new", "off")
# What every report of a run with --host-key-checking off says, in every format.
HOST_KEYS_OFF = ("Host keys were NOT checked (--host-key-checking off): any machine answering "
                 "at a host's address could have produced its results.")


@frozen(slots=False)
class SshOptions:
    """Run-wide SSH settings (picklable, for worker processes); secrets stay out of repr."""

    host_key_checking: str = "strict"
    # Given on the command line: it decides for every host, over a host's StrictHostKeyChecking.
    host_key_checking_forced: bool = False
    known_hosts: tuple[str, ...] = ()  # --known-hosts: used instead of the user's files
    # -F: used instead of ~/.ssh/config and /etc/ssh/ssh_config ("none": no file, as for ssh)
    ssh_config: str | None = None
    connect_timeout: float | None = None  # None: the host's -o, ssh_config's, else 10s
    auth_timeout: float = 30.0
    retries: int = 2
    private_key: str | None = None
    key_passphrase: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    agent: str | None = field(default=None, repr=False)  # SSH_AUTH_SOCK
    home: str = "~"
    local_user: str = "root"
    system_config: str = "/etc/ssh/ssh_config"
    # The -F files hosts' ssh arguments name: (as written, the path it names from the
    # working directory), read with the rest so that a broken one is bad input.
    host_configs: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.host_key_checking not in HOST_KEY_MODES:
            raise InputError(f"--host-key-checking must be one of {', '.join(HOST_KEY_MODES)}, "
                             f"not {self.host_key_checking!r}")

    def resolver(self) -> Resolver:
        """Read the ssh_config files (InputError for a syntax error) into a Resolver."""
        home = Path(self.home).expanduser()
        if self.ssh_config == "none":  # `ssh -F none`: no configuration file at all
            config = SshConfig()
        elif self.ssh_config is not None:
            # named as the option it came from: `-F ~` is reported as /root, its expansion
            config = SshConfig.given(Path(self.ssh_config), include_base=home / ".ssh",
                                     label="-F: ")
        else:
            config = SshConfig.load([home / ".ssh" / "config"], include_base=home / ".ssh")
            system = SshConfig.load([Path(self.system_config)],
                                    include_base=Path(self.system_config).parent, user=False)
            config.extend(system)
        given = {}
        for written, path in self.host_configs:
            if written.lower() != "none":
                try:
                    given[written] = SshConfig.given(Path(path), include_base=home / ".ssh")
                except InputError as exc:
                    raise InputError(f"-F in a host's ssh arguments: {exc.message}", exc.path,
                                     exc.line, exc.column) from None
        return Resolver(config=config, home=home, local_user=self.local_user,
                        known_hosts=self.known_hosts, agent=self.agent,
                        private_key=self.private_key, connect_timeout=self.connect_timeout,
                        host_configs=given)
