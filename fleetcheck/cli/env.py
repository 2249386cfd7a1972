"""The environment a command runs in, injected so the whole CLI can run in-process in tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class Env:
    """Streams, variables and the working directory of one CLI invocation."""

    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    cwd: Path = field(default_factory=Path.cwd)

    @property
    def stdout_isatty(self) -> bool:
        """True when stdout is an interactive terminal."""
        isatty = getattr(self.stdout, "isatty", None)
        return bool(isatty and isatty())

    @property
    def stderr_isatty(self) -> bool:
        """True when stderr is an interactive terminal."""
        isatty = getattr(self.stderr, "isatty", None)
        return bool(isatty and isatty())

    @property
    def color(self) -> bool:
        """Colour only on a terminal, never under NO_COLOR (any value) or TERM=dumb."""
        return (self.stdout_isatty and "NO_COLOR" not in self.environ
                and self.environ.get("TERM") != "dumb")

    @property
    def in_ci(self) -> bool:
        """True under a CI system (CI=true), where progress displays stay off."""
        return self.environ.get("CI", "").lower() in ("1", "true", "yes")

    def path(self, value: str) -> Path:
        """A user-given path, relative to this invocation's working directory."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.cwd / p
