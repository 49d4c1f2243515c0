"""Swagger UI in a real (headless) browser: "Authorize" takes a Bearer token, then calls work.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Outside CI a
machine without them skips these tests; in CI their absence is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps

from tests.factories import StaffFactory, refresh_token_for
from tests.support.ports import PortInUse, address_in_use, on_free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Debian's chromium here; GitHub's Ubuntu runners ship google-chrome and chromedriver.
CHROMIUM = shutil.which("chromium") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")

if not (CHROMIUM and CHROMEDRIVER):
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail("chromium and chromedriver are required in CI", pytrace=False)
    pytest.skip(
        "needs chromium and chromedriver (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402  (after the availability check)
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture
def browser(tmp_path: Any) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,2000",
        # No internet: every host name but the live server's fails to resolve, so a page
        # that needs a CDN stays blank.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)

    def start(port: int) -> WebDriver:
        # chromedriver binds its own port: selenium's default draws one with bind(0) and
        # closes it (a race); ours is outside the ephemeral range, and redrawn if taken.
        log = tmp_path / f"chromedriver-{port}.log"
        service = Service(executable_path=str(CHROMEDRIVER), port=port, log_output=str(log))
        try:
            return webdriver.Chrome(service=service, options=options)
        except WebDriverException:
            if log.exists() and address_in_use(log.read_text(errors="replace")):
                raise PortInUse(f"chromedriver lost port {port}") from None
            raise

    driver = on_free_port(start)
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: WebDriver, css: str, timeout: float = 20) -> Any:
    return WebDriverWait(driver, timeout).until(ec.element_to_be_clickable((By.CSS_SELECTOR, css)))


def _execute_me(driver: WebDriver) -> str:
    """Run GET /api/auth/me from its panel and return the status Swagger UI shows."""
    panel = "#operations-auth-auth_me"
    execute = driver.find_elements(By.CSS_SELECTOR, f"{panel} button.execute")
    if not execute:
        _wait(driver, f"{panel} .opblock-summary").click()
        _wait(driver, f"{panel} button.try-out__btn").click()
    # Clear the previous answer first, or its status would be read as this call's.
    for clear in driver.find_elements(By.CSS_SELECTOR, f"{panel} button.btn-clear"):
        old = driver.find_elements(By.CSS_SELECTOR, f"{panel} .live-responses-table")
        clear.click()
        for element in old:
            WebDriverWait(driver, 20).until(ec.staleness_of(element))
    _wait(driver, f"{panel} button.execute").click()
    status = WebDriverWait(driver, 20).until(
        lambda d: (
            d.find_element(
                By.CSS_SELECTOR, f"{panel} .live-responses-table .response .response-col_status"
            ).text.strip()
            or None
        )
    )
    return str(status)


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_renders_offline_in_a_host_without_ninja_in_installed_apps(
    live_server: Any, browser: WebDriver, settings: Any
) -> None:
    # A host that never heard of the "ninja" app: django-ninja's own Swagger page would load
    # its JavaScript from a CDN, which this browser cannot reach.
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "ninja"]
    assert not apps.is_installed("ninja")

    browser.get(f"{live_server.url}/api/docs")
    _wait(browser, "#operations-catalog-product_list .opblock-summary").click()
    _wait(browser, "#operations-catalog-product_list button.try-out__btn").click()
    _wait(browser, "#operations-catalog-product_list button.execute").click()
    status = WebDriverWait(browser, 20).until(
        lambda d: (
            d.find_element(
                By.CSS_SELECTOR,
                "#operations-catalog-product_list .live-responses-table .response "
                ".response-col_status",
            ).text.strip()
            or None
        )
    )
    assert str(status).startswith("200")
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert any("/api/docs/assets/swagger-ui-bundle.js" in url for url in loaded)
    assert all(url.startswith(live_server.url) for url in loaded), loaded


@pytest.mark.django_db(transaction=True)
def test_authorize_with_a_bearer_token_then_call_a_protected_endpoint(
    live_server: Any, browser: WebDriver, tmp_path: Any
) -> None:
    screenshot_dir = tmp_path
    user = StaffFactory(username="swagger-staff")
    token = str(refresh_token_for(user).access_token)

    browser.get(f"{live_server.url}/api/docs")
    _wait(browser, "button.authorize")

    # Without a token the protected call is refused.
    assert _execute_me(browser).startswith("401")

    _wait(browser, "button.authorize").click()
    field = _wait(browser, ".modal-ux .auth-container input")
    field.send_keys(token)
    _wait(browser, ".modal-ux .auth-btn-wrapper button.authorize").click()
    _wait(browser, ".modal-ux .auth-btn-wrapper button.btn-done").click()

    # With it, the same call succeeds and shows the user.
    assert _execute_me(browser).startswith("200")
    shown = " ".join(
        element.text
        for element in browser.find_elements(
            By.CSS_SELECTOR, "#operations-auth-auth_me .live-responses-table pre"
        )
    )
    assert '"swagger-staff"' in shown
    browser.save_screenshot(str(screenshot_dir / "swagger-authorized.png"))
