"""The web page and the API docs as a plant's IT would check them: no CDN, a strict CSP, text never read as HTML."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from tests.service.support import Server
from tests.service.test_web import _workbooks, browser

__all__ = ["browser"]  # the fixture, shared with test_web.py

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
HOSTILE_NAME = "<img src=x onerror=window.pwned=1>.xlsx"


def test_the_page_sends_a_content_security_policy_and_the_docs_need_no_cdn(server: Server) -> None:
    """Scripts only from this server on the page; the docs page's assets are ours too."""
    page = httpx.get(server.url + "/")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    docs = httpx.get(server.url + "/docs").text
    assert "cdn." not in docs and "https://" not in docs.replace("https://fastapi", "")
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert f"/static-offline-docs/{asset}" in docs
        assert httpx.get(f"{server.url}/static-offline-docs/{asset}").status_code == 200


def test_a_hostile_file_name_is_shown_as_text(
    server: Server, browser: WebDriver, keys: dict[str, str], tmp_path: Path
) -> None:
    """A workbook named like an HTML tag: the page shows the name, creates no element, runs nothing."""
    good, _ = _workbooks(tmp_path)
    hostile = tmp_path / HOSTILE_NAME
    shutil.copy(good, hostile)
    browser.get(server.url + "/")
    browser.find_element(By.ID, "api-key").send_keys(keys["coordinator"])
    browser.find_element(By.ID, "sign-in").click()
    WebDriverWait(browser, 30).until(ready.visibility_of_element_located((By.ID, "upload-panel")))
    browser.find_element(By.ID, "workbook").send_keys(str(hostile))
    browser.find_element(By.ID, "check-workbook").click()
    WebDriverWait(browser, 30).until(ready.visibility_of_element_located((By.ID, "upload-ok")))
    assert browser.find_element(By.ID, "upload-ok").text.startswith(HOSTILE_NAME)
    assert browser.find_elements(By.CSS_SELECTOR, "#upload-result img") == []
    assert browser.execute_script("return window.pwned === undefined")


def test_the_docs_page_renders_offline_in_a_browser(server: Server, browser: WebDriver) -> None:
    """Swagger UI draws the operations from our own assets (this machine reaches no CDN)."""
    browser.get(server.url + "/docs")
    WebDriverWait(browser, 30).until(
        ready.presence_of_element_located((By.CSS_SELECTOR, ".swagger-ui .opblock"))
    )
    assert "cart-scheduler" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui .title").text
