"""`fleetcheck worker`: a Celery worker that runs the shards of `scan --engine celery`."""

from __future__ import annotations

import argparse
import logging

from fleetcheck.cli.argtypes import count, seconds
from fleetcheck.cli.common import (
    Command,
    Inputs,
    add_inventory_arguments,
    add_policy_arguments,
    load_inputs,
)
from fleetcheck.cli.env import Env
from fleetcheck.cli.scan_args import (
    add_connection_arguments,
    log_level,
    prompt,
    ssh_options,
    with_become_password,
)
from fleetcheck.errors import InputError
from fleetcheck.plan import PlannedHost

INSTALL_HINT = "the celery engine needs Celery: pip install 'fleetcheck[celery]'"


def add_broker_arguments(parser: argparse.ArgumentParser) -> None:
    """--broker and --result-backend, shared by `worker` and `scan --engine celery`."""
    parser.add_argument("--broker", metavar="URL",
                        help="the Celery broker, Redis (redis://HOST:6379/0); default: "
                             "$FLEETCHECK_BROKER")
    parser.add_argument("--result-backend", metavar="URL",
                        help="where shard results travel (Redis; default: the broker)")


def broker_url(args: argparse.Namespace, env: Env) -> str:
    """--broker, else $FLEETCHECK_BROKER; InputError when neither is given."""
    url: str | None = args.broker or env.environ.get("FLEETCHECK_BROKER")
    if not url:
        raise InputError("the celery engine needs --broker URL (or $FLEETCHECK_BROKER)")
    return url


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `worker`."""
    add_broker_arguments(parser)
    parser.add_argument("-Q", "--queue", action="append", metavar="QUEUE",
                        help="queue to take shards from (repeatable; default: fleetcheck). "
                             "Name it after the site whose hosts this worker reaches")
    parser.add_argument("-c", "--concurrency", type=count, default=1, metavar="N",
                        help="shards run at once, each in its own process (default: 1)")
    parser.add_argument("-n", "--name", default="fleetcheck@%h", metavar="NAME",
                        help="the worker's node name (default: fleetcheck@%%h, %%h being "
                             "this machine's host name)")
    parser.add_argument("--visibility-timeout", type=seconds, default=3600.0, metavar="SECONDS",
                        help="how long a shard whose worker vanished waits before another "
                             "worker gets it; longer than any shard takes (default: 3600)")
    add_inventory_arguments(parser, limit=False)
    add_policy_arguments(parser)
    add_connection_arguments(parser, worker=True)


def run(args: argparse.Namespace, env: Env) -> int:
    """Load inputs and settings (exit 2 on any problem), reach the broker, serve shards."""
    try:
        from celery.utils.nodenames import host_format

        from fleetcheck.engine.celery_app import (
            DEFAULT_QUEUE,
            BrokerSettings,
            make_app,
            preflight,
        )
        from fleetcheck.engine.celery_worker import ShardRunner, WorkerInputs, register
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    from fleetcheck.engine.shards import NAME_RE

    queues = args.queue or [DEFAULT_QUEUE]
    for q in queues:
        if not NAME_RE.match(q):
            raise InputError(f"--queue {q!r}: a queue name is letters, digits, '.', '_', '-'")
    for name in ("concurrency", "forks"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be at least 1")
    if args.visibility_timeout <= 0:
        raise InputError("--visibility-timeout must be positive")
    args.limit = args.today = None
    inputs = load_inputs(args, env)
    ssh = ssh_options(args, env)
    become_password = prompt(env, "BECOME password: ") if args.ask_become_pass else None

    def prepare(hosts: list[PlannedHost]) -> list[PlannedHost]:
        return with_become_password(hosts, become_password) if become_password else hosts

    settings = BrokerSettings(broker_url(args, env), args.result_backend,
                              visibility_timeout=args.visibility_timeout)
    app = make_app(settings)
    preflight(app, settings)
    name = host_format(args.name)

    def worker_inputs_of(inputs: Inputs) -> WorkerInputs:
        """The worker's inputs; `reload` reads the files again when a shard's hashes differ."""
        waivers = inputs.waivers.waivers if inputs.waivers is not None else None
        return WorkerInputs(inputs.inventory, tuple(inputs.policies), waivers, inputs.files,
                            ssh, forks=args.forks, log_level=log_level(args.verbose + 1),
                            prepare=prepare,
                            reload=lambda: worker_inputs_of(load_inputs(args, env)))

    worker_inputs = worker_inputs_of(inputs)
    register(app, ShardRunner(worker_inputs, app, name=name))
    logging.basicConfig(level=log_level(args.verbose + 1) or logging.INFO, stream=env.stderr,
                        format="%(asctime)s %(processName)s %(name)s: %(message)s")
    if args.verbose + 1 < 3:  # paramiko's own log at -vv (scan's -vvv)
        logging.getLogger("paramiko").setLevel(logging.WARNING)
    env.stderr.write(f"fleetcheck worker {name}: serving {', '.join(queues)} "
                     f"({len(worker_inputs.inventory.hosts)} inventory hosts)\n")
    env.stderr.flush()
    worker = app.Worker(hostname=name, queues=queues, concurrency=args.concurrency,
                        pool_cls="prefork", loglevel=logging.getLevelName(
                            log_level(args.verbose + 1) or logging.INFO),
                        without_mingle=True, without_gossip=True, optimization="fair")
    worker.start()
    return int(worker.exitcode or 0)


COMMAND = Command("worker", "serve the shards of `scan --engine celery` as a Celery worker",
                  add_arguments, run)
