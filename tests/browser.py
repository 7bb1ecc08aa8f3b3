"""Headless Chromium for the browser tests, and Debian packages the tests need.

``chromium`` is a pytest fixture (import it into a test module): it finds
Debian's ``chromium`` and ``chromium-driver``, installs them with apt-get when
missing and running as root (CI runs as root), and skips with the reason only
when neither root nor CI (env ``CI=true``); on CI a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

BROWSER_PACKAGES = ("chromium", "chromium-driver", "fonts-wqy-zenhei")
FONT_PACKAGES = ("fonts-wqy-zenhei",)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1200,900",
    "--lang=zh-CN",
)


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _missing(packages) -> list[str]:
    if shutil.which("dpkg-query") is None:
        return list(packages)
    out = []
    for name in packages:
        res = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True
        )
        if "install ok installed" not in res.stdout:
            out.append(name)
    return out


def ensure_debian_packages(packages, *, why: str) -> None:
    """Install missing Debian packages (root only); skip or fail with the reason otherwise."""
    missing = _missing(packages)
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        reason = f"{why}: Debian packages {missing} are missing and apt-get cannot run (not root)"
        if on_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "-o", "DPkg::Lock::Timeout=600", "update"],
        [
            "apt-get",
            "-o",
            "DPkg::Lock::Timeout=600",
            "install",
            "-y",
            "--no-install-recommends",
            *missing,
        ],
    ):
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1200)
        if res.returncode != 0:
            pytest.fail(f"{why}: `{' '.join(cmd)}` failed: {res.stderr.strip()[-500:]}")


def _chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return browser, driver


@pytest.fixture(scope="session")
def chromium():
    """A headless Chromium WebDriver (selenium), fresh profile, logging console errors."""
    webdriver = pytest.importorskip("selenium.webdriver")
    browser, driver_path = _chromium_paths()
    if not (Path(browser).exists() and Path(driver_path).exists()):
        ensure_debian_packages(BROWSER_PACKAGES, why="browser tests need headless Chromium")
        browser, driver_path = _chromium_paths()
    ensure_debian_packages(FONT_PACKAGES, why="browser tests check that Chinese renders")
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager download anything
    profile = tempfile.mkdtemp(prefix="gridkit-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=driver_path)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    # collect uncaught errors from the first line of every page
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": (
                "window.__gridkitErrors = [];"
                "window.addEventListener('error', function (e) {"
                "  window.__gridkitErrors.push(String(e.message || e.type)); }, true);"
                "window.alert = function (m) { window.__gridkitErrors.push('alert: ' + m); };"
            )
        },
    )
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
