"""`scan --engine`: which engine checks the hosts, and the celery engine's settings."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from fleetcheck.cli.argtypes import count, seconds
from fleetcheck.cli.common import Inputs, extra_vars, host_defaults
from fleetcheck.cli.config_cmd import from_command_line
from fleetcheck.cli.env import Env
from fleetcheck.cli.scan_args import OFF_WARNING
from fleetcheck.cli.worker_cmd import INSTALL_HINT, add_broker_arguments, broker_url
from fleetcheck.config.settings import SETTINGS
from fleetcheck.engine.shards import keys_by
from fleetcheck.errors import InputError
from fleetcheck.frozen import replace
from fleetcheck.model import RunResult
from fleetcheck.plan import PlannedHost, defaults_record
from fleetcheck.plan.variables import SECRET_VARIABLES
from fleetcheck.redact import MIN_VAULT_VALUE, secrets_of

if TYPE_CHECKING:
    from fleetcheck.engine.celery import CeleryEngine

ENGINE_CHOICES = ("threads", "processes", "celery")
# Options that only mean something where hosts are contacted: on a celery run, the workers.
WORKER_SIDE = (("ask_pass", "-k"), ("ask_become_pass", "-K"),
               ("ask_key_passphrase", "--ask-key-passphrase"), ("private_key", "--private-key"),
               ("ssh_config", "-F"), ("known_hosts", "--known-hosts"),
               ("connect_timeout", "--connect-timeout"), ("workers", "--workers"))
CELERY_ONLY = (("broker", "--broker"), ("result_backend", "--result-backend"),
               ("queue_by", "--queue-by"), ("queue_wait", "--queue-wait"),
               ("shard_size", "--shard-size"))
QUEUE_WAIT, SHARD_SIZE = 60.0, 250  # the defaults of --queue-wait and --shard-size
_MODES = ("strict", "accept-new", "off")  # weakest last


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """--engine and the celery engine's options."""
    g = parser.add_argument_group("engine (see docs/scale-out.md)")
    g.add_argument("--engine", choices=ENGINE_CHOICES,
                   help="threads: this process; processes: worker processes here (the "
                        "default when --workers > 1, or when a run of 200 hosts or more may "
                        "need them); celery: shards on `fleetcheck worker`s")
    add_broker_arguments(g)  # type: ignore[arg-type]
    g.add_argument("--queue-by", metavar="VAR",
                   help="celery: route each host's shard to the queue named by inventory "
                        "variable VAR (or the child group of group VAR) - one queue per site")
    # No argparse default: given without --engine celery they are refused, not ignored.
    g.add_argument("--queue-wait", type=seconds, metavar="SECONDS",
                   help="celery: how long a queue may have no live worker before its hosts "
                        "are marked not_run (default: 60)")
    g.add_argument("--shard-size", type=count, metavar="N",
                   help="celery: most hosts in one shard task (default: 250)")


def _given(args: argparse.Namespace, dest: str) -> bool:
    """Whether option `dest` was given on this command line. A value from ansible.cfg or the
    environment (`timeout`, `private_key_file`, ANSIBLE_HOST_KEY_CHECKING) is this machine's
    configuration, not a request: each worker reads its own, so it does not stop the run."""
    setting = next((s for s in SETTINGS if (s.dest or s.name) == dest), None)
    return setting is None or from_command_line(args, setting.name)


def refuse_worker_side(args: argparse.Namespace) -> None:
    """InputError for an option only a process contacting hosts uses, given with --engine
    celery; called before -k, -K or --ask-key-passphrase prompt for what would be refused."""
    if args.engine != "celery":
        return
    for attr, option in WORKER_SIDE:
        if getattr(args, attr) and _given(args, attr):
            raise InputError(f"{option} does not apply with --engine celery: the workers "
                             "connect to the hosts with their own settings and secrets "
                             "(give it to `fleetcheck worker`)")
    if args.host_key_checking != "strict" and _given(args, "host_key_checking"):
        raise InputError("--host-key-checking does not apply with --engine celery: each "
                         "worker checks host keys its own way (`fleetcheck worker`)")


