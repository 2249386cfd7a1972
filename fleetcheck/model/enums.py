"""The words of the result schema: severities, statuses, verdicts, finding kinds."""

from __future__ import annotations

import enum
from functools import cached_property
from typing import TypeVar

from fleetcheck.words import did_you_mean

SCHEMA = "fleetcheck.run/3"  # what fleetcheck writes
# What it reads: run/1 wrote every host's command out in full, run/2 every stderr (see
# model/commands.py).
READABLE = ("fleetcheck.run/1", "fleetcheck.run/2", SCHEMA)


E = TypeVar("E", bound=type[enum.Enum])


def quick_value(cls: E) -> E:
    """`cls` with its members' `value` read as a plain attribute after its first read."""
    # Enum's own `value` is a descriptor that runs Python code on every read (~0.3 us on
    # 3.11) and reports read these tens of thousands of times. A cached_property is a
    # non-data descriptor: it stores the value on the member, where later reads find it.
    # Set after the class is made, so that no enum machinery takes it for a member.
    found: cached_property[object] = cached_property(_own_value)
    found.__set_name__(cls, "value")
    type.__setattr__(cls, "value", found)
    return cls


def _own_value(member: enum.Enum) -> object:
    """The member's value, as enum's own `value` reads it."""
    return member._value_


@quick_value
class Severity(enum.IntEnum):
    """Finding severities, ordered so that a larger value is worse."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @cached_property
    def label(self) -> str:
        """The lower-case word users write in policies and on the command line."""
        return self.name.lower()

    @classmethod
    def parse(cls, word: str) -> Severity:
        """Return the severity named by `word` (case-insensitive); ValueError if none."""
        try:
            return cls[word.strip().upper()]
        except KeyError:
            labels = [s.label for s in cls]
            hint = did_you_mean(word.strip().lower(), labels)
            raise ValueError(f"unknown severity {word!r}{hint} (expected one of "
                             f"{', '.join(labels)})") from None


@quick_value
class Status(enum.StrEnum):
    """A host's overall outcome; only COMPLIANT means listeners were read and all allowed."""

    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"
    UNREACHABLE = "unreachable"
    ERROR = "error"


@quick_value
class Verdict(enum.StrEnum):
    """What the policies decided about one listener."""

    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"
    STRAY = "stray"
    WRONG_BIND = "wrong_bind"
    WRONG_PROCESS = "wrong_process"
    UNDETERMINED = "undetermined"
    # A container-only listener no rule decided, under a policy that lists them (`containers:
    # list`, the baseline): reported, not judged stray.
    LISTED = "listed"


@quick_value
class FindingKind(enum.StrEnum):
    """The kinds of finding a host can carry."""

    FORBIDDEN = "forbidden"
    STRAY = "stray"
    MISSING = "missing"
    WRONG_BIND = "wrong_bind"
    WRONG_PROCESS = "wrong_process"
    UNDETERMINED = "undetermined"
    OVERDUE_REVIEW = "overdue_review"  # an allowance whose periodic review is overdue


@quick_value
class Change(enum.StrEnum):
    """A finding relative to its host's previous checked run (or to a baseline run)."""

    NEW = "new"  # not open at the previous checked run (or the host was never checked)
    PERSISTING = "persisting"  # open then, open now
    REOPENED = "reopened"  # fixed earlier, back now
