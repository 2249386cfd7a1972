"""Live: net-tools netstat speaking each language it is translated to (LANGUAGE=cs, de,
et, fr, ja, pt_BR) gives the same listeners as in English.

Its titles, headers, TCP states ('NASLOUCHÁ', 'OUÇA', 'POSLEDNÍ ACK') and -o timers
('aus (0.00/0/0)', 'eikäi ((0.00/0/0)') are translated; the probe runs it with LC_ALL=C,
but a user may hand `fleetcheck parse` what they captured in their own language. Real
sockets in a lab namespace, connected ones too, so that -a prints translated states.
"""

from __future__ import annotations

import glob
import os
import socket
import subprocess
from collections.abc import Iterator

import pytest

from fleetcheck.parsers import PARSERS
from tests.lab.netns import Namespace, Sock, holding, in_netns
from tests.lab.prereq import require, require_netns

pytestmark = pytest.mark.lab

LANGUAGES = ("cs", "de", "et", "fr", "ja", "pt_BR")
FLAGS = ("-tulnpe", "-tulnp", "-tulnpeo", "-tuanpe", "-an", "-anpo")
PLANTED = [Sock("tcp", "0.0.0.0", 25001, process="lang srv"),
           Sock("tcp", "::", 25002, process="langv6", v6only=True),
           Sock("udp", "127.0.0.1", 25003, process="langudp"),
           Sock("tcp", "127.0.0.1", 25004, process="langpeer")]


@pytest.fixture(scope="module")
def ns() -> Iterator[Namespace]:
    require_netns()
    require(bool(glob.glob("/usr/share/locale/*/LC_MESSAGES/net-tools.mo")),
            "net-tools' message catalogs (the net-tools package)")
    with holding(PLANTED) as (space, _):
        with in_netns(space.name):  # an established connection: -a prints its state
            peer = socket.create_connection(("127.0.0.1", 25004))
        yield space
        peer.close()


def _netstat(ns: Namespace, flags: str, language: str | None) -> str:
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    env.pop("LANGUAGE", None)
    if language is not None:
        env["LANGUAGE"] = language
    else:
        env["LC_ALL"] = "C"
    return subprocess.run(ns.exec_argv(["netstat", flags]), capture_output=True, env=env,
                          check=True).stdout.decode("utf-8", "replace")


@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_translated_netstat_lists_what_english_does(ns: Namespace, language: str,
                                                    flags: str) -> None:
    english = _netstat(ns, flags, None)
    translated = _netstat(ns, flags, language)
    assert translated.splitlines()[0] != english.splitlines()[0]  # it did speak `language`
    want = PARSERS["netstat"](english)
    assert {(li.proto, li.address, li.port) for li in want} >= {
        (s.proto, s.address, s.port) for s in PLANTED}
    assert PARSERS["netstat"](translated) == want
