"""Issue 7's "done when", auditor side: the lab run's own HTML report in headless Chromium.

The page the scan wrote is opened from disk as an auditor would open an attachment: no
console error, no request but the file, no dialog. The verdict names the violations and the
host that could not be checked; the forbidden 1923 and the strays are red; the waived finding
is shown as waived, the expired waiver highlighted; the hostile process name is text. Each
screenshot is measured pixel by pixel (not blank; red or amber where the test says so) and
copied to docs/screenshots/lab-ssh-*.png when FLEETCHECK_SCREENSHOTS=1.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.evidence.scenario import COMM_BYTES, EXPECTED, HOSTILE_SOCKETS, LabRun
from tests.evidence.screens import shot
from tests.render.cdp import Browser, Page
from tests.render.test_browser import RED, clean, opened

pytestmark = pytest.mark.lab
AMBER_BG = "rgb(255, 243, 214)"  # --amber-bg in report.css: an expired waiver's row


@pytest.fixture(scope="module")
def page(browser: Browser, lab_run: LabRun) -> Iterator[Page]:
    """The lab run's HTML report, opened once from disk at desktop size."""
    tab = opened(browser, lab_run.files["html"])
    try:
        yield tab
    finally:
        tab.close()


def _rows(page: Page, table: str) -> list[dict[str, Any]]:
    """Each body row of `table`: its text per cell, class, colour and background."""
    rows: list[dict[str, Any]] = page.js(f"""Array.from(document.querySelectorAll(
        '#{table} tbody tr')).map(r => ({{cells: Array.from(r.cells).map(c => c.innerText),
        cls: r.className, color: getComputedStyle(r.cells[2]).color,
        bg: getComputedStyle(r).backgroundColor, top: r.getBoundingClientRect().top,
        bottom: r.getBoundingClientRect().bottom}}))""")
    return rows


def _scroll(page: Page, selector: str) -> None:
    page.js(f"document.querySelector({selector!r}).scrollIntoView()")


def test_verdict_first_with_the_violations_and_the_unreachable_host(
        page: Page, lab_run: LabRun, tmp_path: Path) -> None:
    clean(page, lab_run.files["html"].as_uri())
    verdict = page.js("""(() => { const v = document.getElementById('verdict');
        return [v.querySelector('h1').textContent, v.querySelector('.sentence').textContent,
                v.getBoundingClientRect().top, getComputedStyle(v).backgroundColor]; })()""")
    assert verdict[0] == "NONCOMPLIANT"
    assert verdict[1] == ("6 violations on 4 of 7 hosts (worst: critical); 1 could not be "
                          "checked; 1 waived")
    assert verdict[2] < 10 and verdict[3] == RED
    text = lab_run.files["txt"].read_text("utf-8").splitlines()[1]
    assert text == f"{verdict[0]}: {verdict[1]}"  # the same sentence in text and HTML
    rows = _rows(page, "findings-table")  # one row per problem, naming its hosts
    assert [(r["cells"][8], r["cells"][2]) for r in rows] == [
        ("spice1", "tcp/1923"), ("stray1", "tcp/8081"), ("hostile1", "tcp/31337"),
        ("hostile1", "tcp/31338"), ("expired1", "udp/5353"), ("hostile1", "udp/31339")]
    first = rows[0]
    assert first["cells"][1].upper() == "FORBIDDEN" and first["cells"][6] == "baseline/spice"
    top = page.js("""(() => { const li = document.querySelector('#top-groups li');
        return [li.innerText, li.getBoundingClientRect().bottom]; })()""")
    assert "forbidden tcp/1923 (spice)" in top[0] and top[1] <= 900, \
        "the 1923 problem is below the first screen"
    for row in rows:  # forbidden and stray alike: red
        assert "red" in row["cls"].split() and row["color"] == RED, row["cells"]
    picture = shot(page, "lab-ssh-verdict", tmp_path)
    assert picture.share["red"] > 0.02, picture  # the verdict banner and the red rows


def test_the_1923_listener_is_red_in_the_fleet_view_and_its_host(page: Page) -> None:
    fleet = page.js("""(() => { const r = document.getElementById('port-tcp-1923');
        return [r.innerText, getComputedStyle(r.cells[0]).color]; })()""")
    assert "spice1" in fleet[0] and fleet[1] == RED
    listener = page.js("""Array.from(document.querySelectorAll(
        '#host-spice1 table.listeners tbody tr'))
        .filter(r => r.cells[1].innerText === '1923')
        .map(r => [r.className, r.cells[7].innerText, getComputedStyle(r.cells[7]).color])""")
    assert listener == [["red", "FORBIDDEN", RED]]


