"""A celery worker judges its policies' reviews on the run's date (the coordinator's --today,
or its start), as one process would, not on the day the worker started. The shard is run
through the worker's own planning and engine on this machine (local connection)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fleetcheck.engine.celery_worker import ShardRunner, WorkerInputs
from fleetcheck.engine.threads import ThreadEngine
from fleetcheck.inventory import localhost_inventory
from fleetcheck.model import HostResult
from fleetcheck.policy.load import policy_from_text
from fleetcheck.policy.problems import Problems
from fleetcheck.policy.review import judge
from fleetcheck.transport.ssh.options import SshOptions

POLICY = """\
name: reviewed
default: allow
review_every: 6 months
allow:
  - id: ssh
    port: 22
    reviewed_on: 2030-01-01
"""


def _kinds(today: str) -> list[str]:
    """The finding kinds of localhost in a shard whose run judges on `today`; the worker
    itself started (and stamped its policies) on 2030-02-01, when nothing was overdue."""
    policies = tuple(judge([policy_from_text(POLICY)], dt.date(2030, 2, 1), Problems()))
    runner = ShardRunner(WorkerInputs(localhost_inventory(), policies, None, (), SshOptions()),
                         app=None, name="w@test")  # plan and job never reach the app
    message: dict[str, Any] = {"hosts": ["localhost"], "settings": {
        "become": False, "today": today, "fail_on": "low", "command_timeout": 60,
        "deadline": 180, "max_output": 16 << 20}}
    done: list[HostResult] = []
    ThreadEngine().run(runner.plan(message), runner.job(message),
                       on_done=lambda _i, r: done.append(r))
    (host,) = done
    assert host.error is None, host.error
    return [f.kind for f in host.findings]


def test_a_worker_judges_reviews_on_the_runs_date() -> None:
    assert "overdue_review" in _kinds("2031-06-01")
    assert "overdue_review" not in _kinds("2030-03-01")
