"""Every command over damaged files and odd arguments: never an internal error (exit 70) or
a traceback, no Python warning on stderr, and exit 2 only with a one-line error naming
the damaged file or the argument.

Each case is built from one integer by tests/badinput_cases.py, so a failure is
reproduced from the seed hypothesis prints. FLEETCHECK_FUZZ_EXAMPLES raises the number
of cases per command (the suite runs a few dozen; a hunt runs thousands), and
`--hypothesis-seed` varies them.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetcheck.transport.ssh.known_hosts import KnownHosts
from tests.badinput import mutate_bytes, mutate_file, problems, replace_path
from tests.badinput_cases import BUILDERS, Seeds
from tests.conftest import run_cli, run_files

EXAMPLES = int(os.environ.get("FLEETCHECK_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Seeds:
    """A real run of this machine (local connection only), its bundle and its history."""
    where = tmp_path_factory.mktemp("seed")
    res = run_cli(["scan", "-c", "local", "-o", "out", "--format", "json", "-q",
                   "--evidence", "ev.zip"], cwd=where, environ={"HOME": str(where)})
    assert res.code in (0, 1), res.err
    return Seeds(run_files(where / "out")[0], where / "ev.zip",
                 where / "out" / "fleetcheck-history.sqlite3")


def _case(name: str, seed: int, seeds: Seeds) -> None:
    rnd = random.Random(f"{name}-{seed}")  # noqa: S311 - a replayable draw, no secret
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        argv, files = BUILDERS[name](rnd, ws, seeds)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = run_cli(argv, cwd=ws, environ={"HOME": str(ws)})
        found = problems(res, argv, files, ws)
        found += [f"Python warning: {w.category.__name__}: {w.message}" for w in caught]
        assert not found, (f"{name} seed {seed}: {found}\nargv: {argv}\n"
                           f"stderr: {res.err[-2000:]}")


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_damaged_input_never_crashes(seeds: Seeds, name: str) -> None:
    @FUZZ
    @given(st.integers(0, 2**32))
    def check(seed: int) -> None:
        _case(name, seed, seeds)
    check()


KNOWN_HOSTS = b"""web1,10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5
|1|c2FsdA==|ZGlnZXN0 ssh-rsa AAAAB3NzaC1yc2E=
@revoked * ssh-ed25519 AAAAC3NzaC1lZDI1NTE5
[db*]:2222,!db3 ecdsa-sha2-nistp256 AAAAE2VjZHNh
@cert-authority *.example.net ssh-ed25519 AAAAC3NzaC1lZDI1NTE5
"""


@FUZZ
@given(st.integers(0, 2**32))
def test_damaged_known_hosts_is_read_as_ssh_reads_it(seed: int) -> None:
    # Read per connection, after hosts are contacted: a bad line is skipped, never raised.
    rnd = random.Random(seed)  # noqa: S311 - a replayable draw, no secret
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "known_hosts"
        path.write_bytes(mutate_bytes(KNOWN_HOSTS, rnd))
        if rnd.random() < 0.1:
            replace_path(path, rnd)
        index = KnownHosts.load([path])
        for name in ("web1", "10.0.0.1", "[db1]:2222", "x.example.net", "db3"):
            assert index.check(name, "ssh-ed25519", b"\x00key").verdict is not None
            assert isinstance(index.known_types(name), set)


@FUZZ
@given(st.integers(0, 2**32))
def test_mutations_stay_reproducible(seed: int) -> None:
    # The builders' promise: one seed, one case (a reported seed reproduces the failure).
    text = json.dumps({"a": [1, {"b": "c"}], "d": None}).encode()
    first, again = (random.Random(seed) for _ in range(2))  # noqa: S311 - no secret
    assert mutate_file(text, "x.json", first) == mutate_file(text, "x.json", again)
