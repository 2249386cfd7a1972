"""The SSH transport (paramiko): OpenSSH's configuration, host keys and jump hosts, at fleet scale.

`connector.SshConnector(options)` is called once per host and returns an open `SshSession`
(the Transport contract). One connector serves a whole run: it reads ssh_config
and indexes known_hosts once, decrypts each key file once and keeps one
connection per jump host for every host behind it.
"""

from fleetcheck.transport.ssh.options import HOST_KEY_MODES, HOST_KEYS_OFF, SshOptions

__all__ = ["HOST_KEYS_OFF", "HOST_KEY_MODES", "SshOptions"]
