"""Damaged and odd inputs for the bad-input fuzz tests: byte and YAML mutations, checks.

Every mutation is driven by one `random.Random`, so a failing case is reproduced from its
seed alone (the fuzz tests print it).
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import CliResult

# Bytes a parser meets least often: NUL, controls, an invalid UTF-8 byte, a lone surrogate
# as UTF-8 would write it, a BOM, line and paragraph separators, NEL, a right-to-left mark.
ODD_BYTES: tuple[bytes, ...] = (
    b"\x00", b"\x01", b"\x1b[31m", b"\x7f", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf",
    "\u2028".encode(), "\u2029".encode(), "\u0085".encode(), "\u202e".encode(), b"\r", b"\t",
    b"\n", b"\\", b"'", b'"', b"{", b"[", b":", b"#", b"%", b"&a", b"*a", b"!!binary ",
    b"!vault ", b"{{ ", b" }}", "é".encode(), "\U0001f600".encode(), b"=", b",", b"@",
    b"[" * 3000 + b"]" * 3000, b"{a: " * 600 + b"1" + b"}" * 600, b"- " * 500 + b"x\n",
    b"9" * 5000, b"1e999", b"&x [*x, *x]", b"<<: *a\n",
)

# Values of every YAML type, for a key that expects another.
ODD_VALUES: tuple[Any, ...] = (
    None, True, False, 0, -1, 65536, 2**64, -(2**70), 1.5, float("inf"), float("nan"), "",
    " ", "x" * 300, "0", "-", "*", "~", "2030-01-01", "a\nb", "\x00", [], {}, [None], [[1]],
    {"a": None}, {"k": [1, {"x": 2}]}, [""], ["all"], "yes", "no", "on", "null",
)


def deep(levels: int, leaf: Any = 1, as_list: bool = False) -> Any:
    """`leaf` nested `levels` deep in lists or single-key mappings."""
    value = leaf
    for _ in range(levels):
        value = [value] if as_list else {"k": value}
    return value


def odd_value(rnd: random.Random) -> Any:
    """A value of a random type: scalars, containers, dates, or a deep nesting."""
    roll = rnd.random()
    if roll < 0.05:
        return deep(rnd.choice([20, 60]), as_list=rnd.random() < 0.5)
    if roll < 0.1:
        import datetime as dt
        return rnd.choice([dt.date(2030, 1, 2), dt.datetime(2030, 1, 2, 3, 4, 5)])
    return rnd.choice(ODD_VALUES)


def mutate_bytes(data: bytes, rnd: random.Random) -> bytes:
    """`data` damaged once: truncated, cut, with odd bytes inserted, a line doubled or moved."""
    op = rnd.randrange(7)
    at = rnd.randint(0, len(data))
    if op == 0:
        return data[:at]
    if op == 1:
        return data[:at] + data[at + rnd.randint(1, 40):]
    if op in (2, 3):
        noise = b"".join(rnd.choice(ODD_BYTES) for _ in range(rnd.randint(1, 4)))
        return data[:at] + noise + data[at:]
    if op == 4:
        return bytes(rnd.randrange(256) for _ in range(rnd.randint(0, 64)))
    lines = data.splitlines(keepends=True)
    if not lines:
        return data
    i = rnd.randrange(len(lines))
    if op == 5:  # a duplicate key, section or host where it was a line
        return b"".join([*lines[:i + 1], lines[i], *lines[i + 1:]])
    j = rnd.randrange(len(lines))
    lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into a loaded YAML/JSON document (the root is ())."""
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def mutate_tree(doc: Any, rnd: random.Random) -> Any:
    """`doc` with one node replaced by an odd value, dropped, or a key renamed/retyped."""
    paths = _paths(doc)
    path = rnd.choice(paths)
    if not path:
        return odd_value(rnd)
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    roll = rnd.random()
    if roll < 0.7:
        parent[last] = odd_value(rnd)
    elif roll < 0.85:
        del parent[last]
    elif isinstance(parent, dict):  # the same value under an odd key
        value = parent.pop(last)
        parent[rnd.choice([None, 1, True, "", "x y", 2.5, "\u2028"])] = value
    else:
        parent.insert(last, parent[last])
    return doc


def mutate_yaml(data: bytes, rnd: random.Random) -> bytes:
    """A YAML file with one node of the wrong type (text damage if it does not load)."""
    try:
        doc = yaml.safe_load(data)
    except (yaml.YAMLError, RecursionError):  # an earlier damage may have nested it deep
        return mutate_bytes(data, rnd)
    doc = mutate_tree(doc, rnd)
    return yaml.safe_dump(doc, allow_unicode=rnd.random() < 0.5, sort_keys=False).encode()


def mutate_json(data: bytes, rnd: random.Random) -> bytes:
    """A JSON document with one node of the wrong type (a non-finite number written raw)."""
    doc = mutate_tree(json.loads(data), rnd)
    return json.dumps(doc, default=str).encode()


