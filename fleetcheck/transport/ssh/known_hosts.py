"""OpenSSH known_hosts: read once, indexed, checked with OpenSSH's matching rules.

Plain names are indexed in a dict; hashed names (`|1|salt|hmac`) in a dict per
salt, so a lookup costs one HMAC per distinct salt (OpenSSH gives each hashed
entry its own salt, so that is the number of hashed entries — the price of
hashing; each HMAC starts from precomputed key states, about 1 µs). Each name's
entries are computed once per run. Lines with wildcards or negations are
the only ones matched one by one, and real files have few of them.
"""

from __future__ import annotations

import base64
import contextlib
import enum
import fcntl
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from fleetcheck.bounded import open_no_wait
from fleetcheck.frozen import frozen
from fleetcheck.transport.ssh.known_hosts_line import KeyLine, parse_line
from fleetcheck.transport.ssh.patterns import Pattern, compile_patterns, pattern_list_matches

DEFAULT_PORT = 22


class Verdict(enum.Enum):
    """What known_hosts says about the key a host presented."""

    KNOWN = "known"
    UNKNOWN = "unknown"
    CHANGED = "changed"
    OTHER_TYPE = "other_type"  # only keys of other types are known: ssh calls it changed
    REVOKED = "revoked"


@frozen
class Entry:
    """One key line: marker (None, 'revoked', 'cert-authority'), key type, key blob, origin."""

    marker: str | None
    key_type: str
    blob: bytes
    origin: str  # "file:line"
    seq: int = 0  # its place over all files: ssh takes the first key of a type it finds


@frozen
class Check:
    """The verdict for one host and the entries that decided it (for the message)."""

    verdict: Verdict
    entries: tuple[Entry, ...]
    cert_authorities: tuple[Entry, ...] = ()
    added: bool = False  # accept() appended the key just now (not another thread before)

    def explain(self, name: str, key_type: str, fingerprint: str) -> str:
        """One sentence for the report, naming the known_hosts lines involved."""
        where = ", ".join(e.origin for e in self.entries[:3])
        if self.verdict is Verdict.CHANGED:
            return (f"REMOTE HOST KEY CHANGED for {name}: it presented {key_type} {fingerprint}, "
                    f"known_hosts ({where}) holds a different key — possible man-in-the-middle; "
                    "refusing to connect")
        if self.verdict is Verdict.REVOKED:
            return f"host key {key_type} {fingerprint} of {name} is @revoked ({where})"
        if self.verdict is Verdict.OTHER_TYPE:
            types = ", ".join(sorted({e.key_type for e in self.entries}))
            return (f"{name} presented a {key_type} key ({fingerprint}) but only {types} keys "
                    f"are known for it ({where}); refusing a key of another type than remembered")
        text = f"host key for {name} is not in known_hosts ({key_type} {fingerprint})"
        if self.cert_authorities:
            ca = self.cert_authorities[0].origin
            text += (f"; {ca} trusts a @cert-authority for it, but host certificates are not "
                     "supported: add the host's own key to known_hosts")
        return text


def host_port_name(host: str, port: int) -> str:
    """The name known_hosts uses: 'host' on port 22, '[host]:port' otherwise (lower-case)."""
    host = host.lower()
    return host if port == DEFAULT_PORT else f"[{host}]:{port}"


def _is_literal(pattern: str) -> bool:
    return not any(c in pattern for c in "*?!")


_Salted = tuple["hashlib._Hash", "hashlib._Hash", dict[bytes, list[Entry]]]


def _hmac_sha1_states(key: bytes) -> tuple[hashlib._Hash, hashlib._Hash]:
    """The inner and outer SHA1 states of HMAC-SHA1 under `key` (RFC 2104), to be copied."""
    if len(key) > 64:
        key = hashlib.sha1(key).digest()  # noqa: S324 - HMAC-SHA1 is the known_hosts format
    key = key.ljust(64, b"\0")
    inner = hashlib.sha1(bytes(b ^ 0x36 for b in key))  # noqa: S324
    outer = hashlib.sha1(bytes(b ^ 0x5C for b in key))  # noqa: S324
    return inner, outer


