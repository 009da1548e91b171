"""The dashboard at `/`, in a real headless Chromium (the Debian `chromium` package, driven by
Playwright with `executable_path`; no browser is downloaded).

One `litecnn serve --watch` on a scratch repository with an admin token: demo v1 is promoted,
v2 (more accurate) is promoted, a copy of v1 under a new version is rejected by the hold-out
gate. The page must show all three with their reasons, draw live traffic, predict a real photo
exactly as `/predict` does, refuse a rollback without the admin token and perform it with it.
Two more servers show the page on an empty store and with no watcher at all.

Screenshots of every state go to $LITECNN_ARTIFACTS/dashboard/ (default test-artifacts/).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright
from repository import V1, V2, publish

ROOT = Path(__file__).resolve().parents[2]
HOLDOUT = ROOT / "examples" / "fashion-mnist" / "holdout"
ADMIN_TOKEN = "dashboard-admin-token"
CHROMIUM = os.environ.get("LITECNN_CHROMIUM", "/usr/bin/chromium")
WORSE = "20261126T120000Z-worse1"  # v1's weights under a new version: less accurate than v2
DEPLOY_TIMEOUT_S = 60


def artifacts() -> Path:
    base = Path(os.environ.get("LITECNN_ARTIFACTS") or ROOT / "test-artifacts")
    path = base / "dashboard"
    path.mkdir(parents=True, exist_ok=True)
    return path


def get_json(address: str, path: str, token: str | None = None):
    request = urllib.request.Request(f"http://{address}{path}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def wait_for(what: str, check, timeout_s: float = DEPLOY_TIMEOUT_S):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s}s waiting for {what}", False)
        time.sleep(0.2)


def serving(address: str) -> str | None:
    try:
        return get_json(address, "/v1/model")["version"]
    except urllib.error.HTTPError:
        return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium; ./scripts/test does)", False)
    with sync_playwright() as p:
        # --no-sandbox: the tests may run as root, where Chromium's sandbox refuses to start.
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class Console:
    """Every console error and uncaught exception of a page."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        # The console says only "status of 500"; the failed request names the route.
        page.on("response", self._response)

    def _response(self, response) -> None:
        if response.status >= 500:
            body = response.text()[:300]
            self.errors.append(f"server error: {response.status} {response.url}: {body}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")


def open_page(browser: Browser, address: str, **context) -> tuple[Page, Console]:
    page = browser.new_page(**context)
    console = Console(page)
    page.goto(f"http://{address}/")
    page.wait_for_selector("body[data-loaded=true]", timeout=15_000)
    return page, console


