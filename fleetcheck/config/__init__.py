"""Configuration: Ansible's (ansible.cfg, ANSIBLE_*) and fleetcheck's own (fleetcheck.yml).

`resolve(environ, cwd, given)` gives every setting of `settings.SETTINGS` its effective
value and origin, with Ansible's precedence (see resolve.py); docs/configuration.md.
"""

from __future__ import annotations

from fleetcheck.config.resolve import Effective, Resolved, resolve
from fleetcheck.config.settings import BY_NAME, SETTINGS, Kind, Setting

__all__ = ["BY_NAME", "SETTINGS", "Effective", "Kind", "Resolved", "Setting", "resolve"]
