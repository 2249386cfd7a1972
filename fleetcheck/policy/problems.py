"""Problems found in input files: every one located, each an error or a warning."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.words import did_you_mean, plural
from fleetcheck.yamlsrc import LocatedDict, Mark

T = TypeVar("T")


class Level(enum.StrEnum):
    """Errors stop `scan` (exit 2); warnings are reported and the run goes on."""

    ERROR = "error"
    WARNING = "warning"


@frozen
class Problem:
    """One problem: where, how bad, what."""

    level: Level
    message: str
    path: str | None = None
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.level.value}: {self.message}" if self.where \
            else f"{self.level.value}: {self.message}"

    @property
    def where(self) -> str:
        """'file:line:column' as far as it is known."""
        parts = [str(p) for p in (self.path, self.line, self.column) if p is not None]
        return ":".join(parts) if self.path else ""

    def sort_key(self) -> tuple[Any, ...]:
        """File order: path, line, column."""
        return (self.path or "", self.line or 0, self.column or 0, self.message)

    def to_dict(self) -> dict[str, Any]:
        """The problem as JSON."""
        return {"level": self.level.value, "path": self.path, "line": self.line,
                "column": self.column, "message": self.message}

    def as_input_error(self) -> InputError:
        """The InputError `scan` raises for this problem."""
        return InputError(self.message, self.path, self.line, self.column)


@dataclass
class Problems:
    """A collector: loaders record every problem and carry on with what is still usable."""

    items: list[Problem] = field(default_factory=list)

    def add(self, exc: InputError, level: Level = Level.ERROR) -> None:
        """Record an InputError (as raised by the YAML layer) at `level`."""
        self.items.append(Problem(level, exc.message, exc.path, exc.line, exc.column))

    def error(self, mark: Mark, message: str) -> None:
        """Record an error at `mark`."""
        self.add(mark.error(message))

    def warn(self, mark: Mark, message: str) -> None:
        """Record a warning at `mark`."""
        self.add(mark.error(message), Level.WARNING)

    @property
    def error_count(self) -> int:
        """How many errors were recorded (warnings do not count: the input still loads)."""
        return sum(1 for p in self.items if p.level is Level.ERROR)

    @property
    def errors(self) -> list[Problem]:
        """The errors, in file order."""
        return sorted((p for p in self.items if p.level is Level.ERROR), key=Problem.sort_key)

    @property
    def warnings(self) -> list[Problem]:
        """The warnings, in file order."""
        return sorted((p for p in self.items if p.level is Level.WARNING), key=Problem.sort_key)

    def sorted(self) -> list[Problem]:
        """Every problem in file order."""
        return sorted(self.items, key=Problem.sort_key)

    def raise_errors(self) -> None:
        """Raise the first error as an InputError, saying how many more there are."""
        errors = self.errors
        if not errors:
            return
        first = errors[0].as_input_error()
        if len(errors) > 1:
            first.message += (f" (and {plural(len(errors) - 1, 'more error', 'more errors')}: "
                              "run `fleetcheck validate`)")
        raise first


def strictly(collect: Callable[[Problems], T]) -> T:
    """Run a collecting loader and raise its first error: the library's fail-fast form."""
    problems = Problems()
    result = collect(problems)
    problems.raise_errors()
    return result


def unknown_keys(data: LocatedDict, allowed: tuple[str, ...], what: str,
                 problems: Problems) -> bool:
    """Record every key of `data` not in `allowed` (with a did-you-mean); True if all known."""
    ok = True
    for key in data:
        if key not in allowed:
            problems.error(data.mark_of(key),
                           f"unknown key {key!r} in {what}{did_you_mean(str(key), allowed)}")
            ok = False
    return ok
