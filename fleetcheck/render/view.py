"""What every report shows, arranged once from the RunResult: headline, facts, rows, fleet view.

Renderers lay these out; none of them counts violations or decides an exit code (the
RunResult's summary did that), so every format states the same facts in the same order.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from fleetcheck.frozen import frozen
from fleetcheck.model import RunResult, Severity, WaiverRecord, inputs_by_kind
from fleetcheck.render.evidence_view import evidence_line
from fleetcheck.render.rows import (
    BAD_VERDICTS,
    OWNER_UNSEEN,
    FindingRow,
    PortRow,
    bind_address,
    fail_on,
    finding_rows,
    fleet_rows,
    host_listeners,
    host_status_tone,
    is_red,
    listener_notes,
    listener_rows,
    open_findings,
    os_words,
    owner,
    owner_unknown_why,
    proto_port,
    service_name,
    sorted_hosts,
    unchecked_hosts,
    verdict_words,
    yes_no,
)
from fleetcheck.render.waived import expiring_waivers, expiry_sentence
from fleetcheck.words import plural

# The rows of hosts, listeners and findings live in `rows`; reports (and tests) read them
# as view.X too, so this module names them again.
__all__ = ["BAD_VERDICTS", "COMMAND_PREVIEW", "HOST_KEYS_NOT_CHECKED", "HOST_KEY_TRUSTED",
           "INPUT_WARNING", "INVENTORY_PREFIX", "META_LABELS", "OWNER_UNSEEN", "POLICY_PREFIX",
           "FindingRow", "Headline", "PortRow", "bind_address", "command_preview", "fail_on",
           "finding_rows", "first_line", "fleet_rows", "headline", "host_listeners",
           "host_status_tone", "human_duration", "input_rows", "input_warnings", "is_red",
           "joined", "line_count", "listener_notes", "listener_rows", "meta_label",
           "open_findings", "os_words", "owner", "owner_unknown_why", "parse_time", "plural",
           "proto_port", "run_facts", "run_line", "run_seconds", "seconds", "service_name",
           "severity_counts", "shard_facts", "sorted_hosts", "sorted_waivers", "status_counts",
           "trust", "unchecked_hosts", "verdict_words", "waiver_scope", "waiver_source",
           "warnings", "yes_no"]

# Meta keys shown in their own place (or not as plain facts); the rest are listed generically.
_META_SHOWN = ("command_line", "user", "hostname", "fail_on", "forks", "workers", "deadline",
               "become", "host_key_checking", "policies", "warnings", "policy_warnings",
               "evidence")
_WAIVER_ORDER = {"expired": 0, "active": 1, "unused": 2}

@frozen
class Headline:
    """The verdict, first thing in every report: a word, a tone and one sentence."""

    word: str  # COMPLIANT | NONCOMPLIANT | NOT VERIFIED | INCOMPLETE | NOTHING CHECKED
    tone: str  # ok | bad | warn
    sentence: str

    def line(self) -> str:
        """'NONCOMPLIANT: 3 violations on 2 of 5 hosts ...'."""
        return f"{self.word}: {self.sentence}"


def headline(run: RunResult) -> Headline:
    """Compliant, or N violations on M hosts, and K hosts that could not be checked."""
    s = run.summary
    unchecked = s.unreachable + s.errors
    parts: list[str] = []
    if s.violations:
        worst = next((sev for sev, n in s.by_severity.items() if n), "")
        word, tone = "NONCOMPLIANT", "bad"
        parts.append(f"{plural(s.violations, 'violation')} on {s.violating_hosts} of "
                     f"{plural(s.hosts, 'host')} (worst: {worst})")
        if unchecked:
            parts.append(f"{unchecked} could not be checked")
    elif not s.complete:  # interrupted: say so before anything else
        word, tone = "INCOMPLETE", "warn"
        parts.append(f"no violations on the {plural(s.hosts - unchecked, 'host')} checked")
        if unchecked:
            parts.append(f"{unchecked} of {plural(s.hosts, 'host')} not checked")
    elif unchecked:
        word, tone = "NOT VERIFIED", "warn"
        parts.append(f"no violations on the {plural(s.hosts - unchecked, 'host')} checked, "
                     f"but {unchecked} of {plural(s.hosts, 'host')} could not be checked")
    elif s.hosts == 0:
        word, tone = "NOTHING CHECKED", "warn"
        parts.append("no host was selected, so nothing was checked")
    else:
        word, tone = "COMPLIANT", "ok"
        parts.append(f"all {plural(s.hosts, 'host')} checked, no violations")
    if s.gate == "new":  # --fail-on-new: say what decided the exit code
        parts.append(f"{s.new_violations or 'none'} {'of them ' if s.violations else ''}new "
                     "or reopened since the baseline (--fail-on-new)")
    below = s.findings - s.violations
    if below:
        parts.append(f"{plural(below, 'finding')} below --fail-on {s.fail_on}")
    if s.waived:
        parts.append(f"{s.waived} waived")
    if not s.complete:
        parts.append(incomplete_why(run))
    return Headline(word, tone, "; ".join(parts))


def incomplete_why(run: RunResult) -> str:
    """Why a run is incomplete: an interrupt, or hosts never run (a merge missing a shard, a
    celery queue without workers), where nothing was interrupted."""
    signal = run.meta.get("interrupted_by")
    if signal:
        return f"the run was interrupted ({signal}) before every host finished"
    return "some hosts were never run (see why under the hosts not checked)"


def status_counts(run: RunResult) -> list[tuple[str, int, str]]:
    """(label, count, tone) for the summary strip, from the run's summary."""
    s = run.summary
    return [("hosts", s.hosts, ""), ("compliant", s.compliant, "ok" if s.compliant else ""),
            ("noncompliant", s.noncompliant, "bad" if s.noncompliant else ""),
            ("unreachable", s.unreachable, "warn" if s.unreachable else ""),
            ("errors", s.errors, "warn" if s.errors else ""),
            ("violations", s.violations, "bad" if s.violations else ""),
            ("waived", s.waived, "")]