def celery_engine(args: argparse.Namespace, env: Env, inputs: Inputs,
                  hosts: list[PlannedHost]) -> CeleryEngine | None:
    """The celery engine the arguments ask for, its broker reached (None for another
    engine); InputError for anything wrong, before any task is sent."""
    if args.engine != "celery":
        for attr, option in CELERY_ONLY:
            if getattr(args, attr) is not None:
                raise InputError(f"{option} is an option of --engine celery")
        return None
    refuse_worker_side(args)
    if args.shard is not None:
        raise InputError("--shard does not combine with --engine celery, which plans and "
                         "merges its own shards")
    queue_wait = QUEUE_WAIT if args.queue_wait is None else args.queue_wait
    shard_size = SHARD_SIZE if args.shard_size is None else args.shard_size
    if queue_wait <= 0 or shard_size < 1:
        raise InputError("--queue-wait must be positive and --shard-size at least 1")
    try:
        from fleetcheck.engine.celery import CeleryEngine, CelerySettings
        from fleetcheck.engine.celery_app import BrokerSettings
        from fleetcheck.engine.celery_worker import fingerprint
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    queues = keys_by(inputs.inventory, hosts, args.queue_by, option="--queue-by") \
        if args.queue_by else {}
    settings = CelerySettings(BrokerSettings(broker_url(args, env), args.result_backend),
                              queue_wait=queue_wait, shard_size=shard_size)
    engine = CeleryEngine(settings, inputs=fingerprint(inputs.files), queues=queues,
                          become=bool(args.become), user=args.user,
                          planning=_planning(args, env, hosts))
    engine.connect()  # an unreachable broker is one line and exit 2, before anything is sent
    return engine


def _planning(args: argparse.Namespace, env: Env, hosts: list[PlannedHost]) -> dict[str, Any]:
    """What planned the hosts besides -b and -u, for the workers to plan them alike: the
    defaults configuration gives, and -e. Secrets never travel: an -e holding one (or a
    vault value), or one a host's password is made of (`ansible_password: "{{ pw }}"`), is
    refused; the workers' own inventories or -K give those."""
    extra = extra_vars(args, env)
    secrets = {s for h in hosts for s in secrets_of(h) if s}
    for key, value in extra.values.items():
        if key in SECRET_VARIABLES or not _plain(value) or _in_secret(value, secrets):
            raise InputError(f"-e {key} cannot travel to celery workers (a secret, part of "
                             "a host's password, or a vault or unsafe value): put it in the "
                             "workers' inventory")
    return {"defaults": defaults_record(host_defaults(args)),
            "extra_vars": dict(extra.values), "extra_origins": dict(extra.origins)}


def _in_secret(value: Any, secrets: set[str]) -> bool:
    """True when some text in `value` is a secret, or part of one (4 characters or more:
    shorter ones are in too many secrets by chance)."""
    if isinstance(value, dict):
        return any(_in_secret(v, secrets) for v in value.values())
    if isinstance(value, list):
        return any(_in_secret(v, secrets) for v in value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return False
    text = str(value)  # a number reaches a password through a template as its text
    return any(text == s or (len(text) >= MIN_VAULT_VALUE and text in s) for s in secrets)


def _plain(value: Any) -> bool:
    """JSON data as it would come back (no vault value, no !unsafe text)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def celery_record(result: RunResult, engine: CeleryEngine) -> RunResult:
    """The run with what the celery engine knows: its shards, the broker (no password), the
    workers' host-key checking (the weakest, with the warning every report must show)."""
    from fleetcheck.engine.celery_app import redacted

    modes = {m for s in engine.shards for m in s.get("host_key_checking", ())}
    weakest = max(modes, key=_MODES.index) if modes else None
    meta: dict[str, Any] = {**result.meta, "engine": "celery",
                            "broker": redacted(engine.settings.broker.broker),
                            "celery_workers": sorted({w for s in engine.shards
                                                      for w in s["workers"]})}
    if weakest is not None:
        meta["host_key_checking"] = weakest
        if weakest == "off" and OFF_WARNING not in meta.get("warnings", ()):
            meta["warnings"] = [*meta.get("warnings", ()), OFF_WARNING]
    return replace(result, meta=meta, shards=tuple(engine.shards))
