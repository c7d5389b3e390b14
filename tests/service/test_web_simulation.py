"""The web page simulates the published plan: start one, watch it, read the summary and histograms.

Headless Debian Chromium + chromedriver, as `tests/service/test_web.py` (whose browser fixture it
uses); screenshots in `test-artifacts/web/`.
"""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select

from tests.service.support import Server, solve_and_publish
from tests.service.test_simulations import _site
from tests.service.test_web import _shot, _wait, browser

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
__all__ = ["browser"]  # the fixture, used by name


def test_a_coordinator_simulates_the_published_plan_and_reads_its_distributions(
    server: Server, browser: WebDriver, keys: dict[str, str]
) -> None:
    """Sign in, a bad run count is refused with its path, three runs are simulated: the summary
    table (every final plan valid) and one histogram per panel are drawn under the page's CSP."""
    with httpx.Client(
        base_url=server.url, headers={"X-API-Key": keys["coordinator"]}, timeout=30
    ) as coordinator:
        plan_id = solve_and_publish(coordinator, _site())
    browser.get(server.url + "/")
    browser.find_element(By.ID, "api-key").send_keys(keys["coordinator"])
    browser.find_element(By.ID, "sign-in").click()
    _wait(browser).until(ready.visibility_of_element_located((By.ID, "simulation-panel")))
    _wait(browser).until(ready.text_to_be_present_in_element((By.ID, "simulation-plan"), plan_id))

    runs = browser.find_element(By.ID, "simulation-runs")
    runs.clear()
    runs.send_keys("100000")
    browser.find_element(By.ID, "simulate").click()
    _wait(browser).until(
        ready.text_to_be_present_in_element((By.ID, "simulation-status"), "body.runs")
    )

    runs.clear()
    runs.send_keys("3")
    Select(browser.find_element(By.ID, "simulation-policy")).select_by_value("repair")
    browser.find_element(By.ID, "simulation-failure-rate").send_keys("0.3")
    browser.find_element(By.ID, "simulate").click()
    _wait(browser).until(ready.text_to_be_present_in_element((By.ID, "simulation-status"), "of 3"))
    _shot(browser, "07-simulation-running")
    _wait(browser, 180).until(ready.visibility_of_element_located((By.ID, "simulation-summary")))
    assert "done, 3 of 3 runs" in browser.find_element(By.ID, "simulation-status").text
    header = [
        cell.text for cell in browser.find_elements(By.CSS_SELECTOR, "#simulation-summary th")
    ]
    assert header == ["mean [95 % CI]", "policy", "do_nothing", "clairvoyant"]
    rows = {
        row.find_elements(By.TAG_NAME, "td")[0].text: [
            cell.text for cell in row.find_elements(By.TAG_NAME, "td")[1:]
        ]
        for row in browser.find_elements(By.CSS_SELECTOR, "#simulation-summary tbody tr")
    }
    assert rows["final plans valid"] == ["9 of 9"]
    assert all("[" in cell for cell in rows["treated_weight"]), rows["treated_weight"]
    _wait(browser).until(
        lambda b: len(b.find_elements(By.CSS_SELECTOR, ".simulation-plot .main-svg")) >= 3
    )
    _shot(browser, "08-simulation-done")