def severity_counts(run: RunResult) -> list[tuple[str, int]]:
    """Open findings per severity, worst first, as the summary counted them."""
    return [(sev.label, run.summary.by_severity.get(sev.label, 0))
            for sev in sorted(Severity, reverse=True)]


def parse_time(value: str) -> datetime | None:
    """An ISO 8601 timestamp as written in the run ('Z' accepted); None if it is not one."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def run_seconds(run: RunResult) -> float | None:
    """Wall-clock seconds from start to finish, from the run's own timestamps."""
    start, end = parse_time(run.started_at), parse_time(run.finished_at)
    return (end - start).total_seconds() if start and end else None


def human_duration(seconds: float | None) -> str:
    """'42 s', '3 min 05 s', '1 h 02 min 07 s'; '?' when unknown."""
    if seconds is None:
        return "?"
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h} h {m:02d} min {s:02d} s"
    if m:
        return f"{m} min {s:02d} s"
    return f"{s} s"


def seconds(value: float) -> str:
    """A measured duration as the JSON keeps it (milliseconds), so re-renders agree."""
    return f"{round(value, 3):.3f} s"


def _meta_value(value: Any) -> str:
    """A meta value as words: yes/no, a comma list, or JSON for anything nested."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple) and all(isinstance(v, str | int | float) for v in value):
        return ", ".join(str(v) for v in value)
    if isinstance(value, str | int | float):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def run_line(run: RunResult) -> list[str]:
    """The run in a few words for the top of a report: when, how long, who, where, version."""
    who = " on ".join(str(run.meta[k]) for k in ("user", "hostname") if run.meta.get(k))
    return [x for x in (f"run {run.started_at}", human_duration(run_seconds(run)),
                        f"by {who}" if who else "", f"fleetcheck {run.tool_version}") if x]


# Run metadata as a reader says it; other keys are spelled out from their names.
META_LABELS = {"waiver_date": "Waivers judged on",
               "waiver_warning_days": "Waivers warned about (days before expiry)",
               "interrupted_by": "Interrupted by", "run_id": "Run id"}


def meta_label(key: str) -> str:
    """'waiver_date' -> 'Waivers judged on'; 'some_key' -> 'Some key'."""
    return META_LABELS.get(key) or key.replace("_", " ").strip().capitalize() or key


def run_facts(run: RunResult) -> list[tuple[str, str]]:
    """(label, value) describing when, what, by whom, where and how the run ran."""
    meta = run.meta
    facts = [("Started", run.started_at), ("Finished", run.finished_at),
             ("Duration", human_duration(run_seconds(run))),
             ("fleetcheck version", run.tool_version)]
    who = " on ".join(str(meta[k]) for k in ("user", "hostname") if meta.get(k))
    if who:
        facts.append(("Run by", who))
    if meta.get("command_line"):
        facts.append(("Command line", shlex.join(str(a) for a in meta["command_line"])))
    labels = {"fail_on": "Fail on", "forks": "Forks", "workers": "Worker processes",
              "deadline": "Per-host deadline (s)", "become": "Become",
              "host_key_checking": "Host-key checking", "policies": "Policies"}
    facts += [(label, _meta_value(meta[key])) for key, label in labels.items() if key in meta]
    signal = meta.get("interrupted_by")
    facts.append(("Complete", "yes" if run.summary.complete else
                  f"no (interrupted by {signal})" if signal else "no (hosts never run)"))
    facts += shard_facts(run)
    if isinstance(meta.get("evidence"), dict):
        facts.append(("Evidence bundle", evidence_line(meta["evidence"])))
    facts += [(meta_label(key), _meta_value(meta[key])) for key in sorted(meta)
              if key not in _META_SHOWN]
    facts.append(("Schema", run.schema))
    return facts


def shard_facts(run: RunResult) -> list[tuple[str, str]]:
    """Which shard of which plan a shard run is; which shards a merged run was made of."""
    out = []
    if run.shard:
        s = run.shard
        name = f" ({s['name']})" if s.get("name") and s.get("by") else ""
        out.append(("Shard", f"{s.get('index')} of {s.get('count')}{name}, plan {s.get('plan')}"))
    for s in run.shards:
        name = f" ({s['name']})" if s.get("name") else ""
        where = f" on {s['hostname']}" if s.get("hostname") else ""
        hosts = f", {plural(int(s['hosts']), 'host')}" if "hosts" in s else ""
        out.append((f"Shard {s.get('index')} of {s.get('count')}{name}",
                    f"{s.get('status')}{hosts}{where}"
                    + (f", run {s['run_id']}" if s.get("run_id") else "")))
    return out


def warnings(run: RunResult) -> list[str]:
    """Sentences every report must show (e.g. host keys not checked, waivers expired, host
    keys trusted on first use)."""
    given: list[str] = []
    for name, prefix in (("warnings", ""), ("policy_warnings", POLICY_PREFIX)):
        raw = run.meta.get(name) or []
        given += [prefix + str(w) for w in (raw if isinstance(raw, list | tuple) else [raw])]
    given += [expiry_sentence(w, days) for w, days in expiring_waivers(run)]
    return [*given, *(sentence for _, _, sentence in trust(run) if sentence not in given)]


HOST_KEYS_NOT_CHECKED = "host_keys_not_checked"
HOST_KEY_TRUSTED = "host_key_trusted"


def trust(run: RunResult) -> list[tuple[str, str, str]]:
    """What the run trusted without checking, as (kind, host, sentence): host keys not
    checked at all (off), each host key trusted on first use (accept-new)."""
    out = []
    if run.meta.get("host_key_checking") == "off":
        # Imported here: only such a run needs the sentence, and the SSH settings module
        # would cost every report rendered outside a scan a fifth of its time.
        from fleetcheck.transport.ssh.options import HOST_KEYS_OFF

        out.append((HOST_KEYS_NOT_CHECKED, "", HOST_KEYS_OFF))
    out += [(HOST_KEY_TRUSTED, h.name, f"{h.name}: host key {k.sentence()}")
            for h in sorted_hosts(run) for k in h.trusted_keys]
    return out


INPUT_WARNING = "input_warning"


# How the warnings about the run's inputs begin: the inventory's (as ansible-core would give
# them) and the policies' (what `validate` says about them, recorded as `policy_warnings`).
INVENTORY_PREFIX, POLICY_PREFIX = "inventory: ", "policy: "


def input_warnings(run: RunResult) -> list[str]:
    """The warnings about the run's inputs: the inventory's and the policies'."""
    return [w for w in warnings(run) if w.startswith((INVENTORY_PREFIX, POLICY_PREFIX))]


