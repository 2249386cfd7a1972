"""Shell completion scripts, generated from the parser, loaded into real bash and zsh."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from fleetcheck.cli.main import COMMANDS
from tests.conftest import run_cli
from tests.lab.prereq import require


def _script(tmp_path: Path, shell: str) -> Path:
    res = run_cli(["completion", shell], cwd=tmp_path)
    assert res.code == 0, res.err
    path = tmp_path / f"fleetcheck.{shell}"
    path.write_text(res.out)
    return path


def _bash_complete(script: Path, words: list[str], cwd: Path) -> list[str]:
    """What bash offers for the last of `words`, through the function the script
    registered with `complete` (as the shell calls it on TAB)."""
    line = " ".join(words)
    program = f"""
source {script}
spec=$(complete -p fleetcheck) || exit 3
func=$(printf '%s\\n' "$spec" | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')
COMP_WORDS=({" ".join(repr(w) for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE={line!r}
COMP_POINT={len(line)}
"$func" fleetcheck {words[-1]!r} {words[-2]!r}
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    out = subprocess.run(["bash", "--norc", "--noprofile", "-c", program], cwd=cwd,
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return [w for w in out.stdout.split("\n") if w]


def test_bash_registers_and_completes_commands_options_choices_and_files(
        tmp_path: Path) -> None:
    require(shutil.which("bash") is not None, "bash")
    script = _script(tmp_path, "bash")
    spec = subprocess.run(["bash", "--norc", "-c", f"source {script}; complete -p fleetcheck"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert spec.returncode == 0 and spec.stdout.startswith("complete ") and "-F " in spec.stdout
    assert set(_bash_complete(script, ["fleetcheck", ""], tmp_path)) >= \
        {c.name for c in COMMANDS}
    assert _bash_complete(script, ["fleetcheck", "sc"], tmp_path) == ["scan"]
    options = _bash_complete(script, ["fleetcheck", "scan", "--rep"], tmp_path)
    assert options == ["--report"]
    assert set(_bash_complete(script, ["fleetcheck", "scan", "--color", ""], tmp_path)) == \
        {"auto", "always", "never"}
    assert _bash_complete(script, ["fleetcheck", "completion", "z"], tmp_path) == ["zsh"]
    (tmp_path / "hosts.ini").write_text("localhost\n")
    assert "hosts.ini" in _bash_complete(script, ["fleetcheck", "scan", "-i", "ho"], tmp_path)


def test_zsh_loads_the_script_and_defines_its_completion(tmp_path: Path) -> None:
    require(shutil.which("zsh") is not None, "zsh")
    script = _script(tmp_path, "zsh")
    check = subprocess.run(["zsh", "-n", str(script)], capture_output=True, text=True, check=False,
                           timeout=60)
    assert check.returncode == 0, check.stderr
    # Loaded as a user's .zshrc would (eval registers it with compdef).
    program = (f'autoload -U compinit && compinit -u -D && eval "$(<{script})" && '
               "print -r -- ${_comps[fleetcheck]} && whence -w _shtab_fleetcheck")
    out = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True,
                         timeout=60, cwd=tmp_path,
                         env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["_shtab_fleetcheck", "_shtab_fleetcheck: function"]
    text = script.read_text()
    for command in COMMANDS:
        assert f"{command.name}:" in text or f"'{command.name}'" in text, command.name
    assert "--report" in text and "(auto always never)" in text


@pytest.mark.parametrize("shell", ["fish", ""])
def test_other_shells_are_a_usage_error(tmp_path: Path, shell: str) -> None:
    res = run_cli(["completion", *([shell] if shell else [])], cwd=tmp_path)
    assert res.code == 2 and res.out == ""
