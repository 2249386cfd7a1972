"""paramiko is loaded without `invoke`, and paramiko's own `Match exec` still finds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fleetcheck import sshlib
from tests.conftest import REPO


def _python(code: str) -> list[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=REPO).stdout.split()


def test_every_module_of_ours_that_uses_paramiko_loads_it_through_sshlib() -> None:
    """Any one of them may be the first to load paramiko; a plain `import paramiko` before
    sshlib's would load invoke again."""
    users = [p for p in (REPO / "fleetcheck").rglob("*.py")
             if p.name != "sshlib.py" and ("import paramiko" in p.read_text()
                                          or "from paramiko" in p.read_text())]
    assert len(users) >= 7, users
    for path in users:
        lines = path.read_text().splitlines()
        via = [n for n, line in enumerate(lines) if line.startswith("from fleetcheck.sshlib ")]
        direct = [n for n, line in enumerate(lines)
                  if line.startswith(("import paramiko", "from paramiko"))]
        assert via and all(via[0] < n for n in direct), Path(path).relative_to(REPO)


def test_a_scan_s_transport_loads_paramiko_without_invoke() -> None:
    out = _python("import sys, fleetcheck.transport.ssh.connector, fleetcheck.evidence.sshsig; "
                  "print('paramiko' in sys.modules, 'invoke' in sys.modules, "
                  "'asyncio' in sys.modules, 'unittest.mock' in sys.modules)")
    assert out == ["True", "False", "False", "False"]


def test_paramiko_s_match_exec_imports_invoke_when_it_is_used() -> None:
    """A program using fleetcheck as a library and paramiko's SSHConfig in the same process
    loses nothing: `Match exec` runs its command through the real invoke, loaded then."""
    code = ("import sys; import fleetcheck.transport.ssh.auth; import paramiko; "
            "print('invoke' in sys.modules); "
            "c = paramiko.SSHConfig.from_text('Match exec \"exit 0\"\\n  User yes\\n"
            "Match exec \"exit 1\"\\n  Port 2\\n'); "
            "found = c.lookup('h'); print(found['user'], found.get('port', 'none'), "
            "'invoke' in sys.modules)")
    assert _python(code) == ["False", "yes", "none", "True"]


def test_paramiko_imported_first_is_left_as_it_is() -> None:
    out = _python("import paramiko, sys; from fleetcheck.sshlib import paramiko as p; "
                  "print(p is paramiko, 'invoke' in sys.modules, "
                  "type(paramiko.config.invoke).__name__)")
    assert out == ["True", "True", "module"]
    assert sshlib.paramiko is sys.modules["paramiko"]