def input_rows(run: RunResult) -> list[tuple[str, str, str]]:
    """(kind, path, sha256) of every file the run read, grouped by kind as the JSON has them."""
    return [(kind, f["path"], f["sha256"]) for kind, files in inputs_by_kind(run.inputs).items()
            for f in files]


def sorted_waivers(waivers: Iterable[WaiverRecord]) -> list[WaiverRecord]:
    """Expired first (they need action), then active, then unused; by id within each."""
    return sorted(waivers, key=lambda w: (_WAIVER_ORDER.get(w.status, 3), w.status, w.id))


def waiver_scope(w: WaiverRecord) -> str:
    """'hosts web*, tcp/8443, process java': what a waiver covers."""
    parts = []
    if w.hosts:
        parts.append(f"hosts {w.hosts}")
    if w.proto or w.port:
        parts.append("/".join(p for p in (w.proto, w.port) if p))
    if w.process:
        parts.append(f"process {w.process}")
    return ", ".join(parts) or "everything"


def waiver_source(w: WaiverRecord) -> str:
    """'waivers.yml:12' or ''."""
    if not w.path:
        return ""
    return f"{w.path}:{w.line}" if w.line is not None else w.path


def first_line(text: str) -> str:
    """The first line of a (multi-line) command, for places that cannot show all of it."""
    end = text.find("\n")
    return text if end < 0 else text[:end]


