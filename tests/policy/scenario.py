"""The layered scenario shared by the end-to-end and explain tests: files, sockets, findings.

Two inventory hosts in different groups reach the same namespace through the
local connection, so one set of listeners is judged by two policy stacks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import REPO
from tests.lab.netns import Sock

INVENTORY = """\
all:
  children:
    web:
      hosts:
        web1: {ansible_connection: local}
    db:
      hosts:
        db1: {ansible_connection: local}
"""
WAIVERS = """\
waivers:
  - id: WEB-8080
    hosts: web
    proto: tcp
    port: 8080
    process: gunicorn
    reason: Legacy app server exposed until the nginx migration.
    ticket: OPS-1234
    owner: alice
    approved_by: bob
    created: 2030-01-15
    expires: 2030-12-31
  - id: DB-5432
    hosts: db
    service: postgresql
    kind: wrong_bind
    reason: Replication over the public interface during the move.
    ticket: OPS-1180
    owner: carol
    approved_by: bob
    created: 2030-03-01
    expires: 2030-03-31
  - id: ALL-3000
    hosts: all
    port: 3000
    reason: Grafana until the dashboards moved.
    owner: dave
    approved_by: bob
    created: 2030-01-02
    expires: 2030-09-30
"""
PLANTED = [
    Sock("tcp", "0.0.0.0", 22, process="sshd"),
    Sock("tcp", "::", 443, process="nginx", v6only=False),
    Sock("tcp", "0.0.0.0", 8080, process="gunicorn"),
    Sock("tcp", "0.0.0.0", 5432, process="postgres"),
    Sock("tcp", "127.0.0.1", 6379, process="redis-server"),
    Sock("tcp", "0.0.0.0", 1923, process="spiced"),
]
POLICIES = ["-p", "policies/baseline.yml", "-p", "policies/web.yml", "-p", "policies/db.yml"]
EXPECTED = {
    ("web1", "forbidden", "critical", "tcp", 1923, "0.0.0.0", "baseline/spice", None),
    ("web1", "forbidden", "high", "tcp", 8080, "0.0.0.0", "web/app-exposed", "WEB-8080"),
    ("web1", "stray", "high", "tcp", 5432, "0.0.0.0", None, None),
    ("db1", "forbidden", "critical", "tcp", 1923, "0.0.0.0", "baseline/spice", None),
    ("db1", "wrong_bind", "critical", "tcp", 5432, "0.0.0.0", "db/postgres", None),
    ("db1", "stray", "high", "tcp", 443, "::", None, None),
    ("db1", "stray", "high", "tcp", 8080, "0.0.0.0", None, None),
}


def setup_dir(root: Path, inventory: str = INVENTORY) -> Path:
    """The shipped policies and the test's inventory and waivers, laid out as a user would."""
    shutil.copytree(REPO / "policies", root / "policies")
    (root / "inventory.yml").write_text(inventory)
    (root / "waivers.yml").write_text(WAIVERS)
    return root
