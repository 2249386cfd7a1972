"""Templates in inventory values are bounded: a value that would blow up memory or time is a
located error (exit 2) naming the host and variable, decided before the memory is spent.

`validate` renders the connection variables of every host without contacting one; it
runs as a real process under an address-space limit and a timeout.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleetcheck.inventory.template import Renderer, TemplateProblem
from tests.conftest import REPO

MEMORY = 1 << 30
SIZE = "would be larger than the 1,048,576 characters a template value may hold"

BOMBS = [
    ("{{ 'a' * 1000000000 }}", f"a repetition {SIZE}"),
    ("{{ [1] * 1000000000 }}", f"a repetition {SIZE}"),
    ("{{ 'a'.center(1000000000) }}", f"center() {SIZE}"),
    ("{{ 'a'|center(1000000000) }}", f"center() {SIZE}"),
    ("{{ '%1000000000d' % 1 }}", f"format() {SIZE}"),
    ("{{ '%1000000000d'|format(1) }}", f"format() {SIZE}"),
    ("{{ '{:>1000000000}'.format(1) }}", f"format() {SIZE}"),
    ("{{ ('a' * 1000)|replace('a', 'a' * 1000)|replace('a', 'a' * 1000) }}", f"replace() {SIZE}"),
    ("{{ ('a\\n' * 1000)|indent(100000) }}", f"indent() {SIZE}"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}{{ ns.s }}", f"a concatenation {SIZE}"),
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}x",
     "the template ran more than 100,000 steps"),
    ("{{ 7 ** 100000 }}", "an exponent above 4096"),
    ("{{ ('a' * 2000)|regex_replace('', 'b' * 1000) }}", f"regex_replace() {SIZE}"),
]


@pytest.mark.parametrize(("template", "message"), BOMBS, ids=[str(i) for i in range(len(BOMBS))])
def test_template_bombs_are_refused_before_they_are_built(tmp_path: Path, template: str,
                                                          message: str) -> None:
    quoted = template.replace("'", "''")
    (tmp_path / "inv.yml").write_text(
        f"all:\n  hosts:\n    web1:\n      ansible_host: '{quoted}'\n")

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "fleetcheck", "validate", "-i", "inv.yml"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          preexec_fn=limit, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert time.monotonic() - started < 60
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first == (f"{tmp_path}/inv.yml:4:7: error: host 'web1': ansible_host cannot render "
                     f"{template!r}: {message}")


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ inventory_hostname }}.mgmt.example.net", "web1.mgmt.example.net"),
    ("{{ '%05d' % 42 }}-{{ 'x'.center(5) }}", "00042-  x  "),
    ("{{ 'a,b'|replace(',', ' and ') }} {{ 2 ** 64 }}", "a and b 18446744073709551616"),
    ("{% for i in range(3) %}{{ i }}{% endfor %}", "012"),
])
def test_ordinary_templates_still_render(template: str, expected: str) -> None:
    renderer = Renderer({"inventory_hostname": "web1"}, lambda name, value: "")
    assert renderer.render(template) == expected


def test_what_python_refuses_is_a_template_problem_not_a_crash() -> None:
    renderer = Renderer({}, lambda name, value: "")
    with pytest.raises(TemplateProblem, match="ValueError: Exceeds the limit"):
        renderer.render("{{ (10 ** 4000) * (10 ** 4000) }}")
