"""The page against a worker that needs its API token, in a real headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from streams.kafka.local_broker import LocalBroker
from tests.integration.test_web_page import browser, cell, wait  # noqa: F401 - `browser` is a fixture
from tests.integration.workers import own_settings, start_seeded_worker


def test_a_worker_with_a_token_gets_it_from_the_user_once_and_streams_with_a_cookie(
    browser: webdriver.Chrome,  # noqa: F811 - the fixture imported above
    broker: LocalBroker,
    repo: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The page asks for TIMELINE_API_TOKEN at the first 401 (once, however many requests met
    it), keeps it for the tab, and its EventSource (which cannot send headers) is let in by
    the session cookie it traded the token for."""
    settings = own_settings(
        broker.settings, tmp_path_factory.mktemp("web-token"), "webtoken.", api_token=SecretStr("page-token")
    )
    process = start_seeded_worker(settings, repo)
    try:
        browser.get(settings.api + "/")
        prompt = WebDriverWait(browser, 60).until(expected_conditions.alert_is_present())
        assert "TIMELINE_API_TOKEN" in prompt.text
        prompt.send_keys("page-token")
        prompt.accept()
        wait(browser, lambda: cell(browser, "keir-starmer", "us-backstop").text.strip() != "")
        wait(browser, lambda: browser.find_element(By.ID, "connection").text == "live")
        assert browser.execute_script("return sessionStorage.getItem('timeline-token')") == "page-token"
        browser.refresh()  # the same tab: no second prompt
        wait(browser, lambda: cell(browser, "keir-starmer", "us-backstop").text.strip() != "")
        assert not expected_conditions.alert_is_present()(browser)
    finally:
        browser.execute_script("sessionStorage.clear()")
        process.stop()
