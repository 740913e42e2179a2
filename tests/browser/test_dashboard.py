"""The dashboard in a real browser (Debian's Chromium, headless) against `hub run` with traffic.

One journey, because the hub takes a while to start and its first minutes (the generator's
history) are when certificate verdicts pour in: the certificates page is opened first, in a tab
of its own, and read at the end; meanwhile the overview, a port page and the indicators page are
checked in another tab. Full-page screenshots go to ``test-artifacts/dashboard/`` for a human to
look at. Any console error or uncaught exception in the page fails the test.

The KPI pages read with a read:kpis token: a tab without one shows what is needed (and takes a
pasted token); the journey's tabs get theirs in the address's fragment (#token=…), as the main
job prints it.
"""

from __future__ import annotations

import asyncio
import json
import operator
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, ViewportSize, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from hub.db.tokens import create_port_token
from hub.settings import PROJECT_ROOT
from schemas.models import Classifier, Facility, Operation, VesselEvent
from tests.integration.helpers import (
    Services,
    api_answering,
    api_environment,
    bearer,
    eventually,
    free_port,
    hub_environment,
    reader_token,
    start_hub,
    stop_process,
)
from tests.integration.helpers import running_hub as api_and_worker

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "dashboard"
# The indicators page's note and panels, in each language: (language, note, emissions, ETA).
PANEL_HEADINGS = (
    ("en", "Reading the intra-regional share", "Emissions at anchorage and at berth",
     "Arrival predictability"),
    ("es", "Cómo leer la participación intrarregional", "Emisiones en fondeadero y en muelle",
     "Previsibilidad de los arribos"),
    ("pt", "Como ler a participação intrarregional", "Emissões no fundeadouro e no berço",
     "Previsibilidade das chegadas"),
)  # fmt: skip
VIEWPORT: ViewportSize = {"width": 1366, "height": 768}
CUSTOMS_COUNTRY = "PE"
# The console errors the journey causes on purpose: the stream's answer to a wrong token, and
# the KPI stream blocked to see the dashboard fall back to polling.
EXPECTED_401 = re.compile(r"Failed to load resource: .*401")
BLOCKED = re.compile(r"Failed to load resource: net::ERR_FAILED")
# The KPI calls of a tab without a read:kpis token (401) and with a customs token (403).
REFUSED = re.compile(r"Failed to load resource: .*40[13]")
ACCESS_STATUS = (
    "() => { const card = document.querySelector('#access-needed');"
    " return card ? card.dataset.status : null; }"
)

# Whether some chart drawn in the elements a CSS selector matches has data points.
ANY_CHART_HAS_DATA = """
(selector) => [...document.querySelectorAll(selector)].some((element) => {
  const chart = window.echarts && echarts.getInstanceByDom(element);
  const option = chart && chart.getOption();
  return Boolean(option) && (option.series || []).some((s) => (s.data || []).length > 0);
})
"""
# Pairs of header parts that overlap (the brand, each navigation link, the status and language).
HEADER_OVERLAPS = """
() => {
  const parts = [
    document.querySelector('.brand'),
    ...document.querySelectorAll('.site-nav a'),
    document.querySelector('.feed-status'),
    document.querySelector('.language'),
  ];
  const boxes = parts.map((element) => element.getBoundingClientRect());
  const found = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) {
        found.push(parts[i].textContent.trim() + ' / ' + parts[j].textContent.trim());
      }
    }
  }
  return found;
}
"""
STATUS_KIND = "() => document.querySelector('#stream-status').dataset.kind"
# The map's port names that cover another name or another port's symbol, from what ECharts drew
# (its own hideOverlap compares names with names only), and how many names are shown.
LABEL_COLLISIONS = """
() => {
  const chart = echarts.getInstanceByDom(document.querySelector('#map'));
  const symbols = [];
  const labels = [];
  const pixels = (element) => {
    const box = element.getBoundingRect().clone();
    box.applyTransform(element.getComputedTransform());
    return box;
  };
  chart.getModel().eachSeries((series) => {
    const data = series.getData();
    data.each((index) => {
      const group = data.getItemGraphicEl(index);
      const symbol = group && (group.childAt ? group.childAt(0) : group);
      if (!symbol) return;
      const name = data.getName(index);
      symbols.push({ name, box: pixels(symbol) });
      const text = symbol.getTextContent();
      if (!text || text.ignore || text.invisible || !text.style.text) return;
      // zrender takes a line's height from a CJK glyph, which a browser without CJK fonts
      // measures too small: a name is taken as 1.2 font sizes high from where it is anchored
      // (its box's bottom for a name above its port, its top below, else its middle).
      const local = text.getBoundingRect();
      const box = pixels(text);
      const height = 1.2 * (text.style.fontSize || 10);
      const top = Math.abs(local.y + local.height) < 0.5 ? box.y + box.height - height
        : Math.abs(local.y) < 0.5 ? box.y : box.y + box.height / 2 - height / 2;
      labels.push({ name, box: { x: box.x, y: top, width: box.width, height } });
    });
  });
  const hit = (a, b) =>
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  const found = [];
  labels.forEach((label, i) => {
    for (const other of labels.slice(i + 1)) {
      if (hit(label.box, other.box)) found.push(`${label.name} / ${other.name}`);
    }
    for (const symbol of symbols) {
      if (symbol.name !== label.name && hit(label.box, symbol.box)) {
        found.push(`${label.name} / port ${symbol.name}`);
      }
    }
  });
  return { labels: labels.length, found };
}
"""
# The port chart of a KPI: where its incomplete windows begin, the band over them, and the
# times of its bars drawn as incomplete (lighter, dashed).
INCOMPLETE_WINDOW = """
(kpi) => {
  const element = document.querySelector(`#port-charts .chart[data-kpi="${kpi}"]`);
  const chart = element && echarts.getInstanceByDom(element);
  const option = chart && chart.getOption();
  if (!option) return null;
  const main = option.series.find((s) => s.id === 'main');
  const band = (main.markArea && main.markArea.data) || [];
  const items = (main.data || []).map((item) => ({
    at: new Date(item.value[0]).toISOString(),
    lighter: Boolean(item.itemStyle),
  }));
  return {
    from: element.dataset.incompleteFrom,
    band: band.map((pair) => new Date(pair[0].xAxis).toISOString()),
    items,
  };
}
"""
# The event time beside "Live": shown or not, its text and the time it stands for.
EVENT_LAG = """
() => {
  const element = document.querySelector('#event-lag');
  return { shown: !element.hidden, text: element.innerText, at: element.dataset.latestEventAt };
}
"""
# Series data of the ECharts instance drawn in the element matched by a CSS selector.
SERIES_LENGTHS = """
(selector) => {
  const element = document.querySelector(selector);
  const chart = element && window.echarts && echarts.getInstanceByDom(element);
  const option = chart && chart.getOption();
  if (!option) return null;
  return (option.series || []).map((s) => (s.data || []).length);
}
"""


