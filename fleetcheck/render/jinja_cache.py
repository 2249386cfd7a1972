"""Compiled report templates kept between runs (Jinja2's bytecode cache), never at a report's cost.

Compiling the HTML report's templates took about 0.1 s of CPU in every run, a third of a
millisecond per host of a 300-host scan. Jinja2's own default directory is used: per user,
created 0700 and refused if anyone else owns it, since what is loaded from it is code.
Jinja2 checks an entry against its template's source and the interpreter, not against the
environment's settings, so the file names also carry a digest of the settings and of both
versions: an upgrade or another setting never reads an entry compiled for something else.
A cache that cannot be made, read or written is no cache: the report is rendered the same.
"""

from __future__ import annotations

import contextlib
import hashlib

import jinja2
from jinja2 import BytecodeCache, Environment, FileSystemBytecodeCache
from jinja2.bccache import Bucket

from fleetcheck import __version__


class _Tolerant(FileSystemBytecodeCache):
    """Jinja2's file cache, with I/O failures (a full or read-only disk) ignored."""

    def load_bytecode(self, bucket: Bucket) -> None:
        """Fill `bucket` from its file when that can be read; else leave it empty."""
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Write `bucket` when that can be done; else forget it."""
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


# What an Environment compiles a template's source with: the same source compiled under other
# values of these is other code.
_COMPILE_SETTINGS = ("block_start_string", "block_end_string", "variable_start_string",
                     "variable_end_string", "comment_start_string", "comment_end_string",
                     "line_statement_prefix", "line_comment_prefix", "trim_blocks",
                     "lstrip_blocks", "newline_sequence", "keep_trailing_newline",
                     "autoescape", "optimized")


def compile_settings(env: Environment) -> list[tuple[str, object]]:
    """`env`'s settings that shape compiled templates (its extensions included)."""
    return [*((k, getattr(env, k)) for k in _COMPILE_SETTINGS),
            ("extensions", sorted(env.extensions))]


def template_cache(settings: object, directory: str | None = None) -> BytecodeCache | None:
    """The bytecode cache for templates compiled with `settings` (in `directory`, else
    Jinja2's per-user one), or None where none can be had."""
    key = hashlib.sha256(repr((__version__, jinja2.__version__, settings)).encode())
    try:
        return _Tolerant(directory, f"fleetcheck-{key.hexdigest()[:16]}-%s.cache")
    except (OSError, RuntimeError):  # no safe directory for it (Jinja2 checks owner and mode)
        return None