class KnownHosts:
    """An index over one or more known_hosts files, built once and shared by every host."""

    def __init__(self) -> None:
        self._exact: dict[str, list[Entry]] = {}
        self._hashed: dict[bytes, dict[bytes, list[Entry]]] = {}
        self._patterns: list[tuple[tuple[Pattern, ...], Entry]] = []
        self.skipped: list[str] = []  # "file:line: why" of lines that could not be read
        self._lock = threading.Lock()  # accept-new: check and append as one step
        self._states_lock = threading.Lock()
        self._states: list[_Salted] | None = None  # hashed entries, ready to test a name
        self._memo: dict[str, tuple[Entry, ...]] = {}  # name -> its entries, once computed
        self._by_blob: dict[bytes, list[tuple[str, str]]] | None = None  # holders' index
        self._seq = 0

    @classmethod
    def load(cls, paths: Iterable[str | Path]) -> KnownHosts:
        """Index every readable file of `paths`: missing files are simply absent, and so are
        unreadable ones (a symlink loop, no permission), as in ssh, which notes them."""
        index = cls()
        for path in paths:
            try:
                with open_no_wait(path) as f:  # a FIFO nobody writes: empty, not a hang
                    data = f.read()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            except OSError as exc:
                index.skipped.append(f"{path}: cannot read ({exc.strerror or exc})")
                continue
            # Lines end at a newline only: ssh reads a CR, form feed or U+2028 as part of
            # the line (a comment stays one comment), so no universal newlines here.
            text = data.decode("utf-8", errors="replace")
            for no, line in enumerate(text.split("\n"), 1):
                index.add_line(line, f"{path}:{no}")
        return index

    def __len__(self) -> int:
        hashed = sum(len(v) for by_hash in self._hashed.values() for v in by_hash.values())
        return sum(len(v) for v in self._exact.values()) + hashed + len(self._patterns)

    def add_line(self, line: str, origin: str) -> None:
        """Index one known_hosts line; malformed lines are skipped (and remembered) like ssh."""
        parsed = parse_line(line)
        if parsed is None:
            return
        if isinstance(parsed, str):
            self.skipped.append(f"{origin}: {parsed}")
            return
        self._seq += 1
        self._by_blob = None
        entry = Entry(parsed.marker, parsed.key_type, parsed.blob, origin, self._seq)
        hosts = parsed.hosts
        if hosts.startswith("|"):
            self._add_hashed(parsed, entry, origin)
            return
        names = [p for p in hosts.split(",") if p]
        if all(_is_literal(p) for p in names):
            for p in names:
                self._exact.setdefault(p.lower(), []).append(entry)
        else:
            self._patterns.append((compile_patterns(names), entry))

    def _add_hashed(self, parsed: KeyLine, entry: Entry, origin: str) -> None:
        """`|1|salt|hmac`: a 20-byte salt or the line is unreadable (extract_salt); ssh
        compares the whole field with the one it computes, so only that spelling matches."""
        magic, _, rest = parsed.hosts.partition("|1|")
        salt_text, bar, digest_text = rest.partition("|")
        salt = _b64_or_none(salt_text) if not magic and bar and salt_text else None
        if salt is None or len(salt) != 20:
            self.skipped.append(f"{origin}: malformed hashed host name")
            return
        digest = _b64_or_none(digest_text)
        if digest is None or parsed.hosts != _hashed_field(salt, digest):
            return  # a field no name hashes to
        self._hashed.setdefault(salt, {}).setdefault(digest, []).append(entry)
        self._states = None

    def entries_for(self, name: str) -> tuple[Entry, ...]:
        """Every entry whose host field matches `name` (as built by `host_port_name`)."""
        found = self._memo.get(name)
        if found is not None:
            return found
        hits = list(self._exact.get(name, ()))
        encoded = name.encode()
        for inner, outer, by_hash in self._salted():
            i = inner.copy()
            i.update(encoded)
            o = outer.copy()
            o.update(i.digest())
            matched = by_hash.get(o.digest())
            if matched:
                hits += matched
        hits += [e for pats, e in self._patterns if pattern_list_matches(pats, name)]
        found = self._memo[name] = tuple(sorted(hits, key=lambda e: e.seq))
        return found

    def _salted(self) -> list[_Salted]:
        """Per salt, HMAC-SHA1 with its key already absorbed: ~8x cheaper per name than hmac."""
        states = self._states
        if states is None:
            with self._states_lock:
                states = self._states = [(*_hmac_sha1_states(salt), by_hash)
                                         for salt, by_hash in self._hashed.items()]
        return states

    def holders(self, blob: bytes) -> list[tuple[str, str]]:
        """(name, origin) of every plain entry holding the key `blob`, under whatever name:
        a host that presents a key known for another name was renamed or readdressed (or
        shares a cloned key). Hashed entries cannot say their name: 'a hashed name'."""
        by_blob = self._by_blob
        if by_blob is None:
            # Built once, not a walk over every entry per unknown host: a fleet of new hosts
            # checked against a large known_hosts was quadratic (16,000 of each: 19 s). Under
            # accept's lock: a key accepted meanwhile must not change the index mid-build.
            with self._lock:
                by_blob = self._by_blob = self._holders_by_blob()
        return list(by_blob.get(blob, ()))

    def _holders_by_blob(self) -> dict[bytes, list[tuple[str, str]]]:
        """Plain entries' (name, origin) by key, as `holders` lists them: named entries first
        (in index order), then hashed ones, then patterns."""
        by_blob: dict[bytes, list[tuple[str, str]]] = {}
        named = [(name, e) for name, entries in self._exact.items() for e in entries]
        named += [("a hashed name", e) for by_hash in self._hashed.values()
                  for entries in by_hash.values() for e in entries]
        named += [("a host pattern", e) for _, e in self._patterns]
        for name, e in named:
            if e.marker is None:
                by_blob.setdefault(e.blob, []).append((name, e.origin))
        return by_blob

    def known_types(self, name: str) -> set[str]:
        """Key types ssh asks for first for `name` (order_hostkeyalgs): a type counts when
        the first key of that type remembered for it is not also @revoked for it."""
        entries = self.entries_for(name)
        revoked = {e.blob for e in entries if e.marker == "revoked"}
        first: dict[str, bytes] = {}
        for e in entries:
            if e.marker is None:
                first.setdefault(e.key_type, e.blob)
        return {t for t, blob in first.items() if blob not in revoked}

    def check(self, name: str, key_type: str, blob: bytes) -> Check:
        """OpenSSH's decision for a presented key: revoked, known, changed (a different key
        of its type, or only keys of other types: OTHER_TYPE), or unknown."""
        entries = self.entries_for(name)
        revoked = [e for e in entries if e.marker == "revoked" and e.blob == blob]
        if revoked:
            return Check(Verdict.REVOKED, tuple(revoked))
        plain = [e for e in entries if e.marker is None]
        same = [e for e in plain if e.blob == blob]
        if same:
            return Check(Verdict.KNOWN, tuple(same))
        cas = tuple(e for e in entries if e.marker == "cert-authority")
        same_type = [e for e in plain if e.key_type == key_type]
        if same_type:
            return Check(Verdict.CHANGED, tuple(same_type))
        if plain:
            return Check(Verdict.OTHER_TYPE, tuple(plain))
        return Check(Verdict.UNKNOWN, (), cas)

    def check_host(self, name: str, fallback: str | None, key_type: str, blob: bytes) -> Check:
        """`check` as ssh does it for a host: a host on another port than 22 that nothing
        is known for under '[host]:port' is looked up again by its bare name (`fallback`),
        where only the same key (or its revocation) decides."""
        found = self.check(name, key_type, blob)
        if found.verdict is Verdict.UNKNOWN and fallback is not None:
            again = self.check(fallback, key_type, blob)
            if again.verdict in (Verdict.KNOWN, Verdict.REVOKED):
                return again
        return found

    def accept(self, name: str, key_type: str, blob: bytes, path: Path, *,
               hashed: bool = False) -> Check:
        """Trust on first use: re-check under a lock, then append the key to `path` atomically.

        Returns the verdict after the re-check: another thread may have added a key
        for the same name meanwhile, and then that key decides.
        """
        with self._lock:
            again = self.check(name, key_type, blob)
            if again.verdict is not Verdict.UNKNOWN:
                return again
            if hashed:
                salt = secrets.token_bytes(20)
                digest = hmac.digest(salt, name.encode(), "sha1")
                field = _hashed_field(salt, digest)
            else:
                field = name
            line = f"{field} {key_type} {base64.b64encode(blob).decode()}\n"
            append_line(path, line)
            self._seq += 1
            self._by_blob = None
            entry = Entry(None, key_type, blob, f"{path}:(added)", self._seq)
            if hashed:
                self._hashed.setdefault(salt, {}).setdefault(digest, []).append(entry)
                self._states = None
            else:
                self._exact.setdefault(name, []).append(entry)
            self._memo.pop(name, None)
            return Check(Verdict.KNOWN, (entry,), added=True)


