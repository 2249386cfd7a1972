"""docs/policies.md's worked examples, read from the page itself: files, listeners, claims.

Nothing here is a copy of the page: the YAML files, the listener tables, the
findings, the waiver statuses, the commands and their printed output are all
extracted from the markdown, so a test built on them checks what a reader reads.

Page conventions (see the "Worked examples" section):
- `<!-- fleet -->` ... `<!-- /fleet -->`: the inventory, the one `fleetcheck scan` command,
  "exits with status N" (and any other command with its output);
- `<!-- example: NAME -->` ... `<!-- /example -->`: one example;
- a ```yaml block whose first line is `# PATH` is the file PATH;
- a table with header `proto | address | port | process | verdict | rule` lists what
  listens on the host named by the last "Listening on HOST:" line above it, with the
  verdict on each listener and the rule that decided it (empty: none did);
  `:: (dual-stack)` is an IPv6 wildcard socket that also takes IPv4;
- a table with header `host | kind | ...` lists findings (empty cells: none);
- a table with header `waiver | status | matched` lists waiver outcomes;
- a ```console block `$ fleetcheck ...` directly followed by a ```text block is a command
  and its exact output (process ids aside: they differ from run to run); one without a
  ```text block after it is a command whose result the prose and tables state;
- a lone ```text block lists lines the fleet's scan prints: on standard error when the
  paragraph before it says "standard error", its `meta.warnings` when it names those.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from tests.conftest import REPO

DOC_PATH = REPO / "docs" / "policies.md"
DOC = DOC_PATH.read_text()

# (host, kind, severity, proto, port, address, rule, waiver-if-waived)
FindingRow = tuple[str, str, str, str, int | None, str | None, str | None, str | None]


@dataclass(frozen=True)
class Listening:
    """One row of a listener table."""

    proto: str
    address: str
    port: int
    process: str
    dual_stack: bool
    verdict: str
    rule: str | None


@dataclass
class Example:
    """One `<!-- example: NAME -->` section as the page states it."""

    name: str
    files: dict[str, str] = field(default_factory=dict)
    listening: dict[str, list[Listening]] = field(default_factory=dict)
    findings: set[FindingRow] = field(default_factory=set)
    waivers: dict[str, tuple[str, int]] = field(default_factory=dict)  # id -> (status, matched)
    transcripts: list[tuple[list[str], str]] = field(default_factory=list)  # argv, output
    commands: list[list[str]] = field(default_factory=list)  # argv of the other commands
    stderr: list[str] = field(default_factory=list)  # lines the scan prints on stderr
    warnings: list[str] | None = None  # the scan's meta.warnings, when the example says


@dataclass
class Fleet:
    """The worked examples' fleet: shared files, the one scan and every example."""

    intro: Example  # the fleet section: inventory, scan, validate
    scan: list[str]
    exit_status: int
    examples: list[Example]

    def all_files(self) -> dict[str, str]:
        """Every file the page prints: the fleet's and each example's."""
        out = dict(self.intro.files)
        for ex in self.examples:
            out.update(ex.files)
        return out

    def findings(self) -> set[FindingRow]:
        """Every finding the page claims the scan reports."""
        return {row for ex in self.examples for row in ex.findings}

    def listening(self) -> dict[str, list[Listening]]:
        """Host -> what listens there, over every example."""
        return {host: rows for ex in self.examples for host, rows in ex.listening.items()}

    def waivers(self) -> dict[str, tuple[str, int]]:
        """Waiver id -> (status, matched), over every example."""
        return {k: v for ex in self.examples for k, v in ex.waivers.items()}


def tables(text: str) -> list[tuple[int, list[list[str]]]]:
    """Markdown tables as (offset, rows of cells): header first, separator row dropped."""
    out: list[tuple[int, list[list[str]]]] = []
    current: list[list[str]] = []
    start = offset = 0
    for line in [*text.splitlines(keepends=True), ""]:
        if line.startswith("|"):
            if not current:
                start = offset
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= {"-", ":"} for c in cells):
                current.append(cells)
        elif current:
            out.append((start, current))
            current = []
        offset += len(line)
    return out


def files(text: str) -> dict[str, str]:
    """```yaml blocks whose first line names their path: path -> content (without that line)."""
    found: list[tuple[str, str]] = re.findall(r"```yaml\n# (\S+)\n(.*?)```", text, re.S)
    return dict(found)


def _argv(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[0] == "fleetcheck", command
    return words[1:]


def _host_before(text: str, offset: int) -> str:
    """The host named by the last 'Listening on HOST:' line before `offset`."""
    names: list[str] = re.findall(r"^Listening on (\w+):$", text[:offset], re.M)
    assert names, f"no 'Listening on HOST:' before the table at {text[offset:offset + 40]!r}"
    return names[-1]


def _example(name: str, body: str) -> Example:
    ex = Example(name, files=files(body))
    for offset, table in tables(body):
        header, rows = table[0], table[1:]
        if header == ["proto", "address", "port", "process", "verdict", "rule"]:
            ex.listening[_host_before(body, offset)] = [
                Listening(proto, address.split()[0], int(port), process,
                          "(dual-stack)" in address, verdict, rule or None)
                for proto, address, port, process, verdict, rule in rows]
        elif header[:2] == ["host", "kind"]:
            assert header == ["host", "kind", "severity", "proto", "port", "address", "rule",
                              "waiver"], header
            for host, kind, sev, proto, port, address, rule, waiver in rows:
                ex.findings.add((host, kind, sev, proto, int(port) if port else None,
                                 address or None, rule or None, waiver or None))
        elif header == ["waiver", "status", "matched"]:
            ex.waivers = {w: (status, int(n)) for w, status, n in rows}
        else:
            raise AssertionError(f"example {name}: a table the test cannot read: {header}")
    blocks = list(re.finditer(r"```(console|text)\n(.*?)```", body, re.S))
    i = 0
    while i < len(blocks):
        kind, content = blocks[i].groups()
        if kind == "console":
            argv = _argv(content.removeprefix("$ ").strip())
            if i + 1 < len(blocks) and blocks[i + 1].group(1) == "text":
                ex.transcripts.append((argv, blocks[i + 1].group(2)))
                i += 2
            else:
                ex.commands.append(argv)
                i += 1
            continue
        lead_in = body[:blocks[i].start()].rstrip().split("\n\n")[-1]
        if "standard error" in lead_in:
            ex.stderr += content.splitlines()
        elif "`meta.warnings`" in lead_in:
            ex.warnings = content.splitlines()
        else:
            raise AssertionError(f"example {name}: a text block the test cannot read after "
                                 f"{lead_in!r}")
        i += 1
    return ex


def read_fleet(doc: str = DOC) -> Fleet:
    """The worked examples of `doc` (docs/policies.md by default)."""
    (fleet_text,) = re.findall(r"<!-- fleet -->(.*?)<!-- /fleet -->", doc, re.S)
    intro = _example("fleet", fleet_text)
    (scan,) = [c for c in intro.commands if c[0] == "scan"]
    (status,) = re.findall(r"exits with status (\d)", fleet_text)
    examples = [_example(name, body) for name, body in
                re.findall(r"<!-- example: (\S+) -->(.*?)<!-- /example -->", doc, re.S)]
    return Fleet(intro, scan, int(status), examples)