def shot(page: Page, name: str) -> None:
    page.screenshot(path=str(artifacts() / f"{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def deployed(launch_server, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The watched server after v1 and v2 were promoted and WORSE was rejected; its address."""
    tmp = tmp_path_factory.mktemp("dashboard")
    repo = tmp / "repo" / "fashion-mnist"
    repo.mkdir(parents=True)
    (tmp / "admin").write_text(f"{ADMIN_TOKEN}\n")
    publish(repo, V1, V1)
    address = launch_server(
        *("--store", str(tmp / "store"), "--watch", str(repo), "--holdout", str(HOLDOUT)),
        *("--admin-token-file", str(tmp / "admin"), "--threads", "2"),
        log=tmp / "serve.log",
    )
    wait_for("v1 to serve", lambda: serving(address) == V1)
    publish(repo, V2, V2)
    wait_for("v2 to serve", lambda: serving(address) == V2)
    publish(repo, V1, WORSE)
    wait_for(
        "the worse version to be rejected",
        lambda: any(a["version"] == WORSE for a in get_json(address, "/v1/history")),
    )
    return address


def test_history_shows_promotion_and_rejection_with_reasons(browser, deployed) -> None:
    page, console = open_page(browser, deployed)
    rows = page.locator("#attempts details")
    expect(rows).to_have_count(3)
    rejected = page.locator(f"#attempts details[data-result=rejected]:has-text('{WORSE}')")
    expect(rejected.locator(".reason")).to_contain_text("hold-out accuracy regressed")
    promoted = page.locator(f"#attempts details[data-result=promoted]:has-text('{V2}')")
    expect(promoted.locator(".badge")).to_have_text("promoted")
    # Newest first, each with its step bar (detect, fetch, verify, gate [, promote]).
    expect(rows.first).to_have_attribute("data-result", "rejected")
    expect(promoted.locator(".bar span")).to_have_count(5)
    expect(rejected.locator(".bar span.failed-step")).to_have_count(1)

    # Now serving: v2 with the hold-out numbers of the gate that promoted it.
    expect(page.locator("#m-version")).to_have_text(V2)
    expect(page.locator("#m-gates")).to_contain_text("accuracy")
    expect(page.locator("#m-gates")).to_contain_text("vs")
    expect(page.locator("#w-state")).to_have_text("idle")
    shot(page, "1-history")

    page.get_by_role("button", name="Rejected", exact=True).click()
    expect(rows).to_have_count(1)
    rejected.locator("summary").click()
    expect(rejected.locator(".detail")).to_contain_text("top-1 0.8900 vs current 0.9267")
    shot(page, "2-history-rejected-expanded")
    page.get_by_role("button", name="All", exact=True).click()
    expect(rows).to_have_count(3)
    assert console.errors == [], console.errors
    page.close()


LAYOUT_SHIFTS = """since => new Promise(resolve => new PerformanceObserver(list => resolve(
    list.getEntries().filter(e => e.startTime > since && !e.hadRecentInput).map(e => e.value)
)).observe({type: "layout-shift", buffered: true}))"""


def test_refreshing_data_does_not_shift_the_layout(browser, deployed) -> None:
    page, console = open_page(browser, deployed)
    loaded = page.evaluate("performance.now()")
    page.wait_for_timeout(5500)  # every panel refreshed at least once, the charts twice
    shifts = page.evaluate(LAYOUT_SHIFTS, loaded)
    assert sum(shifts) < 0.001, f"layout shifts after the first render: {shifts}"
    assert console.errors == [], console.errors
    page.close()


def test_live_traffic_is_drawn_from_the_servers_samples(browser, deployed) -> None:
    photo = HOLDOUT / "Sneaker" / "t10k-00009.png"
    for _ in range(30):
        request = urllib.request.Request(
            f"http://{deployed}/predict",
            data=photo.read_bytes(),
            headers={"Content-Type": "image/png"},
        )
        urllib.request.urlopen(request, timeout=10).read()
    page, console = open_page(browser, deployed)
    # The chart leaves out the interval still filling: wait until the requests' one is done.
    positive = re.compile(r"^([1-9]\d*(\.\d)?|0\.[1-9])$")
    expect(page.locator("#now-rps")).to_have_text(positive, timeout=10_000)
    expect(page.locator("#chart-rps polyline")).to_have_count(1)
    points = page.locator("#chart-rps polyline").get_attribute("points")
    heights = [float(p.split(",")[1]) for p in points.split()]
    assert min(heights) < 100, f"no request drawn: {points}"
    expect(page.locator("#now-latency")).to_contain_text("ms")
    expect(page.locator("#now-errors")).to_have_text("0.0 %")
    shot(page, "3-live-traffic")
    assert console.errors == [], console.errors
    page.close()


def test_try_it_shows_the_predictions_of_predict(browser, deployed, tmp_path: Path) -> None:
    from PIL import Image
    from skimage import data_dir

    photo = tmp_path / "chelsea.jpg"
    Image.open(Path(data_dir) / "chelsea.png").convert("RGB").save(photo, quality=90)
    request = urllib.request.Request(
        f"http://{deployed}/predict?top_k=5",
        data=photo.read_bytes(),
        headers={"Content-Type": "image/jpeg"},
    )
    expected = json.load(urllib.request.urlopen(request, timeout=10))["predictions"]

    page, console = open_page(browser, deployed)
    page.set_input_files("#file", str(photo))
    rows = page.locator("#predictions .pred")
    expect(rows).to_have_count(5)
    for row, want in zip(rows.all(), expected, strict=True):
        expect(row.locator(".name")).to_contain_text(want["label"])
        expect(row.locator(".name .extra")).to_have_text(want["name_ko"])
        expect(row.locator(".p")).to_have_text(f"{want['probability'] * 100:.1f} %")
    shot(page, "4-try-it-photo")

    page.set_input_files("#file", str(HOLDOUT / "Sneaker" / "t10k-00009.png"))
    expect(rows.first.locator(".name")).to_contain_text("Sneaker")
    expect(rows.first.locator(".name .extra")).to_have_text("스니커즈")
    assert console.errors == [], console.errors
    page.close()


def confirm(page: Page) -> None:
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Confirm").click()
    expect(dialog).to_be_hidden()


def test_rollback_needs_the_admin_token(browser, deployed) -> None:
    page, _ = open_page(browser, deployed)
    result = page.locator("#action-result")

    # Cancelled: nothing happens.
    page.locator("#act-rollback").click()
    page.locator("#confirm").get_by_role("button", name="Cancel").click()
    expect(result).to_have_text("Cancelled.")

    # No token, then a wrong one: the server refuses, v2 keeps serving.
    page.locator("#act-rollback").click()
    confirm(page)
    expect(result).to_contain_text("Refused")
    page.fill("#admin-token", "not-the-admin-token")
    page.locator("#admin-form button[type=submit]").click()
    page.locator("#act-rollback").click()
    confirm(page)
    expect(result).to_contain_text("Refused")
    assert serving(deployed) == V2
    shot(page, "5-rollback-refused")

    page.fill("#admin-token", ADMIN_TOKEN)
    page.locator("#admin-form button[type=submit]").click()
    page.select_option("#rollback-to", V1)
    page.locator("#act-rollback").click()
    confirm(page)
    expect(result).to_contain_text(f"now serving {V1}")
    wait_for("the rollback to v1", lambda: serving(deployed) == V1, 30)
    expect(page.locator("#m-version")).to_have_text(V1, timeout=15_000)
    expect(page.locator("#attempts details").first).to_have_attribute("data-result", "rollback")
    shot(page, "6-rolled-back")
    page.close()


def test_empty_store_with_a_watcher(browser, launch_server, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    address = launch_server("--store", str(tmp_path / "store"), "--watch", str(repo))
    page, console = open_page(browser, address)
    expect(page.locator("#serving-empty")).to_be_visible()
    expect(page.locator("#top-model-text")).to_have_text("no model loaded")
    expect(page.locator("#history-empty")).to_have_text("No deploy attempts yet.")
    expect(page.locator("#w-state")).not_to_have_text("not running")
    page.wait_for_timeout(2500)  # a refresh or two, to catch errors of the timers too
    shot(page, "7-empty-store")
    assert console.errors == [], console.errors
    page.close()


def test_no_watcher_serving_the_builtin_demo(browser, launch_server, tmp_path: Path) -> None:
    address = launch_server(env={"LITECNN_STORE": str(tmp_path / "store")})
    page, console = open_page(browser, address)
    expect(page.locator("#m-name")).to_have_text("fashion-mnist")
    expect(page.locator("#w-state")).to_have_text("not running")
    expect(page.locator("#m-gates")).to_contain_text("No gate report")
    assert console.errors == [], console.errors
    page.locator("#act-deploy").click()
    confirm(page)
    expect(page.locator("#action-result")).to_contain_text("Admin routes are off")
    shot(page, "8-no-watcher")
    page.close()
    # A phone: one column, nothing wider than the screen.
    phone, console_phone = open_page(
        browser, address, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px screen"
    shot(phone, "9-phone")
    assert console_phone.errors == [], console_phone.errors
    phone.close()


def test_a_server_with_api_tokens_asks_for_one(browser, launch_server, tmp_path: Path) -> None:
    (tmp_path / "tokens").write_text("api-token\n")
    address = launch_server(
        "--token-file", str(tmp_path / "tokens"), env={"LITECNN_STORE": str(tmp_path / "store")}
    )
    page, _ = open_page(browser, address)
    expect(page.locator("#banner")).to_contain_text("needs an API token")
    expect(page.locator("#m-name")).not_to_have_text("fashion-mnist")
    page.get_by_role("button", name="API token").click()
    page.fill("#api-token", "api-token")
    page.locator("#token-dialog").get_by_role("button", name="Use token").click()
    expect(page.locator("#m-name")).to_have_text("fashion-mnist")
    expect(page.locator("#banner")).to_be_hidden()
    # Kept for the tab only: a reload still knows it, a new tab does not.
    page.reload()
    expect(page.locator("#m-name")).to_have_text("fashion-mnist")
    page.close()