@dataclass(frozen=True)
class RunningHub:
    base: str
    database_url: str


@pytest.fixture
async def running_hub(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> AsyncIterator[RunningHub]:
    """`hub run` with the traffic generator, its indicator job every 5 s, on a free port."""
    http_port = free_port()
    log = tmp_path / "hub-run.log"
    job = start_hub(
        ["run"],
        hub_environment(
            HUB_KAFKA_BOOTSTRAP=services.bootstrap,
            DATABASE_URL=fresh_database,
            HUB_TOPIC_NAMESPACE=namespace,
            HUB_WORKER_ID=f"{namespace}dashboard",
            HUB_STATE_DIR=str(tmp_path / "state"),
            HUB_HTTP_PORT=str(http_port),
            HUB_WORKER_METRICS_PORT="0",
            HUB_GENERATOR_RATE="300",
            HUB_GENERATOR_SCALE="0.1",
            HUB_GENERATOR_SEED="20",
            HUB_INDICATORS_INTERVAL_S="5",
            HUB_WORKER_HEARTBEAT_S="1",
        ),
        log,
    )
    try:
        yield RunningHub(f"http://127.0.0.1:{http_port}", fresh_database)
    finally:
        status = stop_process(job, signal.SIGINT, 60)
        print(log.read_text()[-3000:])  # shown by pytest when the test fails
    assert status == 0, log.read_text()[-3000:]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail(
            "Chromium is not installed (looked for `chromium` on PATH and /usr/bin/chromium): "
            "install Debian's package with `apt-get install chromium`; the browser tests never "
            "download a browser."
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


async def wait_for(
    page: Page,
    script: str,
    arg: Any = None,
    *,
    check: Callable[[Any], bool] = bool,
    timeout_s: float = 30,
    what: str,
) -> Any:
    """Evaluate the JavaScript function ``script(arg)`` until ``check`` accepts its value.

    Playwright's wait_for_function evaluates its predicate with eval() inside the page, which
    the dashboard's Content-Security-Policy forbids (rightly); page.evaluate is not affected.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = await page.evaluate(script, arg)
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what} did not happen within {timeout_s:.0f} s (last: {value!r})"
            )
        await asyncio.sleep(0.25)


def _total(lengths: list[int] | None) -> int:
    return sum(lengths or [])


def _first(lengths: list[int] | None) -> int:
    return (lengths or [0])[0]


class PageProblems:
    """Console errors and uncaught exceptions of the pages it watches."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def watch(self, page: Page, name: str, allowed: re.Pattern[str] = EXPECTED_401) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error" and not allowed.search(message.text):
                self.found.append(f"{name}: console error: {message.text} ({message.location})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.found.append(f"{name}: uncaught: {error}"))


async def test_dashboard_pages_render_live_data(browser: Browser, running_hub: RunningHub) -> None:
    hub = running_hub
    began = time.monotonic()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    async with httpx.AsyncClient(base_url=hub.base, timeout=10) as client:
        await api_answering(client)
        reader = await reader_token(hub.database_url, "dashboard test")
        client.headers.update(bearer(reader))
        token = await _customs_token(hub.database_url, CUSTOMS_COUNTRY)
        verdicts_before = await _last_verdict_id(hub.database_url)

        context = await browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
        problems = PageProblems()

        # Certificates, first: a wrong token is refused with a clear message, then the right one
        # is pasted and the tab stays open, collecting verdicts while the rest is checked.
        certificates = await context.new_page()
        problems.watch(certificates, "certificates")
        await certificates.goto(f"{hub.base}/dashboard/#/certificates")
        await certificates.fill("#customs-token", "hubc_not-a-token")
        await certificates.click("#connect")
        await wait_for(
            certificates, STATUS_KIND, check=lambda kind: kind == "error", what="the refusal"
        )
        assert "not accepted" in await certificates.inner_text("#stream-status")
        await certificates.fill("#customs-token", token)
        await certificates.click("#connect")
        await wait_for(
            certificates, STATUS_KIND, check=lambda kind: kind == "live", what="the stream"
        )
        assert "Peru" in await certificates.inner_text("#stream-status")
        stored = await certificates.evaluate("JSON.stringify(sessionStorage)")
        assert token in stored and token not in certificates.url
        # This tab has no read:kpis token: the header says so, the certificates work all the same.
        assert await certificates.inner_text("#feed-mode") == "Token needed"

        # Without a read:kpis token the KPI pages say what is needed instead of drawing charts;
        # a customs token is refused too (403); a pasted read:kpis token opens them.
        anonymous = await context.new_page()
        problems.watch(anonymous, "no token", allowed=REFUSED)
        await anonymous.goto(f"{hub.base}/dashboard/")
        await wait_for(anonymous, ACCESS_STATUS, check=lambda s: s == "401", what="the 401 notice")
        notice = await anonymous.inner_text("#access-needed")
        assert "read:kpis" in notice and "hub tokens add-reader" in notice, notice
        assert await anonymous.locator("#map").count() == 0
        assert await anonymous.inner_text("#feed-mode") == "Token needed"
        await anonymous.screenshot(path=str(ARTIFACTS / "access-needed.png"), full_page=True)
        await anonymous.fill("#reader-token", token)
        await anonymous.click("#use-token")
        await wait_for(anonymous, ACCESS_STATUS, check=lambda s: s == "403", what="the 403 notice")
        assert "cannot read KPIs" in await anonymous.inner_text("#access-needed")
        await anonymous.fill("#reader-token", reader)
        await anonymous.click("#use-token")
        await anonymous.wait_for_selector("#ports-table tbody tr")
        assert await anonymous.locator("#access-needed").count() == 0
        await anonymous.close()

        page = await context.new_page()
        problems.watch(page, "dashboard")

        async def latest_has_ports() -> bool:
            return bool((await client.get("/v1/kpis/latest")).json()["ports"])

        await eventually(latest_has_ports, 90, "KPIs on /v1/kpis/latest")

        # Regional overview: "/" leads to it with the token of the address, which leaves the
        # address bar for the tab's storage; the map has the ports, the table every port.
        await page.goto(f"{hub.base}/#token={reader}")
        assert page.url == f"{hub.base}/dashboard/#/"
        assert reader in await page.evaluate("JSON.stringify(sessionStorage)")
        await wait_for(
            page,
            SERIES_LENGTHS,
            "#map",
            check=lambda n: _total(n) == 28,
            what="28 ports on the map",
        )
        await wait_for(
            page,
            SERIES_LENGTHS,
            "#map",
            check=lambda n: _first(n) >= 20,
            timeout_s=60,
            what="20 ports with a waiting time on the map",
        )
        assert await page.locator("#ports-table tbody tr").count() == 28
        # The ports' names cover neither each other nor another port (in a cluster such as
        # Panama's a name that cannot fit is left to the tooltip).
        labels = await page.evaluate(LABEL_COLLISIONS)
        assert labels["found"] == [] and labels["labels"] >= 20, labels
        numbers = await page.locator("#ports-table tbody td.num").all_inner_texts()
        assert sum(1 for text in numbers if re.search(r"\d", text)) >= 28 * 3, numbers
        assert await page.inner_text("#feed-mode") == "Live"

        # Sorting: by waiting time, largest first, then smallest first; ports without a value last.
        header = page.locator('#ports-table th[data-column="waiting_time_h"] button')
        by_name = await _column(page, 0)
        await header.click()
        assert (
            await page.get_attribute('th[data-column="waiting_time_h"]', "aria-sort")
            == "descending"
        )
        descending = await _numbers(page, 2)
        assert descending == sorted(descending, reverse=True) and len(descending) >= 20
        assert await _column(page, 0) != by_name
        await header.click()
        assert (
            await page.get_attribute('th[data-column="waiting_time_h"]', "aria-sort") == "ascending"
        )
        ascending = await _numbers(page, 2)
        assert ascending == sorted(ascending) and len(ascending) >= 20
        await page.select_option("#colour-by", "truck_turnaround_min")
        await wait_for(
            page,
            "() => document.querySelector('#kpi-summary').innerText",
            check=lambda text: " min" in text,
            what="the summary in minutes",
        )
        await page.select_option("#colour-by", "waiting_time_h")

        # Live: new data arrives (the stamp moves) without the page being loaded again.
        await page.evaluate("window.__notReloaded = true")
        first_arrival = await page.get_attribute("#last-update", "data-arrived-at")
        await wait_for(
            page,
            "() => document.querySelector('#last-update').dataset.arrivedAt",
            check=lambda arrival: arrival != first_arrival,
            timeout_s=60,
            what="new KPI data arriving",
        )
        assert await page.evaluate("window.__notReloaded === true")
        assert re.search(r"Last update \d\d:\d\d:\d\d UTC", await page.inner_text("#last-update"))
        assert await page.evaluate(HEADER_OVERLAPS) == []
        await _settle(page)
        await page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

        # Spanish and Portuguese are one choice away; every text changes with it.
        await page.select_option("#language", "es")
        await wait_for(
            page,
            "() => document.querySelector('#view h1').innerText",
            check=lambda title: title == "Panorama regional",
            what="the Spanish title",
        )
        assert await page.inner_text("#feed-mode") == "En vivo"
        assert await page.evaluate(HEADER_OVERLAPS) == []
        assert await page.locator("#ports-table tbody tr").count() == 28
        await _settle(page)
        await page.screenshot(path=str(ARTIFACTS / "overview-es.png"))
        await page.select_option("#language", "pt")
        await wait_for(
            page,
            "() => document.querySelector('#ports-table th').innerText",
            check=lambda text: text.startswith("Porto"),
            what="the Portuguese table",
        )
        assert await page.evaluate(HEADER_OVERLAPS) == []
        await page.select_option("#language", "en")

        # A port page, reached from the table: charts with points, the calls under way.
        ports = (await client.get("/v1/ports")).json()["ports"]
        busiest = max(ports, key=lambda port: port["events"])["unlocode"]
        await page.click(f'#ports-table tr[data-port="{busiest}"] th a')
        assert page.url.endswith(f"#/port/{busiest}")
        await wait_for(
            page, ANY_CHART_HAS_DATA, "#port-charts .chart", what="a port chart with data"
        )
        await page.wait_for_selector("#calls-table tbody tr")
        calls = await page.locator("#calls-table tbody tr[data-call]").count()
        assert calls >= 1, await page.inner_text("#calls-table")
        states = await page.locator("#calls-table tbody .state").all_inner_texts()
        assert set(states) <= {"Arriving", "At anchorage", "At berth"}, states
        # The expected calls have a panel of their own (filled by the generator's estimates).
        assert await page.inner_text("#expected-card h2") == "Expected arrivals"
        assert await page.locator("#expected-table tbody tr").count() >= 1
        # The hour still filling is drawn as such: a band from the window of the latest event,
        # its bars lighter; every earlier bar is drawn as complete.
        hourly = await wait_for(
            page,
            INCOMPLETE_WINDOW,
            "throughput_teu",
            check=lambda found: bool(found and found["from"] and found["items"]),
            what="hourly throughput bars",
        )
        assert hourly["band"] == [hourly["from"]], hourly
        for bar in hourly["items"]:
            assert bar["lighter"] == (bar["at"] >= hourly["from"]), hourly
        # The feed's data-quality panel: a tile per scorecard indicator, filled once the
        # indicator job has the port's day (the page refreshes every 20 s), in each language.
        assert await page.inner_text("#port-quality-card h2") == "Data quality"
        assert await page.locator("#port-quality .tile").count() == 6
        await wait_for(
            page,
            "() => document.querySelector("
            "'#port-quality [data-indicator=\"publish_delay_min\"] .tile-value').innerText",
            check=lambda text: text.endswith(" min"),
            timeout_s=90,
            what="the port's publish delay in the data-quality panel",
        )
        for language, heading, expected in (
            ("es", "Calidad de los datos", "Arribos esperados"),
            ("pt", "Qualidade dos dados", "Chegadas previstas"),
        ):
            await page.select_option("#language", language)
            await wait_for(
                page,
                "() => document.querySelector('#port-quality-card h2')?.innerText",
                check=heading.__eq__,
                what=f"the data-quality panel in {language}",
            )
            assert await page.inner_text("#expected-card h2") == expected
        await page.select_option("#language", "en")
        await _settle(page)
        await page.screenshot(path=str(ARTIFACTS / "port.png"), full_page=True)
        await page.click('button[data-granularity="day"]')
        await wait_for(
            page,
            SERIES_LENGTHS,
            '#port-charts .chart[data-kpi="throughput_teu"]',
            check=lambda n: _first(n) > 0,
            what="daily throughput bars",
        )

        # Indicators: once the job has computed some, the country chart has bars.
        async def country_indicators() -> bool:
            answer = await client.get(
                "/v1/indicators", params={"level": "country", "indicator": "throughput_teu"}
            )
            return bool(answer.json()["indicators"])

        await eventually(country_indicators, 90, "country indicators on /v1/indicators")
        await page.click("nav a[href='#/indicators']")
        await page.select_option("#indicator", "throughput_teu")
        await wait_for(
            page,
            SERIES_LENGTHS,
            "#country-chart",
            check=lambda n: _first(n) > 0,
            timeout_s=45,
            what="bars in the country chart",
        )
        assert _first(await page.evaluate(SERIES_LENGTHS, "#mechanism-chart")) > 0
        assert await page.locator("#indicators-table tbody tr").count() >= 7
        # The CSV is fetched with the tab's token (a plain link could not send it).
        async with page.expect_download() as downloading:
            await page.click('#csv-links button[data-level="country"]')
        download = await downloading.value
        assert download.suggested_filename == "indicators-country-day.csv"
        assert Path(await download.path()).read_text().startswith("level,entity,period")
        await _settle(page)
        await page.screenshot(path=str(ARTIFACTS / "indicators.png"), full_page=True)
        # How to read a country's intra-regional share against a mechanism's, and the emissions
        # and predictability panels, in each language.
        for language, note, emissions, predictability in PANEL_HEADINGS:
            await page.select_option("#language", language)
            await wait_for(
                page,
                "() => document.querySelector('#share-note h2')?.innerText",
                check=note.__eq__,
                what=f"the note on the intra-regional share in {language}",
            )
            assert "÷" in await page.inner_text("#share-note p")
            assert await page.inner_text("#emissions-card h2") == emissions
            assert await page.inner_text("#predictability-card h2") == predictability
            if language != "en":
                await _settle(page)
                await page.screenshot(
                    path=str(ARTIFACTS / f"indicators-{language}.png"), full_page=True
                )
        await page.select_option("#language", "en")

        # Without the KPI stream the header says it polls, and data still arrives.
        polling = await context.new_page()
        problems.watch(polling, "polling", allowed=BLOCKED)
        await polling.route("**/v1/kpis/stream", lambda route: route.abort())
        await polling.goto(f"{hub.base}/dashboard/#token={reader}")
        await wait_for(
            polling,
            "() => [document.querySelector('#feed-status').dataset.mode,"
            " document.querySelector('#last-update').dataset.arrivedAt]",
            check=lambda state: state[0] == "polling" and bool(state[1]),
            what="the fallback to polling",
        )
        assert await polling.inner_text("#feed-mode") == "Polling every 10 s"
        await polling.close()

        # Back to the certificates tab: the verdicts that came in meanwhile, newest first.
        country = CUSTOMS_COUNTRY
        try:
            await certificates.wait_for_selector("#verdicts-table tbody tr.verdict", timeout=30_000)
        except PlaywrightTimeoutError:
            # None for PE in this run: resume the page, as a reload does, for the country that
            # had the most verdicts since the tab connected.
            country = await _busiest_importer(hub.database_url, verdicts_before)
            other = await _customs_token(hub.database_url, country)
            await certificates.evaluate(
                """([token, after]) => {
                    sessionStorage.setItem('hub.dashboard.customsToken', token);
                    sessionStorage.setItem('hub.dashboard.verdictLastId', String(after));
                    sessionStorage.removeItem('hub.dashboard.verdicts');
                }""",
                [other, verdicts_before],
            )
            await certificates.reload()
            await certificates.wait_for_selector("#verdicts-table tbody tr.verdict", timeout=30_000)
        rows = certificates.locator("#verdicts-table tbody tr.verdict")
        first = await rows.first.inner_text()
        assert re.search(r"\b(Valid|Invalid|Pending)\b", first), first
        outcomes = await rows.evaluate_all("(rows) => rows.map((row) => row.dataset.outcome)")
        assert set(outcomes) <= {"VALID", "INVALID", "PENDING"}, outcomes
        issued = await rows.evaluate_all("(rows) => rows.map((row) => row.dataset.issued)")
        assert issued == sorted(issued, reverse=True), issued  # newest first
        await _settle(certificates)
        await certificates.screenshot(path=str(ARTIFACTS / "certificates.png"), full_page=True)
        print(f"certificates: {len(outcomes)} verdicts for {country}")

        # The emissions (issue 21, part B) of a day that has them: the region's value in the
        # panel's tile, to the decimal shown. (Arrival predictability is the quiet hub's: the
        # replayed history is published now, after the arrivals it estimated, so no call of it
        # has an ETA error.)
        await page.bring_to_front()
        for indicator, card, unit in (("co2_t", "emissions", "t"),):
            row = await _latest_region_row(client, indicator)
            await page.reload()  # the period list as it is now
            await page.select_option("#period-start", row["period_start"])
            tile = f'#{card}-tiles [data-indicator="{indicator}"] .tile-value'
            await wait_for(
                page,
                f"() => document.querySelector('{tile}')?.innerText ?? ''",
                check=partial(_shows, value=row["value"], unit=unit),
                what=f"the region's {indicator} ({row['value']}) in the {card} panel",
            )
            assert await page.get_attribute(f"#{card}-card", "data-state") == "values"
        await _settle(page)
        await page.screenshot(path=str(ARTIFACTS / "indicators-panels.png"), full_page=True)

        found = list(problems.found)
        await context.close()
        assert not found, "\n".join(found)
    print(f"dashboard journey took {time.monotonic() - began:.0f} s")


async def _latest_region_row(
    client: httpx.AsyncClient, indicator: str, period: str = "day"
) -> dict[str, Any]:
    """The region's row of ``indicator`` for the latest ``period`` that has one (waits for the
    indicator job)."""
    rows: list[dict[str, Any]] = []

    async def present() -> bool:
        nonlocal rows
        answer = await client.get(
            "/v1/indicators", params={"level": "region", "period": period, "indicator": indicator}
        )
        rows = [row for row in answer.json()["indicators"] if row["value"] is not None]
        return bool(rows)

    await eventually(present, 120, f"the region's {indicator} on /v1/indicators")
    return max(rows, key=lambda row: str(row["period_start"]))


def _shows(text: str, value: float, unit: str) -> bool:
    """Whether a tile's text ("1,234.5 t") is ``value`` in ``unit`` to its one decimal."""
    number, _, shown_unit = text.partition(" ")
    try:
        return shown_unit == unit and abs(float(number.replace(",", "")) - value) <= 0.05 + 1e-9
    except ValueError:
        return False


async def _settle(page: Page) -> None:
    """Let chart animations and the highlight of changed cells finish before a screenshot."""
    await page.wait_for_timeout(2500)


async def _column(page: Page, index: int) -> list[str]:
    """The texts of one column of the ports table (0: the port's name), top to bottom."""
    cells = page.locator(f"#ports-table tbody tr > :nth-child({index + 1})")
    return [text.strip() for text in await cells.all_inner_texts()]


async def _numbers(page: Page, index: int) -> list[float]:
    """The numbers in one column of the ports table, top to bottom; the ports without one
    ("—") must come last."""
    texts = await _column(page, index)
    shown = [text for text in texts if text != "—"]
    assert texts[: len(shown)] == shown, f"ports without a value are not last: {texts}"
    return [float(text.replace(",", "")) for text in shown]


async def _customs_token(database_url: str, country: str) -> str:
    """`hub tokens add-customs` as an operator runs it (its stdout is the token)."""
    environment = hub_environment(DATABASE_URL=database_url)
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "hub", "tokens", "add-customs", country],
        env=environment,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


async def _last_verdict_id(database_url: str) -> int:
    connection = await asyncpg.connect(database_url)
    try:
        value: Any = await connection.fetchval(
            "SELECT coalesce(max(id), 0) FROM certificate_verdicts"
        )
    except asyncpg.UndefinedTableError:
        value = 0
    finally:
        await connection.close()
    return int(value)


async def _busiest_importer(database_url: str, after_id: int) -> str:
    connection = await asyncpg.connect(database_url)
    try:
        row = await connection.fetchrow(
            "SELECT importing_country, count(*) FROM certificate_verdicts WHERE id > $1 "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
            after_id,
        )
    finally:
        await connection.close()
    assert row is not None, "no certificate verdict at all was issued while the test ran"
    return str(row["importing_country"]).strip()


@dataclass(frozen=True)
class QuietHub:
    """A hub without the traffic generator: only the events a test publishes."""

    base: str
    database_url: str
    publisher: str  # a publisher token of QUIET_PORT


QUIET_PORT = "PECLL"


@pytest.fixture
async def quiet_hub(
    services: Services, fresh_database: str, namespace: str, tmp_path: Path
) -> AsyncIterator[QuietHub]:
    """`hub api` and `hub worker` (no generator), the indicator jobs every 5 s."""
    environment = api_environment(services, fresh_database, namespace, tmp_path) | {
        "HUB_INDICATORS_INTERVAL_S": "5",
        "HUB_INDICATORS_LONG_INTERVAL_S": "5",
    }
    async with api_and_worker(environment, tmp_path) as base:
        connection = await asyncpg.connect(fresh_database)
        try:
            publisher = await create_port_token(connection, QUIET_PORT, "dashboard test")
        finally:
            await connection.close()
        yield QuietHub(base, fresh_database, publisher)


def _vessel_event(
    call: str,
    at: datetime,
    classifier: Classifier = Classifier.ACT,
    published: datetime | None = None,
    name: str | None = None,
) -> VesselEvent:
    return VesselEvent(
        event_id=uuid.uuid4(),
        occurred_at=at,
        published_at=published or at + timedelta(seconds=30),
        port=QUIET_PORT,
        publisher="dashboard-test",
        source="AGENT" if classifier is Classifier.EST else "TERMINAL",
        port_call_id=call,
        imo="9074729",
        classifier=classifier,
        operation=Operation.ARRI,
        facility=Facility.PORT,
        vessel_name=name,
    )


async def _publish(client: httpx.AsyncClient, token: str, *events: VesselEvent) -> None:
    """Publish ``events`` in order through the API, as a port's system does."""
    for event in events:
        answer = await client.post(
            "/v1/events/vessel", json=[json.loads(event.model_dump_json())], headers=bearer(token)
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["results"][0]["status"] == "accepted", answer.text


async def test_lagging_events_empty_panels_and_expected_arrivals(
    browser: Browser, quiet_hub: QuietHub
) -> None:
    """On a hub with only a few published events: the event time of the latest event beside
    "Live" while the events lag the clock (and gone once they do not), the indicators page's
    emissions and predictability panels empty, and the port page's expected arrivals (calls
    announced by estimated arrivals only) soonest first, in the three languages."""
    hub = quiet_hub
    now = datetime.now(UTC).replace(microsecond=0)
    arrival = now - timedelta(hours=2)
    async with httpx.AsyncClient(base_url=hub.base, timeout=10) as client:
        reader = await reader_token(hub.database_url, "dashboard test")
        client.headers.update(bearer(reader))
        # An arrival 2 h ago, the latest event not in the future; three calls announced only by
        # estimated arrivals (one estimate revised: its latest estimate counts).
        await _publish(
            client,
            hub.publisher,
            _vessel_event("QUIET-ARRIVED", arrival, name="Andes Bridge"),
            _vessel_event(
                "EXPECTED-LATER", now + timedelta(hours=6), Classifier.EST, now, "Cabo Trader"
            ),
            _vessel_event(
                "EXPECTED-REVISED",
                now + timedelta(hours=9),
                Classifier.EST,
                now - timedelta(minutes=10),
                "Mar Navigator",
            ),
            _vessel_event(
                "EXPECTED-REVISED", now + timedelta(hours=1), Classifier.EST, now, "Mar Navigator"
            ),
            _vessel_event(
                "EXPECTED-SOON", now + timedelta(hours=2), Classifier.EST, now, "Santa Spirit"
            ),
        )

        async def arrival_is_latest() -> bool:
            body = (await client.get("/v1/kpis/latest")).json()
            return bool(body["latest_event_at"] == arrival.isoformat().replace("+00:00", "Z"))

        await eventually(arrival_is_latest, 60, "the arrival as the latest event")

        context = await browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
        problems = PageProblems()
        page = await context.new_page()
        problems.watch(page, "quiet dashboard")
        try:
            await page.goto(f"{hub.base}/dashboard/#token={reader}")

            # "Live", and beside it the time of the latest event, 2 h behind the clock.
            lag = await wait_for(
                page, EVENT_LAG, check=lambda found: found["shown"], what="the latest event's time"
            )
            assert await page.inner_text("#feed-mode") == "Live"
            assert lag["at"] == arrival.isoformat().replace("+00:00", ".000Z"), lag
            assert lag["text"].startswith("Events up to ") and lag["text"].endswith(
                " UTC (2 hours ago)"
            ), lag
            assert await page.evaluate(HEADER_OVERLAPS) == []
            await _settle(page)
            await page.screenshot(path=str(ARTIFACTS / "lagging-events.png"))
            for language, words in (("es", "Eventos hasta"), ("pt", "Eventos até")):
                await page.select_option("#language", language)

                def in_language(found: Any, words: str = words) -> bool:
                    return str(found["text"]).startswith(words)

                await wait_for(
                    page,
                    EVENT_LAG,
                    check=in_language,
                    what=f"the latest event's time in {language}",
                )
                assert await page.evaluate(HEADER_OVERLAPS) == []
            await page.select_option("#language", "en")

            # No call has both an estimated and an actual arrival, nor berth or anchorage hours:
            # the panels say so, in each language, with the note on the intra-regional share.
            await page.click("nav a[href='#/indicators']")
            for language, note, emissions, predictability in PANEL_HEADINGS:
                await page.select_option("#language", language)
                await wait_for(
                    page,
                    "() => [document.querySelector('#share-note h2')?.innerText,"
                    " document.querySelector('#emissions-card')?.dataset.state,"
                    " document.querySelector('#predictability-card')?.dataset.state]",
                    check=partial(operator.eq, [note, "empty", "empty"]),
                    what=f"the empty panels in {language}",
                )
                assert await page.inner_text("#emissions-card h2") == emissions
                assert await page.inner_text("#predictability-card h2") == predictability
                assert await page.is_visible("#emissions-empty")
                assert await page.is_visible("#predictability-empty")
                await _settle(page)
                await page.screenshot(
                    path=str(ARTIFACTS / f"indicators-empty-{language}.png"), full_page=True
                )
            await page.select_option("#language", "en")
            for indicator in ("co2_t", "eta_abs_error_h"):
                answer = await client.get(
                    "/v1/indicators", params={"level": "region", "indicator": indicator}
                )
                assert answer.json()["indicators"] == [], indicator  # what the empty panels say

            # An event of a minute ago: the events no longer lag, the header says "Live" alone.
            # A call announced 5 h ago for 2 h ago that arrived 1.5 h ago: its ETA was 0.5 h off.
            await _publish(
                client,
                hub.publisher,
                _vessel_event(
                    "PREDICTED",
                    now - timedelta(hours=2),
                    Classifier.EST,
                    now - timedelta(hours=5),
                    "Tierra Bridge",
                ),
                _vessel_event("PREDICTED", now - timedelta(hours=1, minutes=30)),
                _vessel_event("QUIET-NOW", now - timedelta(minutes=1)),
            )
            await wait_for(
                page,
                EVENT_LAG,
                check=lambda found: not found["shown"],
                what="the latest event's time to go once the events are current",
            )

            # Arrival predictability (issue 21, part A) of that call's day: the region's mean
            # absolute error, all calls within 1 h, and Peru's row, in each language.
            row = await _latest_region_row(client, "eta_abs_error_h")
            assert abs(row["value"] - 0.5) < 1e-6, row
            await page.reload()  # the period list as it is now
            await page.select_option("#period-start", row["period_start"])
            tiles = "#predictability-tiles [data-indicator]"
            values = await wait_for(
                page,
                f"() => [...document.querySelectorAll('{tiles}')].map((tile) =>"
                " [tile.dataset.indicator, tile.querySelector('.tile-value').innerText])",
                check=lambda found: bool(found) and all(text != "—" for _, text in found),
                what="the region's arrival predictability",
            )
            assert values == [["eta_abs_error_h", "0.5 h"], ["eta_within_1h_pct", "100.0 %"]]
            assert await page.get_attribute("#predictability-card", "data-state") == "values"
            peru = page.locator('#predictability-table tbody tr[data-entity="PE"]')
            assert (await peru.inner_text()).split("\t")[1:3] == ["0.5", "100.0"]
            for language, _note, _emissions, predictability in PANEL_HEADINGS:
                await page.select_option("#language", language)
                await wait_for(
                    page,
                    "() => document.querySelector('#predictability-card h2')?.innerText",
                    check=partial(operator.eq, predictability),
                    what=f"the predictability panel in {language}",
                )
                await _settle(page)
                await page.screenshot(
                    path=str(ARTIFACTS / f"indicators-predictability-{language}.png"),
                    full_page=True,
                )
            await page.select_option("#language", "en")

            # The half-year holding that day (issue 21, part D), named as each language does.
            half = await _latest_region_row(client, "eta_abs_error_h", "half-year")
            assert abs(half["value"] - 0.5) < 1e-6, half
            which = datetime.fromisoformat(half["period_start"]).month // 6 + 1
            year = datetime.fromisoformat(half["period_start"]).year
            await page.reload()
            await page.click('button[data-period="half-year"]')
            for language, label in (
                ("en", f"H{which} {year}"),
                ("es", f"S{which} {year}"),
                ("pt", f"{which}º sem. {year}"),
            ):
                await page.select_option("#language", language)
                await wait_for(
                    page,
                    "() => document.querySelector('#period-start')?.selectedOptions[0]?.text",
                    check=partial(operator.eq, label),
                    what=f"the half-year named in {language}",
                )
            await page.select_option("#language", "en")
            values = await wait_for(
                page,
                f"() => [...document.querySelectorAll('{tiles}')].map((tile) =>"
                " [tile.dataset.indicator, tile.querySelector('.tile-value').innerText])",
                check=lambda found: bool(found) and all(text != "—" for _, text in found),
                what="the half-year's arrival predictability",
            )
            assert values == [["eta_abs_error_h", "0.5 h"], ["eta_within_1h_pct", "100.0 %"]]

            # The port page: the arrived call under way; the three announced ones as expected
            # arrivals, soonest first (the revised estimate counts), in each language.
            await page.goto(f"{hub.base}/dashboard/#/port/{QUIET_PORT}")
            await page.wait_for_selector('#calls-table tbody tr[data-call="QUIET-ARRIVED"]')
            for language, heading in (
                ("en", "Expected arrivals"),
                ("es", "Arribos esperados"),
                ("pt", "Chegadas previstas"),
            ):
                await page.select_option("#language", language)
                calls = await wait_for(
                    page,
                    "() => [...document.querySelectorAll('#expected-table tbody tr[data-call]')]"
                    ".map((row) => row.dataset.call)",
                    check=lambda found: len(found) == 3,
                    timeout_s=45,
                    what=f"three expected arrivals in {language} (GET /v1/ports/…/calls lists"
                    " EST-only calls as expected, with their eta: issue 21, part A)",
                )
                assert calls == ["EXPECTED-REVISED", "EXPECTED-SOON", "EXPECTED-LATER"], calls
                assert await page.inner_text("#expected-card h2") == heading
                await _settle(page)
                await page.screenshot(
                    path=str(ARTIFACTS / f"expected-arrivals-{language}.png"), full_page=True
                )
            await page.select_option("#language", "en")
            first = page.locator("#expected-table tbody tr[data-call]").first
            soonest = now + timedelta(hours=1)
            assert await first.get_attribute("data-eta") == soonest.isoformat().replace(
                "+00:00", "Z"
            )
            assert re.search(r"\bin \d+ minutes\b", await first.inner_text())
            under_way = await page.locator("#calls-table tbody tr[data-call]").evaluate_all(
                "(rows) => rows.map((row) => row.dataset.call)"
            )
            assert not {"EXPECTED-LATER", "EXPECTED-REVISED", "EXPECTED-SOON"} & set(under_way)
            found = list(problems.found)
        finally:
            await context.close()  # its stream would hold the API's shutdown
        assert not found, "\n".join(found)
