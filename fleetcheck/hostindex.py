"""Which items of a sequence (policies, waivers) select each host, found by the host's name."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import chain


class HostIndex:
    """Positions of the items that select each host, in the items' order, found without
    asking every item about every host (an item per host made that quadratic: 8,000
    waivers and hosts cost seconds). Items bound to the same hosts share one entry, so
    a thousand waivers on `all` hold one list for the fleet, not one per host."""

    def __init__(self, every: Iterable[int], named: Iterable[tuple[int, frozenset[str]]],
                 ) -> None:
        """`every`: positions of the items that select every host; `named`: each other
        item's position and the names of the hosts it selects."""
        self._every = list(every)
        by_names: dict[frozenset[str], list[int]] = {}
        for at, names in named:
            by_names.setdefault(names, []).append(at)
        self._of_host: dict[str, list[list[int]]] = {}
        for names, ats in by_names.items():
            for name in names:
                self._of_host.setdefault(name, []).append(ats)

    def of(self, host: str) -> list[int]:
        """Positions of the items selecting `host`, in order."""
        return sorted(chain(self._every, *self._of_host.get(host, ())))
