"""Policy files: YAML in, validated `Policy` out; every mistake is one located problem."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.model import Severity
from fleetcheck.policy import Action, Policy, Rule, fields, review
from fleetcheck.policy.match import Match
from fleetcheck.policy.problems import Problems, strictly, unknown_keys
from fleetcheck.policy.rulecheck import never_matches
from fleetcheck.yamlsrc import LocatedDict, LocatedList, Mark, load_file, load_text

POLICY_KEYS = ("name", "description", "hosts", "default", "stray_severity",
               "undetermined_severity", "review_every", "review_severity", "containers",
               "allow", "forbid", "require")
# Where a listener is: its network namespace and container (docs/containers.md).
PLACE_KEYS = ("namespace", "container", "image", "pod", "k8s_namespace", "exposure")
MATCH_KEYS = ("proto", "port", "service", "address", "family", "dual_stack", "interface",
              "process", "user", *PLACE_KEYS)
# The approval trail of a rule (PCI DSS 1.2.5), shown in the ports register.
APPROVAL_KEYS = ("justification", "approved_by", "approved_on", "reviewed_on")
RULE_KEYS = ("id", "severity", "reason", *APPROVAL_KEYS, *MATCH_KEYS)
DEFAULT_RULE_SEVERITY = Severity.HIGH
YAML_SUFFIXES = (".yml", ".yaml")


def expand_paths(paths: Sequence[str | Path], what: str = "policy") -> list[Path]:
    """Files as given; a directory stands for its *.yml/*.yaml files in name order."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.suffix in YAML_SUFFIXES and f.is_file())
            if not found:
                raise InputError(f"{what} directory holds no .yml or .yaml file", str(p))
            out.extend(found)
        elif p.exists() and not p.is_file():  # a FIFO, a socket, a device: it is there
            raise InputError(f"{what} path is neither a regular file nor a directory", str(p))
        elif not p.is_file():
            raise InputError(f"{what} file not found", str(p))
        else:
            out.append(p)
    return out


def load_policies(paths: Sequence[str | Path]) -> list[Policy]:
    """Load policy files in order; the first problem found raises InputError."""
    return strictly(lambda problems: collect_policies(paths, problems))


def collect_policies(paths: Sequence[str | Path], problems: Problems) -> list[Policy]:
    """Load every policy file, recording each problem; returns the policies that loaded."""
    policies: list[Policy] = []
    seen: dict[str, str] = {}
    for path in paths:
        written = _load(str(path), partial(load_file, path), problems)
        if written.name is None:
            continue
        if written.name in seen:  # a broken policy's name counts: its twin is reported too
            problems.error(written.where, f"policy name {written.name!r} is already used by "
                           f"{seen[written.name]}")
            continue
        seen[written.name] = str(path)
        if written.policy is not None:
            policies.append(written.policy)
    return policies


def load_policy(path: str | Path, problems: Problems | None = None) -> Policy | None:
    """Load one policy file; problems are recorded (or raised when no collector is given)."""
    return _load(str(path), lambda: load_file(path), problems).policy


def policy_from_text(text: str, path: str = "<policy>") -> Policy:
    """A policy from YAML text (errors name `path`); InputError for the first problem."""
    policy = _load(path, lambda: load_text(text, path), None).policy
    assert policy is not None  # _load raised otherwise
    return policy


@frozen
class _Written:
    """A policy file as read: its valid name and where it was named (else where it starts),
    even when a problem kept the policy itself from loading (None), so that a duplicate name
    is still found."""

    name: str | None
    where: Mark
    policy: Policy | None = None


def _load(spath: str, read: Callable[[], Any], problems: Problems | None) -> _Written:
    own = problems is None
    problems = problems if problems is not None else Problems()
    written = _Written(None, Mark(spath, 1, 1))
    try:
        data = read()
    except InputError as exc:
        problems.add(exc)
    else:
        if not isinstance(data, LocatedDict):
            problems.error(Mark(spath, 1, 1), "a policy file must be a YAML mapping with "
                           "'name' and 'allow'/'forbid'/'require' rules"
                           + (" (the file is empty)" if data is None else ""))
        else:
            written = _policy(data, spath, problems)
    if own:
        problems.raise_errors()
    return written


def _policy(data: LocatedDict, spath: str, problems: Problems) -> _Written:
    start = problems.error_count  # a warning leaves it usable
    unknown_keys(data, POLICY_KEYS, "policy", problems)
    named, name = fields.field(data, "name", fields.ident, problems)
    if named and name is None:
        name = Path(spath).stem
        if not fields.ID_RE.match(name):
            problems.error(data.mark, f"the policy needs a 'name': its file name {name!r} is "
                           "not a valid name (letters, digits, '-', '_' or '.')")
    name = name or Path(spath).stem
    valid_name = name if named and fields.ID_RE.match(name) else None  # for duplicates
    default = fields.field(data, "default", _default, problems)[1]
    hosts = fields.field(data, "hosts", fields.hosts, problems)[1]
    stray = fields.field(data, "stray_severity", fields.severity, problems)[1]
    undetermined = fields.field(data, "undetermined_severity", fields.severity, problems)[1]
    description = fields.field(data, "description", fields.text, problems)[1]
    every = fields.field(data, "review_every", review.period, problems)[1]
    review_severity = fields.field(data, "review_severity", fields.severity, problems)[1]
    containers = fields.field(data, "containers", fields.container_mode, problems)[1]
    rules: list[Rule] = []
    ids: dict[str, int] = {}
    for action in Action:
        for item, mark in _rule_items(data, action.value, problems):
            rule = _rule(item, mark, name, action, problems)
            rule_id = rule.id if rule is not None else fields.written_id(item)
            if rule_id in ids:
                problems.error(item.mark_of("id"), f"duplicate rule id {rule_id!r} in policy "
                               f"{name!r} (first used on line {ids[rule_id]})")
                continue
            if rule_id is not None:  # a broken rule's id counts: its twin is reported too
                ids[rule_id] = mark.line
            if rule is not None:
                rules.append(rule)
    # A duplicate name is reported where it was written (else at the top: the file's name).
    here = data.value_marks.get("name") or data.mark
    if problems.error_count > start:
        return _Written(valid_name, here)
    return _Written(name, here, Policy(
        name=name, path=spath, rules=tuple(sorted(rules, key=lambda r: r.line or 0)),
        default=default, hosts=None if hosts in ("all", "*") else hosts,
        # `is None`, not `or`: Severity.INFO is 0, and `info` must stay info.
        stray_severity=Severity.MEDIUM if stray is None else stray,
        undetermined_severity=Severity.LOW if undetermined is None else undetermined,
        description=description, where=data.mark, value_marks=dict(data.value_marks),
        review_every=every,
        review_severity=Severity.MEDIUM if review_severity is None else review_severity,
        containers=containers,
    ))


def _default(value: Any, mark: Mark) -> str:
    if value not in ("deny", "allow"):
        raise mark.error(f"default must be 'deny' or 'allow', not {value!r}")
    return str(value)


def _rule_items(data: LocatedDict, key: str, problems: Problems,
                ) -> list[tuple[LocatedDict, Mark]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, LocatedList):
        problems.error(data.value_mark(key), f"{key!r} must be a list of rules")
        return []
    items = []
    for item, mark in zip(value, value.marks, strict=True):
        if not isinstance(item, LocatedDict):
            problems.error(mark, f"each {key!r} rule must be a mapping with an 'id'")
        else:
            items.append((item, mark))
    return items


def _rule(item: LocatedDict, mark: Mark, policy: str, action: Action,
          problems: Problems) -> Rule | None:
    start = problems.error_count  # a warning leaves it usable
    unknown_keys(item, RULE_KEYS, f"{action.value} rule", problems)
    rule_id = fields.field(item, "id", fields.ident, problems)[1]
    if "id" not in item:
        problems.error(mark, f"{action.value} rule needs an 'id'")
    severity = fields.field(item, "severity", fields.severity, problems)[1]
    reason = fields.field(item, "reason", fields.text, problems)[1]
    trail = {key: fields.field(item, key, _APPROVAL_PARSERS[key], problems)[1]
             for key in APPROVAL_KEYS}
    match = parse_match(item, problems)
    if problems.error_count > start or rule_id is None or match is None:
        return None
    if match == Match() and action is not Action.ALLOW:
        problems.error(mark, f"{action.value} rule {rule_id!r} has no conditions and would "
                       "match every listener")
        return None
    rule = Rule(policy=policy, id=rule_id, action=action, match=match,
                severity=DEFAULT_RULE_SEVERITY if severity is None else severity,
                reason=reason, where=mark, **trail)
    never = never_matches(rule)
    if never is not None:
        problems.error(mark, f"{action.value} rule {rule_id!r}: {never}")
        return None
    return rule


def parse_match(item: LocatedDict, problems: Problems) -> Match | None:
    """The match conditions of a rule mapping; None (with problems recorded) if any is bad."""
    results: dict[str, Any] = {}
    ok = True
    for key, parse in _MATCH_PARSERS.items():
        good, value = fields.field(item, key, parse, problems)
        ok &= good
        results[key] = value
    if not ok:
        return None
    if "address" in item:
        fields.warn_host_bits(item["address"], item.value_mark("address"), problems)
    services = results["service"]
    return Match(
        protos=results["proto"],
        ports=results["port"],
        services=services[0] if services else None,
        service_ports=services[1] if services else None,
        addresses=results["address"],
        families=results["family"],
        dual_stack=results["dual_stack"],
        processes=results["process"],
        users=results["user"],
        namespaces=results["namespace"],
        containers=results["container"],
        images=results["image"],
        pods=results["pod"],
        k8s_namespaces=results["k8s_namespace"],
        exposures=results["exposure"],
        interfaces=results["interface"],
    )


_APPROVAL_PARSERS: dict[str, Any] = {
    "justification": fields.text,
    "approved_by": fields.text,
    "approved_on": fields.date,
    "reviewed_on": fields.date,
}

_MATCH_PARSERS: dict[str, Any] = {
    "proto": fields.protos,
    "port": fields.ports,
    "service": fields.service_names,
    "address": fields.addresses,
    "family": fields.families,
    "dual_stack": fields.boolean,
    "interface": fields.interfaces,
    "process": fields.text_specs,
    "user": fields.text_specs,
    **fields.PLACE_PARSERS,
}
