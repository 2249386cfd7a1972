"""Policy files: YAML in, validated `Policy` out; every mistake is one located InputError."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.model import Severity
from fleetcheck.policy import Action, Policy, Rule
from fleetcheck.policy.match import SCOPES, AddressSpec, Match, TextSpec
from fleetcheck.yamlsrc import LocatedDict, LocatedList, Mark, check_keys, did_you_mean, load_file

POLICY_KEYS = ("name", "description", "hosts", "default", "stray_severity",
               "undetermined_severity", "allow", "forbid", "require")
MATCH_KEYS = ("proto", "port", "address", "family", "dual_stack", "process", "user")
RULE_KEYS = ("id", "severity", "reason", *MATCH_KEYS)
DEFAULT_RULE_SEVERITY = {Action.ALLOW: Severity.HIGH, Action.FORBID: Severity.HIGH,
                         Action.REQUIRE: Severity.HIGH}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def load_policies(paths: Sequence[str | Path]) -> list[Policy]:
    """Load policy files in order; duplicate policy names across files are an error."""
    policies: list[Policy] = []
    seen: dict[str, str] = {}
    for path in paths:
        policy = load_policy(path)
        if policy.name in seen:
            raise InputError(f"policy name {policy.name!r} is already used by {seen[policy.name]}",
                             str(path), 1)
        seen[policy.name] = str(path)
        policies.append(policy)
    return policies


def load_policy(path: str | Path) -> Policy:
    """Load and validate one policy file."""
    spath = str(path)
    data = load_file(path)
    if not isinstance(data, LocatedDict):
        raise InputError("a policy file must be a YAML mapping", spath, 1)
    check_keys(data, POLICY_KEYS, "policy")
    name = _string(data, "name", default=Path(spath).stem)
    if not _ID.match(name):
        raise data.value_mark("name").error(f"policy name {name!r} must be letters, digits, "
                                            "'-', '_' or '.'")
    default = _string(data, "default", default="deny")
    if default not in ("deny", "allow"):
        raise data.value_mark("default").error(
            f"default must be 'deny' or 'allow', not {default!r}")
    rules: list[Rule] = []
    ids: dict[str, int] = {}
    for action in Action:
        for item, mark in _rule_items(data, action.value):
            rule = _rule(item, mark, name, action)
            if rule.id in ids:
                raise item.mark_of("id").error(
                    f"duplicate rule id {rule.id!r} (first used on line {ids[rule.id]})")
            ids[rule.id] = mark.line
            rules.append(rule)
    return Policy(
        name=name,
        path=spath,
        rules=tuple(sorted(rules, key=lambda r: r.line or 0)),
        default=default,
        hosts=_hosts(data),
        stray_severity=_severity(data, "stray_severity", Severity.MEDIUM),
        undetermined_severity=_severity(data, "undetermined_severity", Severity.LOW),
        description=_string(data, "description", default=None),
    )


def _rule_items(data: LocatedDict, key: str) -> list[tuple[LocatedDict, Mark]]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, LocatedList):
        raise data.value_mark(key).error(f"{key!r} must be a list of rules")
    items = []
    for item, mark in zip(value, value.marks, strict=True):
        if not isinstance(item, LocatedDict):
            raise mark.error(f"each {key!r} rule must be a mapping")
        items.append((item, mark))
    return items


def _rule(item: LocatedDict, mark: Mark, policy: str, action: Action) -> Rule:
    check_keys(item, RULE_KEYS, f"{action.value} rule")
    if "id" not in item:
        raise mark.error(f"{action.value} rule needs an 'id'")
    rule_id = item["id"]
    if not isinstance(rule_id, str | int) or not _ID.match(str(rule_id)):
        raise item.value_mark("id").error(f"rule id {rule_id!r} must be letters, digits, '-', "
                                          "'_' or '.'")
    match = parse_match(item)
    if match == Match() and action is not Action.ALLOW:
        raise mark.error(f"{action.value} rule {rule_id!r} has no conditions and would "
                         "match every listener")
    return Rule(policy=policy, id=str(rule_id), action=action, match=match,
                severity=_severity(item, "severity", DEFAULT_RULE_SEVERITY[action]),
                reason=_string(item, "reason", default=None), line=mark.line)


def parse_match(item: LocatedDict) -> Match:
    """The match conditions of a rule (or waiver) mapping."""
    return Match(
        protos=_protos(item),
        ports=_ports(item),
        addresses=_addresses(item),
        family=_family(item),
        dual_stack=_bool(item, "dual_stack"),
        processes=_texts(item, "process"),
        users=_texts(item, "user"),
    )


def _as_list(item: LocatedDict, key: str) -> list[Any] | None:
    value = item.get(key)
    if value is None:
        return None
    return list(value) if isinstance(value, list) else [value]


def _protos(item: LocatedDict) -> frozenset[str] | None:
    values = _as_list(item, "proto")
    if values is None:
        return None
    out = set()
    for v in values:
        word = str(v).lower()
        if word == "any":
            return None
        if word not in ("tcp", "udp"):
            raise item.value_mark("proto").error(
                f"proto must be tcp, udp or any, not {v!r}{did_you_mean(str(v), ('tcp', 'udp'))}")
        out.add(word)
    return frozenset(out)


def _ports(item: LocatedDict) -> tuple[tuple[int, int], ...] | None:
    values = _as_list(item, "port")
    if values is None:
        return None
    mark = item.value_mark("port")
    ranges = []
    for v in values:
        lo, hi = parse_port_range(v, mark)
        ranges.append((lo, hi))
    if not ranges:
        raise mark.error("port list is empty")
    return tuple(ranges)


def parse_port_range(value: Any, mark: Mark) -> tuple[int, int]:
    """An int port or 'LO-HI' range, each within 0..65535 and LO <= HI."""
    if isinstance(value, bool):
        raise mark.error(f"port must be a number or a range 'LO-HI', not {value!r}")
    if isinstance(value, int):
        lo = hi = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d+\s*(-\s*\d+\s*)?", value):
        parts = [int(p) for p in value.split("-")]
        lo, hi = parts[0], parts[-1]
    else:
        raise mark.error(f"port must be a number or a range 'LO-HI', not {value!r}")
    for p in (lo, hi):
        if not 0 <= p <= 65535:
            raise mark.error(f"port {p} is out of range (0-65535)")
    if lo > hi:
        raise mark.error(f"port range {value!r} is backwards ({lo} > {hi})")
    return lo, hi


def _addresses(item: LocatedDict) -> tuple[AddressSpec, ...] | None:
    values = _as_list(item, "address")
    if values is None:
        return None
    mark = item.value_mark("address")
    specs = []
    for v in values:
        text = str(v).strip()
        if text in SCOPES:
            specs.append(AddressSpec(scope=text))
        elif "/" in text:
            try:
                specs.append(AddressSpec(network=ipaddress.ip_network(text, strict=False)))
            except ValueError:
                raise mark.error(f"address {text!r} is not a valid network") from None
        else:
            try:
                specs.append(AddressSpec(literal=str(ipaddress.ip_address(text.strip("[]")))))
            except ValueError:
                if re.fullmatch(r"[a-z-]+", text):
                    raise mark.error(f"unknown address scope {text!r} (expected an address, a "
                                     f"CIDR or one of {', '.join(SCOPES)})"
                                     f"{did_you_mean(text, SCOPES)}") from None
                raise mark.error(f"address {text!r} is not an IP address, CIDR or scope") from None
    return tuple(specs)


def _family(item: LocatedDict) -> int | None:
    value = item.get("family")
    if value is None:
        return None
    if value in (4, 6, "4", "6", "ipv4", "ipv6", "inet", "inet6"):
        return 6 if str(value).endswith("6") else 4
    raise item.value_mark("family").error(f"family must be 4 or 6, not {value!r}")


def _texts(item: LocatedDict, key: str) -> tuple[TextSpec, ...] | None:
    values = _as_list(item, key)
    if values is None:
        return None
    specs = []
    for v in values:
        if not isinstance(v, str) or not v:
            raise item.value_mark(key).error(f"{key} must be a non-empty string, not {v!r}")
        if v.startswith("~"):
            try:
                re.compile(v[1:])
            except re.error as exc:
                raise item.value_mark(key).error(
                    f"bad regular expression {v[1:]!r}: {exc}") from None
        specs.append(TextSpec(v))
    return tuple(specs)


def _bool(item: LocatedDict, key: str) -> bool | None:
    value = item.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise item.value_mark(key).error(f"{key} must be true or false, not {value!r}")


def _string(item: LocatedDict, key: str, *, default: str | None) -> Any:
    value = item.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise item.value_mark(key).error(f"{key} must be a string, not {value!r}")
    return value


def _severity(item: LocatedDict, key: str, default: Severity) -> Severity:
    value = item.get(key)
    if value is None:
        return default
    try:
        return Severity.parse(str(value))
    except ValueError:
        raise item.value_mark(key).error(
            f"unknown severity {value!r}{did_you_mean(str(value), [s.label for s in Severity])}"
        ) from None


def _hosts(data: LocatedDict) -> str | None:
    value = data.get("hosts")
    if value is None:
        return None
    if isinstance(value, list):
        if not value or not all(isinstance(v, str) and v for v in value):
            raise data.value_mark("hosts").error("hosts must be a pattern or a list of groups")
        return ":".join(value)
    if not isinstance(value, str) or not value.strip():
        raise data.value_mark("hosts").error("hosts must be a pattern or a list of groups")
    return None if value.strip() in ("all", "*") else value.strip()
