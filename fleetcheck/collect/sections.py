"""The probe's stdout read back: facts and the sections fenced by its per-run nonce.

`probe` writes the script; this is the other end. A marker line carries the nonce, so
nothing a listener's process name prints can forge a section.
"""

from __future__ import annotations

from fleetcheck.frozen import frozen
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import ParseError


@frozen
class Section:
    """One fenced part of the probe's stdout: a tool's output and its exit code."""

    name: str
    body: str
    rc: int | None


@frozen
class ProbeOutput:
    """The probe's stdout, split: facts (os, release, uid, absent) and tool sections in order.

    A fact given more than once (`absent`, one line per missing table) holds every value,
    separated by spaces.
    """

    facts: dict[str, str]
    sections: tuple[Section, ...]


def _lines_kept(text: str) -> list[str]:
    """`text` cut after each newline (and only there), each line keeping its newline."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def split_output(stdout: str, nonce: str) -> ProbeOutput:
    """Split the probe's stdout into facts and sections; ParseError if the fences are broken.

    Lines before the probe's first line are the login's own (a shell rc file's echo), not
    the probe's: ignored, as Ansible ignores them; so are lines after its last (a
    ForceCommand wrapper's or a logout script's). Stray lines between its lines are an error.
    """
    marker = f"@@fleetcheck:{nonce} "
    facts: dict[str, str] = {}
    sections: list[Section] = []
    current: str | None = None
    body: list[str] = []
    started = False
    stray: tuple[int, str] | None = None  # the first line outside a section since a marker
    # Split on newlines only: str.splitlines() also breaks at U+2028, form feeds and
    # other characters a process name may hold.
    for no, line in enumerate(_lines_kept(stdout), 1):
        if not line.startswith(marker):
            if current is not None:
                body.append(line)
            elif line.strip() and started and stray is None:
                stray = (no, line)
            # Before the probe's first line: what the login printed before it ran (a
            # .bashrc's echo), kept in the command's record, no part of the probe's output;
            # after its last (when no marker follows): what ran after it, kept there too.
            continue
        if stray is not None:  # a marker follows: the stray line came from within the probe
            raise ParseError("unexpected probe output outside any section", *stray)
        started = True
        words = line[len(marker):].split(maxsplit=2)
        verb = words[0] if words else ""
        if verb == "begin" and current is None and len(words) >= 2:
            current, body = words[1], []
        elif verb == "end" and current is not None and len(words) >= 2 and words[1] == current:
            rc_text = words[2].strip() if len(words) > 2 else ""
            sections.append(Section(current, "".join(body),
                                    int(rc_text) if is_number(rc_text.lstrip("-")) else None))
            current = None
        elif current is None and verb:
            value = " ".join(words[1:]).strip() if len(words) > 1 else ""
            facts[verb] = f"{facts[verb]} {value}" if verb in facts else value
        else:
            raise ParseError("malformed probe marker", no, line)
    if current is not None:
        raise ParseError(f"probe output ended inside section {current!r} (cut short?)")
    return ProbeOutput(facts, tuple(sections))
