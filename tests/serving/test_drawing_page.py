"""The drawing page at ``/`` in a real headless Chromium: a circle drawn with pointer events is seen as a circle.

Chromium and its driver are Debian's packages (``.ci/run`` installs them with
apt); Selenium drives them through ``/usr/bin/chromedriver``, downloading
nothing. Where they cannot be installed the test skips and says so.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("KERASKETCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("KERASKETCH_CHROMEDRIVER", "/usr/bin/chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        pytest.skip(f"Chromium not installed ({CHROMIUM}, {CHROMEDRIVER}): apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the serve extra")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,640"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def draw(driver, canvas, points: list[tuple[int, int]]) -> None:
    """One stroke through ``points`` (offsets from the canvas' centre), as a mouse drags it: pointer events."""
    from selenium.webdriver.common.actions.action_builder import ActionBuilder
    from selenium.webdriver.common.actions.interaction import POINTER_MOUSE
    from selenium.webdriver.common.actions.pointer_input import PointerInput

    actions = ActionBuilder(driver, mouse=PointerInput(POINTER_MOUSE, "mouse"), duration=10)
    actions.pointer_action.move_to(canvas, *points[0]).pointer_down()
    for x, y in points[1:]:
        actions.pointer_action.move_to(canvas, x, y)
    actions.pointer_action.pointer_up()
    actions.perform()


def top_classes(driver) -> list[str]:
    # Read in one script: the list is replaced on every answer, so elements found first may be gone when read.
    return driver.execute_script("return [...document.querySelectorAll('#top li')].map((li) => li.dataset.class)")


def test_a_circle_drawn_on_the_page_is_recognised(browser, service, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(service.url + "/")
    assert "CC BY 4.0" in browser.find_element(By.TAG_NAME, "footer").text
    canvas = browser.find_element(By.ID, "pad")
    circle = [
        (round(120 * math.cos(a / 40 * 2 * math.pi)), round(120 * math.sin(a / 40 * 2 * math.pi))) for a in range(41)
    ]
    draw(browser, canvas, circle)
    WebDriverWait(browser, 60).until(lambda d: len(top_classes(d)) == 4 and top_classes(d)[0] == "circle")
    WebDriverWait(browser, 30).until(lambda d: "classes" in d.find_element(By.ID, "model").text)
    shot = tmp_path / "serve-page.png"
    browser.save_screenshot(str(shot))
    if os.environ.get("KERASKETCH_SCREENSHOT"):  # how docs/img/serve-page.png is made
        shutil.copy(shot, os.environ["KERASKETCH_SCREENSHOT"])

    browser.find_element(By.ID, "clear").click()
    WebDriverWait(browser, 10).until(lambda d: top_classes(d) == [])
    zigzag = [(-150 + 30 * i, -60 if i % 2 else 60) for i in range(11)]
    draw(browser, canvas, zigzag)
    WebDriverWait(browser, 60).until(lambda d: top_classes(d)[:1] == ["zigzag"])
