"""The HTML report in headless Chromium: what an auditor's browser shows, on screen and paper.

One browser for the module, driven over the DevTools pipe (tests/render/cdp.py). Every page
is checked for console errors, requests beyond the file itself and script dialogs.
Screenshots go to each test's tmp dir, and to docs/screenshots/ when
FLEETCHECK_SCREENSHOTS=1 (to refresh the ones the docs show).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, view
from fleetcheck.render.groups import group_findings
from tests.conftest import REPO
from tests.render import builders
from tests.render.cdp import Browser, Page, running_browser, type_into
from tests.render.shots import shot

pytestmark = pytest.mark.lab
SCREENSHOTS = REPO / "docs" / "screenshots"
RED = "rgb(176, 0, 32)"  # --red in report.css


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One headless Chromium for the module, with a fresh profile."""
    with running_browser(tmp_path_factory.mktemp("chromium")) as b:
        yield b


@pytest.fixture(scope="module")
def lab_html(lab_run: RunResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The lab fleet's HTML report, as `scan` writes it."""
    path = tmp_path_factory.mktemp("labhtml") / "report.html"
    path.write_text(FORMATS["html"].render(lab_run))
    return path


def clean(page: Page, url: str) -> None:
    """The page loaded nothing but itself, logged no error, opened no dialog."""
    assert page.console_errors() == []
    own = url.split("#", maxsplit=1)[0]
    assert [u for u in page.requests() if u.split("#", maxsplit=1)[0] != own] == []
    assert page.dialogs() == []


def opened(browser: Browser, path: Path, *, width: int = 1280, height: int = 900,
           mobile: bool = False, script: bool = True, fragment: str = "") -> Page:
    """A new tab showing `path`."""
    page = browser.new_page(width, height, mobile)
    if not script:
        page.send("Emulation.setScriptExecutionDisabled", {"value": True})
    page.open(path.as_uri() + fragment)
    clean(page, path.as_uri())
    return page


def test_verdict_and_the_1923_finding_on_the_first_screen(browser: Browser, lab_html: Path,
                                                          tmp_path: Path) -> None:
    page = opened(browser, lab_html)
    assert page.js("document.querySelector('#verdict h1').textContent") == "NONCOMPLIANT"
    assert page.js("document.querySelector('#verdict').getBoundingClientRect().top") < 10
    top = page.js("""(() => { const li = document.querySelector('#top-groups li');
        const a = li.querySelector('a'); const b = li.getBoundingClientRect();
        return {text: li.innerText, color: getComputedStyle(a).color, bottom: b.bottom,
                height: innerHeight, href: a.getAttribute('href')}; })()""")
    assert "forbidden tcp/1923 (spice)" in top["text"] and top["color"] == RED
    assert top["bottom"] <= top["height"], "the 1923 problem is below the first screen"
    first = page.js("""(() => { const r = document.querySelector('#findings-table tbody tr');
        return {text: r.innerText, color: getComputedStyle(r.cells[1]).color,
                id: r.id}; })()""")
    assert "tcp/1923" in first["text"] and "FORBIDDEN" in first["text"].upper()
    assert "baseline/spice" in first["text"] and "spice" in first["text"]
    assert first["color"] == RED and top["href"] == f"#{first['id']}"
    fleet = page.js("getComputedStyle(document.querySelector('#port-tcp-1923 td')).color")
    assert fleet == RED
    assert page.js("document.documentElement.getAttribute('data-script')") == "ready"
    shot(page, "lab-desktop", tmp_path)
    page.close()


def test_a_hostile_process_name_is_only_text(browser: Browser, lab_html: Path) -> None:
    page = opened(browser, lab_html)
    cells = page.js("""Array.from(document.querySelectorAll('td.proc'))
        .filter(td => td.textContent.includes('alert')).map(td => td.textContent)""")
    assert len(cells) >= 3  # the finding, the fleet view and the host's listener table
    assert all(builders.XSS in c for c in cells)
    assert builders.XSS in cells[0]
    assert page.js("document.scripts.length") == 1
    assert page.js("document.querySelectorAll('td script, td b').length") == 0
    assert page.dialogs() == []
    page.close()


def test_waived_unreachable_and_expired_are_each_shown(browser: Browser, lab_html: Path,
                                                       tmp_path: Path) -> None:
    page = opened(browser, lab_html)
    waived = page.js("Array.from(document.querySelectorAll('#waived-table tbody tr'))"
                     ".map(r => r.innerText)")
    assert len(waived) == 1 and "8443" in waived[0] and "W-100" in waived[0]
    causes = page.js("Array.from(document.querySelectorAll('#unchecked-table tbody tr'))"
                     ".map(r => r.cells[0].innerText + ' ' + r.cells[2].innerText)")
    assert "connect_timeout legacy1" in causes  # one row per cause, naming its hosts
    assert any(c.endswith(" ghost1") for c in causes)
    expired = page.js("""(() => { const r = document.getElementById('waiver-W-200');
        return [r.className, getComputedStyle(r).backgroundColor, r.innerText]; })()""")
    assert "expired" in expired[0] and expired[1] == "rgb(255, 243, 214)"
    assert "bob@example.net" in expired[2] and "2026-06-30" in expired[2]
    assert "W-300" in page.js("document.getElementById('unused-waivers').innerText")
    page.js("document.getElementById('unchecked').scrollIntoView()")
    shot(page, "lab-unchecked-waivers", tmp_path)
    page.close()


def test_filtering_and_sorting(browser: Browser, lab_html: Path, tmp_path: Path) -> None:
    page = opened(browser, lab_html)
    rows = "Array.from(document.querySelectorAll('#findings-table tbody tr'))"
    # 'tcp/1923', not '1923': a row naming a pid such as 19235 matches that too
    type_into(page, "#findings .filter-bar input", "tcp/1923",
              f"{rows}.filter(r => !r.hidden).length === 1")
    visible = page.js("Array.from(document.querySelectorAll('#findings-table tbody tr'))"
                      ".filter(r => !r.hidden).map(r => r.innerText)")
    assert len(visible) == 1 and "1923" in visible[0]
    assert "1 of" in page.js("document.querySelector('#findings .shown').textContent")
    page.js("document.querySelector('#findings').scrollIntoView()")
    shot(page, "lab-filtered", tmp_path)
    type_into(page, "#findings .filter-bar input", "", f"{rows}.every(r => !r.hidden)")
    page.js("document.querySelectorAll('#findings-table th button')[1].click()")
    kinds = page.js("Array.from(document.querySelectorAll('#findings-table tbody tr'))"
                    ".map(r => r.cells[1].textContent)")  # as written, not as styled
    assert kinds == sorted(kinds, key=str.lower) and len(set(kinds)) > 1
    page.js("document.querySelectorAll('#findings-table th button')[1].click()")
    assert page.js("Array.from(document.querySelectorAll('#findings-table tbody tr'))"
                   ".map(r => r.cells[1].textContent)") == sorted(kinds, key=str.lower,
                                                                  reverse=True)
    page.js("""(() => { const s = document.querySelector('#hosts select');
        s.value = 'unreachable'; s.dispatchEvent(new Event('change')); })()""")
    shown = page.js("Array.from(document.querySelectorAll('details.host'))"
                    ".filter(d => !d.hidden).map(d => d.dataset.status)")
    assert shown and set(shown) == {"unreachable"}
    page.close()


def test_a_link_to_a_host_opens_its_section(browser: Browser, lab_html: Path) -> None:
    page = opened(browser, lab_html, fragment="#host-db1")
    assert page.js("document.getElementById('host-db1').open") is True
    assert page.js("document.getElementById('host-web1').open") is True  # problems start open
    page.close()


def test_without_script_everything_is_there_and_no_dead_controls(
        browser: Browser, lab_html: Path, lab_run: RunResult, tmp_path: Path) -> None:
    page = opened(browser, lab_html, script=False)
    assert page.js("document.documentElement.hasAttribute('data-script')") is False
    assert page.js("document.querySelectorAll('.filter-bar, th button').length") == 0
    rows = page.js("document.querySelectorAll('#findings-table tbody tr').length")
    assert rows == len(group_findings(view.finding_rows(lab_run)[0]))  # one row per problem
    assert page.js("document.querySelectorAll('details.host').length") == len(lab_run.hosts)
    shot(page, "lab-noscript", tmp_path)
    page.close()


def test_readable_on_a_phone(browser: Browser, lab_html: Path, tmp_path: Path) -> None:
    page = opened(browser, lab_html, width=390, height=844, mobile=True)
    widths = page.js("[document.documentElement.scrollWidth, innerWidth]")
    assert widths[0] <= widths[1], f"page scrolls sideways on a phone: {widths}"
    card = page.js("""(() => { const r = document.querySelector('#findings-table tbody tr');
        return [getComputedStyle(r).display, getComputedStyle(r).borderTopColor]; })()""")
    assert card == ["block", RED]
    shot(page, "lab-phone", tmp_path)
    page.js("document.getElementById('findings').scrollIntoView()")
    shot(page, "lab-phone-findings", tmp_path)
    page.close()


def test_printable(browser: Browser, lab_html: Path, tmp_path: Path) -> None:
    page = opened(browser, lab_html)
    page.send("Emulation.setEmulatedMedia", {"media": "print"})
    assert page.js("getComputedStyle(document.querySelector('.filter-bar')).display") == "none"
    assert page.js("getComputedStyle(document.querySelector('#hosts')).breakBefore") == "page"
    shot(page, "lab-print", tmp_path)
    page.send("Emulation.setEmulatedMedia", {"media": ""})
    page.js("""window.printedOpen = -1; addEventListener('beforeprint', () => {
        window.printedOpen = document.querySelectorAll('details.host[open]').length; })""")
    before = page.js("document.querySelectorAll('details.host[open]').length")
    pdf = page.pdf()
    hosts = page.js("document.querySelectorAll('details.host').length")
    assert page.js("window.printedOpen") == hosts > before  # every host is on paper
    assert page.js("document.querySelectorAll('details.host[open]').length") == before
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 2  # hosts start on a new page
    (tmp_path / "lab-report.pdf").write_bytes(pdf)
    page.close()
