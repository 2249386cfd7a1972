"""Every parser says whether an IPv6 wildcard also takes IPv4 only where its output shows it.

Modern ss (`*`, `[::]`, `v6only:`), FreeBSD/macOS netstat and sockstat (`tcp46`/`tcp6`) show
it; old ss, net-tools and BusyBox netstat, lsof, /proc, Solaris netstat, Windows netstat and
Get-NetTCPConnection print an IPv6 wildcard as `::` either way, so its dual_stack is None
(not shown; the judge weighs both ways). Every other address is never dual-stack. Read
over the shared corpus (real outputs of every OS family).
"""

from __future__ import annotations

import pytest

from fleetcheck.parsers import PARSERS
from tests.conftest import CORPUS
from tests.lab.prereq import require_corpus
from tests.parsers.test_corpus_linux import FILES, tool_for
from tests.parsers_os.cases import CORPUS_TOOLS, corpus_path, read

SHOWN = ("ss", "sockstat")  # and bsd-netstat where the OS prints tcp46 (see below)
UNSHOWN = ("netstat", "busybox-netstat", "lsof", "lsof-fields", "proc-net", "solaris-netstat",
           "windows-netstat", "powershell")
# HP-UX and AIX netstat print 'tcp6' for an IPv6 socket whether or not it takes IPv4,
# where FreeBSD and macOS print 'tcp46' for one that does: the BSD parser cannot yet tell
# those OSes apart from the output alone, and keeps 'tcp6' as IPv6-only for all of them.
KEPT_AS_PRINTED = ("hpux/", "aix/")
# Old ss (the corpus README names these) printed every IPv6 wildcard as ':::' or '[::]':
# shown only on a row with -e's v6only: (tests/parsers/test_linux_dialects.py, per row).
OLD_SS = {"linux/ss-a-centos7": None, "linux/ss-tulpen-old-mixed": False}

CASES = sorted([*((f"linux/{p.stem}", tool_for(p)) for p in FILES),
                *CORPUS_TOOLS.items()])


@pytest.mark.parametrize(("name", "tool"), CASES)
def test_dual_stack_only_where_the_output_shows_it(name: str, tool: str) -> None:
    require_corpus(CORPUS)
    for li in PARSERS[tool](read(corpus_path(name))):
        wildcard6 = li.family == 6 and li.address == "::"
        if not wildcard6:
            assert li.dual_stack is False, (name, li)
        elif name in OLD_SS:  # the first without -e, the second with v6only:1 on its ::
            assert li.dual_stack is OLD_SS[name], (name, li)
        elif tool in UNSHOWN:
            assert li.dual_stack is None, (name, li)
        elif tool in SHOWN or not name.startswith(KEPT_AS_PRINTED):
            assert li.dual_stack in (True, False), (name, li)
