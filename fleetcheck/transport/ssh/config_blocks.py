"""The blocks of an ssh_config file one host's lookup reads, found without reading them all.

ssh reads its configuration once per host, so a `Host` block for every host costs it one
pass; fleetcheck looks up every host of a run in one process, and walking every block for
each host was quadratic (4,000 hosts with a block each: 15 s). A block whose `Host` line
names hosts literally (no `*`, `?` or `!`) is on only for those names, and a block that is
off applies nothing (an Include in it reads nothing either), so such blocks are indexed by
name; every other block (a pattern, a `Match`) is read for every host, in file order.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from fleetcheck.frozen import frozen

E = TypeVar("E")

# What a line is to the index: not a header (None), a header every host reads (EVERY), or a
# Host line naming exactly these hosts.
EVERY = frozenset({"\0every"})


@frozen
class Blocks(Generic[E]):
    """A file's lines cut before each Host or Match line; which blocks each name reads."""

    blocks: tuple[tuple[E, ...], ...]
    every: tuple[int, ...]  # read for every host: before the first header, patterns, Match
    named: dict[str, tuple[int, ...]]  # literal Host names -> their blocks

    def read_for(self, host: str) -> Iterator[tuple[E, ...]]:
        """The blocks that can apply to `host`, in file order."""
        for i in heapq.merge(self.every, self.named.get(host, ())):
            yield self.blocks[i]


def index_blocks(entries: Sequence[E], header: Callable[[E], frozenset[str] | None],
                 ) -> Blocks[E]:
    """Cut `entries` at each header (`header(e)` not None) and index the literal ones."""
    blocks: list[list[E]] = [[]]
    heads: list[frozenset[str]] = [EVERY]
    for e in entries:
        names = header(e)
        if names is not None:
            blocks.append([])
            heads.append(names)
        blocks[-1].append(e)
    every: list[int] = []
    named: dict[str, list[int]] = {}
    for i, names in enumerate(heads):
        if names is EVERY:
            every.append(i)
        else:
            for name in names:
                named.setdefault(name, []).append(i)
    return Blocks(tuple(tuple(b) for b in blocks), tuple(every),
                  {name: tuple(at) for name, at in named.items()})
