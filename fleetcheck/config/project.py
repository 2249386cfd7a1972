"""fleetcheck's own project file, `fleetcheck.yml`, found as ansible.cfg is found.

The first of `$FLEETCHECK_CONFIG`, `./fleetcheck.yml` (skipped, with a warning, when
the working directory is world-writable: anyone could plant one there) and
`$XDG_CONFIG_HOME/fleetcheck/fleetcheck.yml` (`~/.config/...`) that exists is read.
It is a YAML mapping of fleetcheck's own settings; an unknown key is a located error
with a did-you-mean, and so is a value of the wrong type. A path in it is relative to
the file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.config.settings import BY_NAME, SETTINGS
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.words import did_you_mean
from fleetcheck.yamlsrc import LocatedDict, Mark, load_file

FILE_NAME = "fleetcheck.yml"


@frozen
class ProjectValue:
    """One value of the project file and where it was written."""

    value: Any
    mark: Mark

    @property
    def origin(self) -> str:
        """'fleetcheck.yml:3:11'."""
        return f"{self.mark.path}:{self.mark.line}:{self.mark.column}"


@dataclass
class Project:
    """The project file in use and its values, by setting name."""

    path: str
    values: dict[str, ProjectValue] = field(default_factory=dict)


def find(environ: Mapping[str, str], cwd: str) -> tuple[str | None, list[str]]:
    """The project file to read (None: none), and warnings about the search."""
    named = environ.get("FLEETCHECK_CONFIG")
    if named:
        path = os.path.normpath(os.path.join(cwd, os.path.expanduser(named)))
        if not os.path.isfile(path):
            raise InputError("FLEETCHECK_CONFIG names no file", path)
        return path, []
    warnings = []
    here = os.path.join(cwd, FILE_NAME)
    if os.path.exists(here):  # as ansible.cfg: a directory by the name is found, and refused
        try:
            public = bool(os.stat(cwd).st_mode & stat.S_IWOTH)
        except OSError:
            public = True
        if not public:
            return here, []
        warnings.append(f"fleetcheck is being run in a world writable directory ({cwd}), "
                        f"ignoring its {FILE_NAME}")
    home = environ.get("HOME") or os.path.expanduser("~")
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    user = os.path.join(base, "fleetcheck", FILE_NAME)
    return (user if os.path.exists(user) else None), warnings


def read(path: str) -> Project:
    """The settings the file holds; InputError at the key for anything it cannot hold."""
    data = load_file(path)
    project = Project(path)
    if data is None:
        return project
    if not isinstance(data, LocatedDict):
        raise InputError(f"{FILE_NAME} must be a mapping of settings", path, 1, 1)
    own = [s.name for s in SETTINGS if s.project]
    for key in data:
        setting = BY_NAME.get(key)
        if setting is None or not setting.project:
            where = data.mark_of(key)
            if setting is not None:
                raise where.error(f"{key!r} is an Ansible setting: set it in ansible.cfg or "
                                  f"{setting.env[0]}, where Ansible reads it too")
            raise where.error(f"unknown key {key!r} in {FILE_NAME}"
                              f"{did_you_mean(str(key), own)}")
        if data[key] is None:
            raise data.value_mark(key).error(f"{key!r} has no value (give it one, or remove "
                                             "the key)")
        project.values[setting.name] = ProjectValue(data[key], data.value_mark(key))
    return project
