"""Bounded input: every file and helper-program output fleetcheck reads has a size limit.

A limit exceeded is one located InputError (exit 2), found before the memory is
spent: files are read at most one byte past their limit, and a program printing
too much is killed (its whole process group) as soon as it passes the limit.
The limits are documented in docs/inventory.md ("Limits").
"""

from __future__ import annotations

import fcntl
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence
from typing import IO, BinaryIO, Protocol

from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen

MIB = 1 << 20
MAX_INVENTORY_BYTES = 256 * MIB  # an inventory file, or what an inventory script prints
MAX_YAML_BYTES = 64 * MIB  # text given to the YAML or TOML parser (memory ~25x the text)
MAX_LIST_BYTES = 16 * MIB  # a `--limit @file`
MAX_SECRET_BYTES = 64 * 1024  # a vault password file, or what a password script prints
MAX_KEY_BYTES = 1 * MIB  # an SSH key or certificate file (a 16384-bit RSA key is 13 KiB)
MAX_CAPTURE_BYTES = 256 * MIB  # a captured tool output given to `fleetcheck parse`
MAX_RUN_BYTES = 1024 * MIB  # a saved run (`report`, `explain --run`): 50,000 hosts fit
MAX_STDERR_TAIL = 64 * 1024  # of a helper's stderr, only the end is kept (for the message)
# Lists and mappings within each other: in a variable's value (inventories, vars files,
# extra vars), and in a policy, waiver or configuration document from its top. ansible-core
# 2.19 fails to parse a source holding a variable ~162 levels deep (its walks recurse); past
# 160 fleetcheck refuses the data with a located error instead of meeting a RecursionError
# in one of its own walks later.
MAX_NESTING = 160
MAX_HOSTS = 500_000  # hosts in one inventory (ten times the largest fleet we plan for)
MAX_GROUPS = 500_000  # groups in one inventory
# YAML aliases may add this many nodes, or ten times the nodes written, whichever is more.
MIN_ALIAS_BUDGET = 1_000_000
ALIAS_FACTOR = 10
_CHUNK = 1 << 16


class TooLarge(InputError):
    """An input past its size limit (no reader should go on to try it another way)."""


def size_text(limit: int) -> str:
    """A byte count as people write limits: '256 MiB', '64 KiB'."""
    if limit >= MIB and limit % MIB == 0:
        return f"{limit // MIB} MiB"
    if limit >= 1024 and limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


def too_large(what: str, limit: int) -> str:
    """The message for an input past its limit."""
    return f"{what} is larger than the {size_text(limit)} limit"


def too_deep(data: object, limit: int = MAX_NESTING) -> object | None:
    """The first list or mapping (in the order written) in `data` nested more than `limit`
    levels deep, else None."""
    if not isinstance(data, (dict, list)) or _depth_fits(data, limit):
        return None
    Box = dict[object, object] | list[object]
    stack: list[tuple[Box, int]] = [(data, 1)]
    while stack:  # a loop, not recursion: the depth is what is being checked
        value, depth = stack.pop()
        if depth > limit:
            return value
        kids = [kid for kid in (value.values() if isinstance(value, dict) else value)
                if isinstance(kid, (dict, list))]
        stack.extend((kid, depth + 1) for kid in reversed(kids))  # the first written, first
    return None


def _depth_fits(data: dict[object, object] | list[object], limit: int) -> bool:
    """Whether no container in `data` is nested past `limit`: level by level, the cheap
    pass every value takes (most hold no container at all)."""
    level: list[object] = [data]
    for _ in range(limit):
        nxt: list[object] = []
        for value in level:
            for kid in value.values() if isinstance(value, dict) else value:  # type: ignore[attr-defined]
                if isinstance(kid, (dict, list)):
                    nxt.append(kid)
        if not nxt:
            return True
        level = nxt
    return False


class Locates(Protocol):
    """A place in an input (a file's line and column) that can state an error there."""

    def error(self, message: str) -> InputError: ...


def check_nesting(data: object, where: str | Locates, subject: str = "data",
                  limit: int = MAX_NESTING) -> None:
    """InputError at the first list or mapping of `data` nested more than `limit` levels
    deep: where it was read when the reader kept positions, else at `where` (a path or a
    place), its message "{subject} nested more than {limit} levels deep (...)"."""
    found = too_deep(data, limit)
    if found is None:
        return
    message = f"{subject} nested more than {limit} levels deep (lists and mappings within " \
              "each other)"
    mark = getattr(found, "mark", None)  # the located readers' containers know their place
    if mark is not None:
        raise mark.error(message)
    raise InputError(message, where) if isinstance(where, str) else where.error(message)