def _b64_or_none(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error is one
        return None


def _hashed_field(salt: bytes, digest: bytes) -> str:
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


# How an unknown host's message says its key is known under other names (hints.py reads it).
KNOWN_ELSEWHERE = "; the same key is known for "


def known_elsewhere(holders: list[tuple[str, str]], limit: int = 3) -> str:
    """'; the same key is known for web1 (known_hosts:3), ...' or '' when it is not."""
    if not holders:
        return ""
    named = ", ".join(f"{name} ({origin})" for name, origin in holders[:limit])
    more = f" and {len(holders) - limit} more" if len(holders) > limit else ""
    return KNOWN_ELSEWHERE + named + more


def append_line(path: Path, line: str) -> None:
    """Append one line with a single write under an exclusive lock, then fsync.

    Concurrent writers (threads, worker processes, another ssh) never interleave
    and a reader never sees half a line.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            data = line.encode()
            size = os.fstat(fd).st_size
            if size:
                with open(path, "rb") as f:  # a last line without newline must stay whole
                    f.seek(size - 1)
                    if f.read(1) != b"\n":
                        data = b"\n" + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


class KnownHostsStore:
    """Indexes per distinct list of files, each built once per run (thread-safe)."""

    def __init__(self) -> None:
        self._indexes: dict[tuple[str, ...], KnownHosts] = {}
        self._lock = threading.Lock()

    def get(self, paths: Sequence[str]) -> KnownHosts:
        """The index over `paths`, built on first use."""
        key = tuple(paths)
        with self._lock:
            index = self._indexes.get(key)
            if index is None:
                index = self._indexes[key] = KnownHosts.load(key)
            return index
