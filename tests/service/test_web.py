"""The coordinators' web page, end to end in headless Chromium (Debian's chromium + chromedriver).

Each step's screenshot is kept in `test-artifacts/web/` (or $CART_ARTIFACTS/web) for CI.
"""

from __future__ import annotations

import io
import os
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import openpyxl
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import WebDriverWait

from models import load_instance
from models.workbook import write_instance
from tests.service.support import HORIZON_START, Server, booking_site, new_patient

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ARTIFACTS = (
    Path(os.environ.get("CART_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
    / "web"
)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    """Headless Chromium as root: no sandbox, no GPU, no background network, a fresh profile."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1400,1100",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(tmp_path / "downloads")}
    )
    driver = webdriver.Chrome(service=ChromeService("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(browser: WebDriver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def _wait(browser: WebDriver, seconds: float = 30) -> WebDriverWait[WebDriver]:
    return WebDriverWait(browser, seconds)


def _workbooks(tmp_path: Path) -> tuple[Path, Path]:
    """A good planning workbook and the same with a typo in the patients sheet."""
    wednesday = HORIZON_START + timedelta(days=2)
    site = booking_site(
        patients=[
            new_patient(
                "H1" if i % 2 else "H2", wednesday, wednesday + timedelta(days=3), id=f"P{i}"
            )
            for i in range(6)
        ]
    )
    good = write_instance(load_instance(site), tmp_path / "week.xlsx")
    book = openpyxl.load_workbook(good)
    header = [cell.value for cell in book["patients"][1]]
    book["patients"].cell(row=4, column=header.index("hospital") + 1, value="H99")
    bad = tmp_path / "week-with-typo.xlsx"
    book.save(bad)
    return good, bad


def test_a_coordinator_uploads_solves_reads_downloads_and_publishes(
    server: Server, browser: WebDriver, keys: dict[str, str], tmp_path: Path
) -> None:
    """Sign in, see a workbook's mistakes by sheet/row/column, solve the corrected one, watch it,
    read KPIs and Gantt, download the plan workbook, publish — all in the browser."""
    good, bad = _workbooks(tmp_path)
    browser.get(server.url + "/")
    _shot(browser, "01-sign-in")

    browser.find_element(By.ID, "api-key").send_keys("cs_wrong")
    browser.find_element(By.ID, "sign-in").click()
    _wait(browser).until(ready.text_to_be_present_in_element((By.ID, "sign-in-error"), "not valid"))
    browser.find_element(By.ID, "api-key").clear()
    browser.find_element(By.ID, "api-key").send_keys(keys["coordinator"])
    browser.find_element(By.ID, "sign-in").click()
    _wait(browser).until(ready.visibility_of_element_located((By.ID, "upload-panel")))
    _shot(browser, "02-signed-in")

    browser.find_element(By.ID, "workbook").send_keys(str(bad))
    browser.find_element(By.ID, "check-workbook").click()
    _wait(browser).until(ready.visibility_of_element_located((By.ID, "upload-errors")))
    rows = [
        [cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
        for row in browser.find_elements(By.CSS_SELECTOR, "#upload-errors tbody tr")
    ]
    assert any(row[:3] == ["patients", "4", "hospital"] and "H99" in row[3] for row in rows), rows
    assert not browser.find_element(By.ID, "solve-form").is_displayed()
    _shot(browser, "03-workbook-errors")

    browser.find_element(By.ID, "workbook").send_keys(str(good))
    browser.find_element(By.ID, "check-workbook").click()
    _wait(browser).until(ready.visibility_of_element_located((By.ID, "upload-ok")))
    assert "6 patients" in browser.find_element(By.ID, "upload-ok").text
    time_limit = browser.find_element(By.ID, "time-limit")
    time_limit.clear()
    time_limit.send_keys("20")
    browser.find_element(By.ID, "solve").click()
    _wait(browser).until(ready.visibility_of_element_located((By.ID, "progress-panel")))
    _shot(browser, "04-solving")

    _wait(browser, 90).until(ready.visibility_of_element_located((By.ID, "result-panel")))
    _wait(browser).until(ready.presence_of_element_located((By.CSS_SELECTOR, "#gantt .main-svg")))
    _wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#kpis tr")) > 3)
    assert browser.find_element(By.ID, "plan-status").text == "done"
    assert browser.find_element(By.ID, "result-summary").text.startswith(
        "OPTIMAL: scheduled_weight 6"
    )
    labels = [
        row.find_element(By.TAG_NAME, "td").text
        for row in browser.find_elements(By.CSS_SELECTOR, "#kpis tr")
    ]
    assert any("utilisation" in label.lower() for label in labels)
    _shot(browser, "05-result-kpis-gantt")

    browser.find_element(By.ID, "download").click()
    downloads = tmp_path / "downloads"
    deadline = time.monotonic() + 30
    while not list(downloads.glob("*.xlsx")) and time.monotonic() < deadline:
        time.sleep(0.2)
    [downloaded] = list(downloads.glob("*.xlsx"))
    assert zipfile.is_zipfile(downloaded)
    assert "patients" in openpyxl.load_workbook(io.BytesIO(downloaded.read_bytes())).sheetnames

    browser.find_element(By.ID, "publish").click()
    _wait(browser).until(
        ready.text_to_be_present_in_element((By.ID, "publish-result"), "Published (version 1)")
    )
    _shot(browser, "06-published")
    published = httpx.get(
        server.url + "/v1/published", headers={"X-API-Key": keys["coordinator"]}
    ).json()
    assert len(published["schedule"]["assignments"]) == 6
