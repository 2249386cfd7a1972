"""The evidence lab's second run: the same hosts judged by a policy with a review period and an
approval trail, written with `scan --evidence --sign`, every format (register and OSCAL too).

What the register must say (hosts as in scenario.py; six are checked, down1 is not):

| allowance | allowed in this run | why |
|---|---|---|
| `pci/ssh` (tcp 22, sshd) | 12 listeners | sshd on 0.0.0.0 and :: on six hosts |
| `pci/loopback` | 1 | redis on 127.0.0.1 on clean1 |
| `pci/webapp` (tcp 8081) | 1 | stray1's webapp; approved 400 days ago, never reviewed: overdue |
| `pci/ftp` (tcp 21) | 0: removal candidate | nothing listens on 21 |
| `pci/sshd-up` (require tcp 22) | met on 6 of 6 hosts | |
| `W-JAVA` | 1 finding waived | java on waived1 |
| `W-IDLE` | 0: removal candidate | nothing on clean1's 10050 |

The overdue review of `pci/webapp` is an `overdue_review` finding (low) on each checked host.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from fleetcheck import clock
from tests.evidence import scenario
from tests.evidence.keys import allowed_line, keygen
from tests.lab.sshlab import SshLab

FORMATS = "text,html,json,junit,csv,register,oscal"
_TODAY = clock.today()  # the date runs judge on: UTC's
RECENT, LONG_AGO = str(_TODAY - timedelta(days=30)), str(_TODAY - timedelta(days=400))
CHECKED = ("clean1", "expired1", "hostile1", "spice1", "stray1", "waived1")
SIGNER = "sre@example.net"

POLICY = {
    "name": "pci", "description": "Cardholder data environment: every allowance justified.",
    "default": "deny", "review_every": "6 months", "review_severity": "low",
    "allow": [
        {"id": "ssh", "proto": "tcp", "port": 22, "process": "sshd",
         "justification": "Administration through the bastions (CHG-100).",
         "approved_by": "security-board", "approved_on": LONG_AGO, "reviewed_on": RECENT},
        {"id": "loopback", "address": "loopback",
         "justification": "Local services, unreachable from the network.",
         "approved_by": "security-board", "approved_on": RECENT},
        {"id": "webapp", "proto": "tcp", "port": 8081,
         "justification": "Order intake web application (CHG-210).",
         "approved_by": "app-owner", "approved_on": LONG_AGO},
        {"id": "ftp", "proto": "tcp", "port": 21,
         "justification": "Batch file exchange with the acquirer (retired?).",
         "approved_by": "security-board", "approved_on": RECENT},
    ],
    "forbid": [{"id": "spice", "service": "spice", "severity": "critical"}],
    "require": [{"id": "sshd-up", "proto": "tcp", "port": 22, "reviewed_on": RECENT,
                 "justification": "Hosts must stay manageable."}],
}
# (type, id, allowed_in_run, requirement_met_on, removal_candidate, review_overdue)
REGISTER = [
    ("allow", "pci/ssh", "12", "", "no", "no"),
    ("allow", "pci/loopback", "1", "", "no", "no"),
    ("allow", "pci/webapp", "1", "", "no", "yes"),
    ("allow", "pci/ftp", "0", "", "yes", "no"),
    ("require", "pci/sshd-up", "", "6", "", "no"),
    ("waiver", "W-JAVA", "1", "", "no", ""),
    ("waiver", "W-MDNS", "0", "", "no", ""),  # expired, would have covered mdnsd: renew it
    ("waiver", "W-IDLE", "0", "", "yes", ""),
]


@dataclass(frozen=True)
class ReviewRun:
    """The second scan: exit code, streams, report files by extension, bundle and keys."""

    code: int
    out: str
    err: str
    workdir: Path
    files: dict[str, Path]  # 'json', 'register.csv', 'oscal.json', ... -> report file
    bundle: Path
    key: Path  # the signing key (private; .pub beside it)
    allowed: Path  # an allowed_signers file naming it

    def run(self) -> dict[str, Any]:
        """The run's JSON report, parsed."""
        import json

        data: dict[str, Any] = json.loads(self.files["json"].read_text("utf-8"))
        return data


def scan(lab: SshLab, workdir: Path, first: Path) -> ReviewRun:
    """`fleetcheck scan -p pci.yml --evidence evidence.zip --sign KEY`, the user's files of the
    first run (`first`: its workdir) reused."""
    env = scenario._env(first)
    (workdir / "pci.yml").write_text(yaml.safe_dump(POLICY, sort_keys=False))
    key = keygen(workdir / "keys", "sre", comment=SIGNER)
    allowed = workdir / "allowed_signers"
    allowed.write_text(allowed_line(SIGNER, key, 'namespaces="fleetcheck"') + "\n")
    argv = ["scan", "-i", str(first / "inventory.yml"), "-p", "pci.yml", "-w",
            str(first / "waivers.yml"), "--become", "--connect-timeout", "3", "--format",
            FORMATS, "-o", "reports", "--evidence", "evidence.zip", "--sign", str(key)]
    proc = scenario.fleetcheck(argv, workdir, env, lab.controller)
    files = {p.name.split(".", 1)[1]: p
             for p in sorted((workdir / "reports").glob("fleetcheck-2*"))}
    return ReviewRun(proc.returncode, proc.stdout, proc.stderr, workdir, files,
                     workdir / "evidence.zip", key, allowed)
