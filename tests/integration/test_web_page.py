"""The analysts' page in a real headless Chromium (Debian's chromium and chromedriver, via Selenium)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from streams.drafting.marker import DRAFT_KEY, is_draft
from streams.kafka.local_broker import LocalBroker
from streams.settings import Settings
from tests.integration.conftest import REPO
from tests.integration.test_digest_service import digest_of_now, wait_for_change
from tests.integration.workers import WorkerProcess, own_settings, publish, start_seeded_worker

ARTIFACTS = REPO / "tests" / "artifacts"
EVIL_QUOTE = '<script>window.__pwned = true</script><img src=x onerror="window.__pwned=true">'


@pytest.fixture(scope="module")
def web_settings(broker: LocalBroker, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return own_settings(broker.settings, tmp_path_factory.mktemp("web"), "web.")


@pytest.fixture(scope="module")
def worker(web_settings: Settings, repo: Path) -> Iterator[WorkerProcess]:
    process = start_seeded_worker(web_settings, repo)
    process.wait_for_items("/stances", lambda stances: len(stances) >= 30)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "chromium and chromedriver are missing: 'make test' installs them"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield chrome
    chrome.quit()


def cell(browser: webdriver.Chrome, actor: str, issue: str) -> Any:
    return browser.find_element(By.CSS_SELECTOR, f'button[data-actor="{actor}"][data-issue="{issue}"]')


def wait(browser: webdriver.Chrome, check: Any, timeout: float = 30) -> Any:
    """Poll `check`; a cell replaced by a re-render between finding and reading it is looked up again."""
    return WebDriverWait(
        browser, timeout, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]
    ).until(lambda _: check())


def set_date(browser: webdriver.Chrome, value: str) -> None:
    browser.execute_script(
        "const box = document.getElementById('as-of'); box.value = arguments[0];"
        "box.dispatchEvent(new Event('change'));",
        value,
    )


def test_matrix_as_of_live_update_and_escaping(browser: webdriver.Chrome, worker: WorkerProcess) -> None:
    browser.get(worker.settings.api + "/")
    wait(browser, lambda: browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true")
    starmer = cell(browser, "keir-starmer", "ukraine-security-guarantees")
    assert starmer.get_attribute("data-position") == "support"
    assert "support" in starmer.text
    assert "Keir Starmer on" in (starmer.get_attribute("aria-label") or "")
    starmer.click()
    details = browser.find_element(By.ID, "details")
    wait(browser, lambda: "the only way to effectively deter Russia" in details.text)
    wait(browser, lambda: "BBC News" in details.text)
    browser.save_screenshot(str(ARTIFACTS / "matrix.png"))

    set_date(browser, "2025-02-01")
    wait(
        browser,
        lambda: (
            cell(browser, "keir-starmer", "ukraine-security-guarantees").get_attribute("data-position")
            == "none"
        ),
    )
    browser.save_screenshot(str(ARTIFACTS / "matrix-before-seed.png"))
    browser.find_element(By.ID, "now").click()
    wait(
        browser,
        lambda: (
            cell(browser, "keir-starmer", "ukraine-security-guarantees").get_attribute("data-position")
            == "support"
        ),
    )

    wait(browser, lambda: browser.find_element(By.ID, "connection").text == "live")
    before = cell(browser, "justin-trudeau", "us-backstop").get_attribute("data-position")
    assert before == "none"
    browser.execute_script("window.__marker = 'no reload'")
    asyncio.run(
        publish(
            worker.settings,
            [
                {
                    "event_id": "web-live-1",
                    "type": "statement",
                    "occurred_at": "2025-03-06",
                    "summary": "Trudeau backs a US backstop.",
                    "stances": [
                        {
                            "actor_id": "justin-trudeau",
                            "issue_id": "us-backstop",
                            "position": "oppose",
                            "score": -0.5,
                            "quote": EVIL_QUOTE,
                        }
                    ],
                }
            ],
        )
    )
    wait(
        browser,
        lambda: cell(browser, "justin-trudeau", "us-backstop").get_attribute("data-position") == "oppose",
    )
    feed = browser.find_element(By.ID, "feed")
    wait(browser, lambda: "Justin Trudeau" in feed.text and "oppose" in feed.text)
    assert browser.execute_script("return window.__marker") == "no reload"

    cell(browser, "justin-trudeau", "us-backstop").click()
    wait(browser, lambda: "window.__pwned" in browser.find_element(By.ID, "details").text)
    quote = browser.find_element(By.CSS_SELECTOR, "#details blockquote.quote")
    assert quote.text == EVIL_QUOTE  # shown as text
    assert browser.find_elements(By.CSS_SELECTOR, "#details script, #details img") == []
    assert browser.execute_script("return window.__pwned === undefined")
    browser.save_screenshot(str(ARTIFACTS / "matrix-live.png"))


def test_actor_page_shows_timelines_roles_and_retractions(
    browser: webdriver.Chrome, worker: WorkerProcess
) -> None:
    asyncio.run(
        publish(
            worker.settings,
            [
                {
                    "event_id": "web-claim",
                    "type": "statement",
                    "occurred_at": "2025-02-25",
                    "summary": "Trudeau on peacekeepers.",
                    "stances": [
                        {
                            "actor_id": "justin-trudeau",
                            "issue_id": "european-peacekeepers",
                            "position": "support",
                            "score": 0.7,
                        }
                    ],
                },
                {
                    "event_id": "web-retract",
                    "type": "retraction",
                    "occurred_at": "2025-02-26",
                    "summary": "misattributed",
                    "retracts": "web-claim",
                    "reason": "misattributed",
                },
            ],
        )
    )
    worker.wait_for("/events/web-claim", lambda record: record["retracted_by"] == "web-retract")
    browser.get(worker.settings.api + "/#actor/justin-trudeau")
    wait(browser, lambda: browser.find_element(By.ID, "actor-title").text == "Justin Trudeau")
    claims = browser.find_element(By.ID, "actor-claims")
    wait(browser, lambda: "retracted by web-retract" in claims.text)
    assert "Prime Minister" in claims.text  # the role he held at the time
    marks = browser.find_elements(By.CSS_SELECTOR, "#actor-timelines circle.mark")
    assert len(marks) >= 2
    retracted = browser.find_elements(By.CSS_SELECTOR, "#actor-timelines circle.retracted")
    assert [mark.get_attribute("data-event") for mark in retracted] == ["web-claim"]
    marks[0].click()
    wait(browser, lambda: "Justin Trudeau" in browser.find_element(By.ID, "details").text)
    browser.save_screenshot(str(ARTIFACTS / "actor.png"))


def test_digest_preview_is_sandboxed(
    browser: webdriver.Chrome, worker: WorkerProcess, tmp_path: Path
) -> None:
    """A digest the scheduler's runner really built, with a quote that would run script,
    shown in a frame the page cannot reach into (sandbox without allow-same-origin)."""
    settings = worker.settings
    asyncio.run(
        publish(
            settings,
            [
                {
                    "event_id": "web-digest-1",
                    "type": "statement",
                    "occurred_at": "2025-03-07",
                    "summary": "Wang Yi on European peacekeepers.",
                    "stances": [
                        {
                            "actor_id": "wang-yi",
                            "issue_id": "european-peacekeepers",
                            "position": "oppose",
                            "score": -0.6,
                            "quote": EVIL_QUOTE,
                        }
                    ],
                }
            ],
        )
    )
    change = wait_for_change(worker, "web-digest-1")
    report = digest_of_now(settings, "web-preview", change, tmp_path / "ledger.sqlite")
    assert len(report.built) == 1 and not report.failed, report
    digest = report.built[0]
    assert change["change_id"] in {c.change_id for group in digest.groups for c in group.changes}
    worker.wait_for("/digests/latest", lambda latest: latest["digest_id"] == digest.digest_id)

    browser.get(settings.api + "/#digest")
    wait(browser, lambda: browser.find_element(By.ID, "digest-meta").text.startswith("web-preview:"))
    frame = browser.find_element(By.ID, "digest-frame")
    assert frame.get_attribute("sandbox") == ""
    assert frame.get_attribute("srcdoc") == digest.html
    assert browser.execute_script("return document.getElementById('digest-frame').contentDocument") is None
    browser.switch_to.frame(frame)
    try:
        wait(
            browser,
            lambda: "wang-yi on european-peacekeepers" in browser.find_element(By.TAG_NAME, "body").text,
        )
        quotes = [quote.text for quote in browser.find_elements(By.TAG_NAME, "blockquote")]
        assert EVIL_QUOTE in quotes  # shown as text
        assert browser.find_elements(By.CSS_SELECTOR, "script, img") == []
    finally:
        browser.switch_to.default_content()
    assert browser.execute_script("return window.__pwned === undefined")
    browser.save_screenshot(str(ARTIFACTS / "digest.png"))


def test_draft_view_highlights_the_evidence_and_downloads_the_edited_draft(
    browser: webdriver.Chrome, worker: WorkerProcess, repo: Path, tmp_path: Path
) -> None:
    """The seed article pasted, drafted against the worker's live registry, one event dropped: the
    download holds the others, each still carrying its draft marker (so publish refuses it)."""
    article = (repo / "tests" / "data" / "seed-article.txt").read_text("utf-8")
    browser.get(worker.settings.api + "/#draft")
    wait(browser, lambda: browser.find_element(By.ID, "draft-view").is_displayed())
    assert "timeline draft accept" in browser.find_element(By.ID, "draft-view").text
    browser.execute_script(
        "document.getElementById('draft-text').value = arguments[0];"
        "document.getElementById('draft-published').value = '2025-02-21';",
        article,
    )
    browser.find_element(By.ID, "draft-outlet").send_keys("BBC News")
    browser.find_element(By.ID, "draft-button").click()
    status = browser.find_element(By.ID, "draft-status")
    wait(browser, lambda: "draft event(s)" in status.text or "error" in status.text, timeout=60)
    assert "draft event(s)" in status.text, status.text

    def marked(kind: str) -> list[str]:
        """The texts of runs of adjacent marks of `kind` (overlapping spans split a mark in parts)."""
        return list(
            browser.execute_script(
                "const runs = []; let run = null;"
                "for (const node of document.getElementById('draft-highlighted').childNodes) {"
                "  if (node.nodeType === 1 && node.classList.contains('hl-' + arguments[0])) {"
                "    run = (run || '') + node.textContent;"
                "  } else if (run !== null) { runs.push(run); run = null; }"
                "}"
                "if (run !== null) runs.push(run);"
                "return runs;",
                kind,
            )
        )

    assert "Sir Keir Starmer" in marked("actor")
    assert "the only way to effectively deter Russia" in marked("quote")
    items = browser.find_elements(By.CSS_SELECTOR, "#draft-events li.draft-event")
    assert len(items) >= 5
    dropped_summary = browser.execute_script(
        "return document.querySelector('#draft-events li.draft-event .summary').textContent"
    )
    items[0].find_element(By.CSS_SELECTOR, "button.drop-event").click()
    browser.save_screenshot(str(ARTIFACTS / "draft.png"))
    browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    browser.find_element(By.ID, "draft-download").click()
    file = tmp_path / "draft-2025-02-21.jsonl"
    wait(browser, file.exists)
    downloaded = file.read_text("utf-8")
    shown = browser.execute_script("return document.getElementById('draft-jsonl').textContent")
    assert downloaded == shown
    events = [orjson.loads(line) for line in downloaded.splitlines()]
    assert len(events) == len(items) - 1
    assert dropped_summary not in [event["summary"] for event in events]
    assert all(DRAFT_KEY in event and event["source"]["outlet"] == "BBC News" for event in events)
    assert all(is_draft(line) for line in downloaded.splitlines())
    assert browser.execute_script("return window.__pwned === undefined")