def open_no_wait(path: str | os.PathLike[str]) -> BinaryIO:
    """`open(path, "rb")`, except that a FIFO nobody has open for writing reads as empty
    instead of waiting for a writer for ever (a pipe being written, `-i <(script)`, reads
    as before): opened without blocking, then read as usual."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bounded(path: str, limit: int, what: str, shown: str | None = None) -> bytes:
    """The bytes of `path`; InputError naming it (as `shown`, if given) when unreadable or
    larger than `limit`."""
    shown = shown or path
    try:
        with open_no_wait(path) as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise TooLarge(too_large(what, limit), shown)
            # read(n) allocates n bytes up front: ask for what the file holds, one byte
            # more to see it did not grow; a device or FIFO (no size) is read in chunks.
            chunks = [f.read(size + 1)] if size else []
            total = sum(map(len, chunks))
            while total <= limit and (not chunks or chunks[-1]):
                chunks.append(f.read(min(_CHUNK, limit + 1 - total)))
                total += len(chunks[-1])
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", shown) from None
    if total > limit:
        raise TooLarge(too_large(what, limit), shown)
    return b"".join(chunks)


def read_stream(stream: IO[str], limit: int, what: str, name: str) -> str:
    """All of a text stream (stdin), or TooLarge once it passes `limit` characters."""
    text = stream.read(limit + 1)
    if len(text) > limit:
        raise TooLarge(too_large(what, limit), name)
    return text


def check_text_size(text: str | bytes, limit: int, what: str, path: str) -> None:
    """InputError when `text` (already read) is longer than `limit` bytes."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise TooLarge(too_large(what, limit), path)


@frozen
class Completed:
    """A helper program that finished: exit code, all of stdout, the end of stderr."""

    returncode: int
    stdout: bytes
    stderr: bytes


class OutputTooLarge(Exception):
    """The program printed more than its limit on stdout; it has been killed."""


class TimedOut(Exception):
    """The program ran past its time limit; it has been killed."""


def run_bounded(argv: Sequence[str], *, timeout: float, max_stdout: int,
                own_group: bool = True) -> Completed:
    """Run `argv` and collect its output, killing it past `timeout` or `max_stdout` bytes.

    With own_group the program gets its own process group and the whole group is
    killed (an inventory script's children too); without, only the program (a vault
    password script may need the terminal's process group to prompt).
    OSError when it cannot be started.
    """
    proc = subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            process_group=0 if own_group else None)
    assert proc.stdout is not None and proc.stderr is not None
    out = bytearray()
    err = bytearray()
    deadline = time.monotonic() + timeout
    try:
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ, out)
            sel.register(proc.stderr, selectors.EVENT_READ, err)
            while sel.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimedOut
                for key, _ in sel.select(timeout=remaining):
                    chunk = os.read(key.fd, _CHUNK)
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    buf: bytearray = key.data
                    buf += chunk
                    if buf is out and len(out) > max_stdout:
                        raise OutputTooLarge
                    if buf is err and len(err) > 2 * MAX_STDERR_TAIL:
                        del err[:-MAX_STDERR_TAIL]
        try:
            code = proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            raise TimedOut from None
    except BaseException:
        _kill(proc, own_group)
        raise
    finally:
        proc.stdout.close()
        proc.stderr.close()
    return Completed(code, bytes(out), bytes(err[-MAX_STDERR_TAIL:]))


def run_checked(argv: Sequence[str], what: str, path: str, *, timeout: float, max_stdout: int,
                own_group: bool = True) -> Completed:
    """run_bounded, with a time or size limit exceeded as an InputError about `what` at `path`."""
    try:
        return run_bounded(argv, timeout=timeout, max_stdout=max_stdout, own_group=own_group)
    except TimedOut:
        raise InputError(f"{what} ran longer than {timeout:g} s (killed)", path) from None
    except OutputTooLarge:
        raise InputError(f"{what} printed more than the {size_text(max_stdout)} limit (killed)",
                         path) from None


def _kill(proc: subprocess.Popen[bytes], own_group: bool) -> None:
    """Kill the program (and its group when it has one) and reap it."""
    try:
        if own_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass
    proc.wait()