def mutate_file(data: bytes, name: str, rnd: random.Random) -> bytes:
    """`data` (a file called `name`) damaged: structurally for YAML/JSON, else as bytes."""
    roll = rnd.random()
    if roll < 0.05:
        return b""
    if roll < 0.5:
        return mutate_bytes(data, rnd)
    if name.endswith(".json"):
        try:
            return mutate_json(data, rnd)
        except (ValueError, RecursionError):
            return mutate_bytes(data, rnd)
    if name.endswith((".yml", ".yaml")) or "_vars" in name:
        return mutate_yaml(data, rnd)
    return mutate_bytes(data, rnd)


def replace_path(path: Path, rnd: random.Random) -> str:
    """`path` made unreadable as a file: a directory, a dangling symlink, or missing."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    kind = rnd.choice(["dir", "dangling", "missing", "loop"])
    if kind == "dir":
        path.mkdir()
        (path / "inside.yml").write_bytes(b"a: [\n")
    elif kind == "dangling":
        path.symlink_to(path.parent / "no-such-target")
    elif kind == "loop":
        path.symlink_to(path)
    return kind


def damage_tree(root: Path, rnd: random.Random, count: int = 1) -> list[Path]:
    """Damage `count` files under `root` (a file or a directory); returns those touched."""
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    touched = []
    for _ in range(count):
        if not files:
            break
        victim = rnd.choice(files)
        if rnd.random() < 0.06:
            replace_path(victim, rnd)
            files.remove(victim)
        else:
            victim.write_bytes(mutate_file(victim.read_bytes(), victim.name, rnd))
        touched.append(victim)
    return touched


def copy_seed(source: Path, dest: Path) -> Path:
    """`source` copied to `dest` with no file executable (a damaged script must not run)."""
    if source.is_dir():
        shutil.copytree(source, dest, symlinks=True)
        for p in dest.rglob("*"):
            if p.is_file() and not p.is_symlink():
                p.chmod(0o644)
    else:
        shutil.copyfile(source, dest)
        dest.chmod(0o644)
    return dest


_TRACE = re.compile(r"Traceback \(most recent call last\)|^\s+File \"", re.M)
_PY_WARNING = re.compile(r"\b\w*Warning: |warnings\.warn")


def problems(result: CliResult, argv: list[str], files: list[Path], root: Path) -> list[str]:
    """What breaks the bad-input contract in `result`: exit 70, a traceback, a Python
    warning, or an exit 2 without a one-line error naming a path under `root` (one of
    `files`, or a path one of them names) or one of the words of `argv` (`validate` lists
    its problems on stdout)."""
    found = []
    if result.code == 70:
        found.append("internal error (exit 70)")
    if _TRACE.search(result.err) or _TRACE.search(result.out):
        found.append("traceback printed")
    if _PY_WARNING.search(result.err):
        found.append("a Python warning leaked")
    if result.code == 2 and argv[:1] == ["validate"] and "json" in argv:
        found += _validate_json(result)
    elif result.code == 2:
        # validate lists its problems on stdout; with --strict a warning is an error too.
        text = result.err + (result.out if argv[:1] == ["validate"] else "")
        marks = ("error:", "warning:") if "--strict" in argv else ("error:",)
        errors = [line for line in text.splitlines() if any(m in line for m in marks)]
        # An argument is quoted as one_line shows it (controls escaped); argparse names it.
        words = {form for arg in argv[1:] for w in (arg, arg.lstrip("-")) if w.strip()
                 for form in (w, w.encode("unicode_escape").decode())} | {"argument"}
        words |= {repr(arg) for arg in argv[1:] if not arg.strip()}  # '' and ' ', quoted
        if not errors:
            found.append("exit 2 without an error line")
        elif not any(str(root) in line or _names(line, files, root)
                     or any(w in line for w in words) for line in errors):
            found.append("the error names neither a damaged file nor an argument")
    return found


def _validate_json(result: CliResult) -> list[str]:
    """What is wrong with `validate --format json`'s exit 2: its problems must say why."""
    if result.err and not result.out:  # stopped before validating: one error line
        return [] if result.err.count("\n") == 1 else ["more than one error line"]
    try:
        problems = json.loads(result.out)["problems"]
    except (ValueError, KeyError, TypeError):
        return ["validate --format json printed no document"]
    return [] if problems and all(p["message"] for p in problems) else \
        ["validate --format json exit 2 with no problem listed"]


def _names(line: str, files: list[Path], root: Path) -> bool:
    """True when `line` names one of `files` or a directory under `root` holding one, or
    quotes a word of one (a path a config file names: the error is about that path)."""
    for f in files:
        if f.is_file() and not f.is_symlink() and f.stat().st_size < 4096:
            words = re.split(r"[\s\[\]{},:=\"']+", f.read_text("utf-8", "replace"))
            if any(len(w) >= 3 and f"/{w}:" in line for w in words):
                return True
        for candidate in (f, *f.parents):
            if candidate == root or root not in candidate.parents:
                break
            if candidate.name in line:
                return True
    return False


Builder = Callable[[random.Random, Path], tuple[list[str], list[Path]]]
