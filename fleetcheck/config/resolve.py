"""Every setting's effective value and where it came from, with Ansible's precedence.

Command line > environment > config file (ansible.cfg for Ansible's settings,
fleetcheck.yml for fleetcheck's own) > default. Inventory variables (`ansible_user`,
...) still win over all of these for their host, as in Ansible: these are the values
for hosts whose inventory says nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.config import ansiblecfg, project
from fleetcheck.config.settings import BY_NAME, SETTINGS, BadValue, Kind, Setting, read_value
from fleetcheck.config.sshargs import ignored_note
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen, replace

DEFAULT = "default"


@frozen
class Resolved:
    """One setting's effective value and its origin ('default', 'env NAME', 'file:line ...')."""

    setting: Setting
    value: Any
    origin: str

    @property
    def changed(self) -> bool:
        """True when something other than the default set it."""
        return self.origin != DEFAULT


@dataclass
class Effective:
    """Every setting, the files they were read from, and what the search had to say."""

    values: dict[str, Resolved]
    ansible_cfg: str | None = None
    project_file: str | None = None
    warnings: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> Any:
        return self.values[name].value


def resolve(environ: Mapping[str, str], cwd: str,
            given: Mapping[str, tuple[Any, str]] | None = None) -> Effective:
    """The effective settings; `given` maps a setting to (value, flag) from the command line.

    A value that does not read as its setting's type is an InputError naming where it
    was set (the file and line, or the environment variable).
    """
    given = given or {}
    cfg_path, warnings = ansiblecfg.find(environ, cwd)
    cfg = ansiblecfg.read(cfg_path) if cfg_path else None
    proj_path, more = project.find(environ, cwd)
    proj = project.read(proj_path) if proj_path else None
    # Every value of fleetcheck's own file is read (and so checked), whatever overrides it.
    written = {name: _from_project(BY_NAME[name], proj, environ)
               for name in proj.values} if proj is not None else {}
    values = {s.name: _one(s, environ, cwd, given, cfg, written) for s in SETTINGS}
    notes = [ignored_note(values[name].value, f"{name} ({values[name].origin})")
             for name in ("ssh_args", "ssh_common_args", "ssh_extra_args")]
    return Effective(values, cfg_path, proj_path,
                     [*warnings, *more, *(n for n in notes if n is not None)])


def _one(setting: Setting, environ: Mapping[str, str], cwd: str,
         given: Mapping[str, tuple[Any, str]], cfg: ansiblecfg.AnsibleCfg | None,
         written: Mapping[str, Resolved]) -> Resolved:
    """The value of one setting from the highest source that sets it (`written`: the values
    fleetcheck.yml gives, already read)."""
    if setting.core is not None:  # ansible-core refuses a bad value where its own reads it
        env, ini = setting.core
        _one(replace(setting, env=env, ini=ini, core=None), environ, cwd, {}, cfg,
             {})
    if setting.name in given:
        value, flag = given[setting.name]
        return Resolved(setting, value, f"command line ({flag})")
    for name in reversed(setting.env):  # the last one set wins, as in ansible-core
        text = environ.get(name)
        if text == "" and setting.kind is Kind.INT and not setting.project:
            return Resolved(setting, setting.default, DEFAULT)  # as ansible-core: unset
        if text is not None:
            try:
                return Resolved(setting, read_value(setting, text, cwd, environ), f"env {name}")
            except BadValue as exc:
                raise InputError(f"environment variable {name}: {exc}") from None
    if cfg is not None:
        for key in reversed(setting.ini):
            found = cfg.values.get(key)
            if found is not None:
                try:
                    value = read_value(setting, found.text, os.path.dirname(found.path),
                                       environ, ini=True)
                except BadValue as exc:
                    raise found.error(str(exc)) from None
                return Resolved(setting, value, found.origin)
    return written.get(setting.name) or Resolved(setting, setting.default, DEFAULT)


def _from_project(setting: Setting, proj: project.Project,
                  environ: Mapping[str, str]) -> Resolved:
    """The setting's value in fleetcheck.yml; InputError at its key when it cannot be one."""
    entry = proj.values[setting.name]
    try:
        value = read_value(setting, entry.value, os.path.dirname(proj.path), environ)
    except BadValue as exc:
        raise entry.mark.error(str(exc)) from None
    if setting.kind in (Kind.PATHS, Kind.WORDS) and not value:
        raise entry.mark.error(f"{setting.name} lists nothing")
    return Resolved(setting, value, entry.origin)
