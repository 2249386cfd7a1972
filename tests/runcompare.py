"""What two runs of the same hosts must agree on, whatever engine or shards made them."""

from __future__ import annotations

from typing import Any

# Per host: everything but timings and the command evidence (whose fences are random).
HOST_KEYS = ("name", "address", "groups", "status", "os", "collector", "error", "privileged",
             "policies", "notes", "waivers", "listeners", "findings")
# What history adds says when each run was compared, not what it found: runs made apart
# (each into its own history) agree on everything else.
HISTORY_KEYS = ("first_seen", "age_days", "change", "flaps")


def _finding(f: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in f.items() if k not in HISTORY_KEYS}


def verdict_view(run: dict[str, Any]) -> dict[str, Any]:
    """Hosts, listeners, findings, summary, exit code, waivers, policies and the warnings:
    a run's JSON without its timings and run metadata."""
    return {
        "hosts": [{k: [_finding(f) for f in h["findings"]] if k == "findings" else h.get(k)
                   for k in HOST_KEYS} for h in run["hosts"]],
        "summary": run["summary"],
        "waivers": run["waivers"],
        "policy_definitions": run["policy_definitions"],
        "inputs": {kind: sorted(f["sha256"] for f in files)
                   for kind, files in run["inputs"].items()},
        "warnings": run["meta"].get("warnings", []),
        "waiver_date": run["meta"].get("waiver_date"),
        "complete": run["complete"],
    }


def differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Where two runs' verdict views differ, one line each (empty when they agree)."""
    va, vb = verdict_view(a), verdict_view(b)
    out = [f"{key}: {va[key]!r} != {vb[key]!r}" for key in va
           if key != "hosts" and va[key] != vb[key]]
    names_a, names_b = [h["name"] for h in va["hosts"]], [h["name"] for h in vb["hosts"]]
    if names_a != names_b:
        out.append(f"hosts: {names_a} != {names_b}")
    for ha, hb in zip(va["hosts"], vb["hosts"], strict=False):
        out += [f"{ha['name']}.{k}: {ha[k]!r} != {hb[k]!r}" for k in HOST_KEYS if ha[k] != hb[k]]
    return out