def test_waived_shown_as_waived_and_unreachable_listed(page: Page, tmp_path: Path) -> None:
    (waived,) = _rows(page, "waived-table")
    assert waived["cells"][8] == "waived1" and waived["cells"][2] == "tcp/8443"
    assert waived["cells"][9] == "W-JAVA" and "waived" in waived["cls"].split()
    assert "red" not in waived["cls"].split() and waived["color"] != RED
    listener = page.js("""Array.from(document.querySelectorAll(
        '#host-waived1 table.listeners tbody tr'))  // a closed section: textContent
        .filter(r => r.cells[1].textContent === '8443')
        .map(r => [r.className, r.cells[7].textContent, getComputedStyle(r.cells[7]).color])""")
    assert listener[0][:2] == ["waived", "stray, waived by W-JAVA"] and listener[0][2] != RED
    fleet = page.js("""(() => { const r = document.getElementById('port-tcp-8443');
        return [r.className, r.cells[3].innerText, getComputedStyle(r.cells[0]).color]; })()""")
    assert fleet[:2] == ["port", "waived 1"] and fleet[2] != RED
    (down,) = _rows(page, "unchecked-table")  # one row per cause, naming its hosts
    assert down["cells"][:3] == ["connection_refused", "1", "down1"]
    assert down["cells"][3].startswith("down1: connection refused by ")
    statuses = page.js("Object.fromEntries(Array.from(document.querySelectorAll("
                       "'details.host')).map(d => [d.id.slice(5), d.dataset.status]))")
    assert statuses == {name: status for name, (status, _) in EXPECTED.items()}
    _scroll(page, "#findings")
    shot(page, "lab-ssh-findings", tmp_path)


def test_the_expired_waiver_is_highlighted_and_the_unused_listed(page: Page,
                                                                 tmp_path: Path) -> None:
    waivers = {r["cells"][0]: r for r in _rows(page, "waivers-table")}
    assert list(waivers) == ["W-MDNS", "W-JAVA", "W-IDLE"]  # expired first
    expired = waivers["W-MDNS"]
    assert "expired" in expired["cls"].split() and expired["bg"] == AMBER_BG
    assert expired["cells"][1:4] == ["expired", "bob@example.net", "SEC-12"]
    for other in ("W-JAVA", "W-IDLE"):
        assert waivers[other]["bg"] != AMBER_BG, other
    assert page.js("document.getElementById('unused-waivers').innerText").endswith("W-IDLE")
    assert any("W-MDNS" in w for w in page.js(
        "Array.from(document.querySelectorAll('#warnings li')).map(li => li.innerText)"))
    _scroll(page, "#unchecked")
    picture = shot(page, "lab-ssh-unchecked-waivers", tmp_path)
    assert picture.share["amber"] > 0.002, picture  # the expired waiver's row


def test_hostile_process_names_are_only_text(page: Page, lab_run: LabRun,
                                             tmp_path: Path) -> None:
    comms = [name[:COMM_BYTES] for _, name in HOSTILE_SOCKETS.values()]
    for comm in comms:
        cells = page.js(f"""Array.from(document.querySelectorAll('td.proc'))
            .filter(td => td.textContent.includes({comm!r}))
            .map(td => [td.textContent, td.children.length])""")
        # The finding, its row under "New since last run" (the scenario's first run), the
        # fleet view and the host's listener table, each plain text.
        assert len(cells) == 4 and all(n == 0 for _, n in cells), (comm, cells)
        assert cells[0][0].startswith(comm), cells
    search = page.js("document.getElementById('host-hostile1').dataset.search")
    assert all(comm in search for comm in comms)  # intact inside an attribute, too
    raw = page.js("Array.from(document.querySelectorAll('#host-hostile1 pre'))"
                  ".map(p => p.textContent).join('')")
    assert f'users:(("{comms[0]}",pid=' in raw  # ss's own line, shown verbatim
    assert page.js("[document.scripts.length, document.images.length]") == [1, 0]
    assert page.dialogs() == [] and page.console_errors() == []
    assert page.js("document.querySelector('#host-hostile1 summary').innerText").endswith(
        f"{lab_run.host('hostile1')['address']} · 5 listeners · 3 open findings")
    _scroll(page, "#host-hostile1")
    picture = shot(page, "lab-ssh-hostile", tmp_path)
    assert picture.share["red"] > 0.001, picture  # its stray listeners' rows
    page.js("""(() => { const d = document.querySelector('#host-hostile1 details.raw');
        d.open = true; d.querySelectorAll('h4')[1].scrollIntoView(); })()""")
    shot(page, "lab-ssh-hostile-raw", tmp_path)  # ss's own output, names and all
    assert page.dialogs() == [] and page.console_errors() == []