# Characters of a command a terminal report shows; the probe script runs to thousands.
COMMAND_PREVIEW = 160


def command_preview(text: str, where: str = "in the HTML and JSON reports",
                    limit: int = COMMAND_PREVIEW, tail: str | None = None) -> str:
    """A command cut to its first line and `limit` characters, saying how much is left out
    (`tail`: `preview_tail(text, where)`, when the caller has it already)."""
    head = first_line(text)
    if len(head) <= limit and head == text:
        return text
    return head[:limit] + (preview_tail(text, where) if tail is None else tail)


def preview_tail(text: str, where: str) -> str:
    """What a cut preview says of the whole: ' ... (N characters, M lines; whole WHERE)'."""
    return f" ... ({len(text)} characters, {plural(line_count(text), 'line')}; whole {where})"


# What `str.splitlines` breaks at besides "\n" in ASCII text.
_OTHER_BREAKS = ("\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e")


def line_count(text: str) -> int:
    """Lines in `text` (a last line without newline counts), as `str.splitlines` finds them."""
    if text.isascii() and not any(c in text for c in _OTHER_BREAKS):  # counted, not split
        return text.count("\n") + (not text.endswith("\n") and text != "")
    return len(text.splitlines())


def joined(values: Sequence[str], limit: int) -> str:
    """'a, b, c' or 'a, b, ... (+N more)' past `limit` names."""
    if len(values) <= limit:
        return ", ".join(values)
    return ", ".join(values[:limit]) + f", ... (+{len(values) - limit} more)"
