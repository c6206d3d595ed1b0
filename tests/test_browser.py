"""A real browser on the real thing: headless Chromium (Debian's package, driven by
Playwright) against ``python -m sidecar serve`` and the fake TMDB.

One user's first session, in order (the tests share one server and one page): first-run
password, log out and in, a rejected setting, settings saved and still there after a
reload, the TMDB test button, the webhook URLs, a quick scan watched until done, and
two matches fixed (one by picking a candidate, one by typing a TMDB id).  The library has
a file whose path contains ``<script>alert(1)</script>.mkv`` and TMDB has a title with
markup: no dialog may ever open.  Screenshots go to ``tests/artifacts/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tests import e2e_kit
from tests.e2e_kit import REPO, ServeProcess, child_env, db_rows
from tests.fakes.fake_tmdb import FakeTmdb, running_fake_tmdb
from tests.fakes.tmdb_catalog import AMBIGUOUS_CATALOG

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is not installed (scripts/test.sh installs Debian's chromium)",
                allow_module_level=True)
from playwright import sync_api  # noqa: E402 - a test dependency: missing = broken setup

pytestmark = pytest.mark.browser
ARTIFACTS = REPO / "tests" / "artifacts"
PASSWORD = "browser test password"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
FILES = ("Movies/Heat (1995)/Heat (1995).mkv", "Movies/RoboCop/RoboCop.mkv",
         "Movies/<script>alert(1)</script>.mkv", "Movies/Evil Title (2005)/Evil Title (2005).mkv",
         "Movies/Star Wars (1977)/Star Wars (1977).mkv",
         "Movies/Army of Darkness (1992)/Army of Darkness (1992).mkv",
         "Movies/Amélie (2001)/Amélie (2001).mkv", "Movies/The Thing (1982)/The Thing (1982).mkv",
         "Movies/RoboCop 2 (1990)/RoboCop 2 (1990).mkv")
EVIL_TITLE = "Evil <img src=x onerror=alert(2)> Title"
EXTRA = {"movies": [{"id": 949, "title": "Heat", "year": 1995},
                    {"id": 9000500, "title": EVIL_TITLE, "year": 2005}]}
OLD = 1_600_000_000  # file times well outside the settle window
# The rejected form (400) and the wrong password (401) are pages with an error status on
# purpose; anything else in the console (a CSP refusal, a script error) fails the test.
EXPECTED_ERRORS = ("Failed to load resource: the server responded with a status of 400",
                   "Failed to load resource: the server responded with a status of 401")


wait_until = partial(e2e_kit.wait_until, timeout=30.0, tick=0.1)


class World:
    """Everything the journey shares."""

    serve: ServeProcess  # set by start()

    def __init__(self, root: Path, tmdb: FakeTmdb) -> None:
        self.root, self.tmdb = root, tmdb
        self.library = root / "library"
        self.data = root / "data"
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []

    @property
    def url(self) -> str:
        return self.serve.url

    def make_library(self) -> None:
        for relative in FILES:
            path = self.library / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\0" * 512)
            os.utime(path, (OLD, OLD))
        # An install that has not been pointed at a library yet (and skips the demo one).
        (self.root / "empty").mkdir()
        from sidecar.state import StateStore

        StateStore(self.data / "scanarr.db").save_settings({"libraries": str(self.root /
                                                                             "empty")})

    def start(self) -> ServeProcess:
        self.serve = ServeProcess(child_env(self.data), self.root / "serve.log")
        return self.serve

    def items(self, state: str) -> list[str]:
        rows = db_rows(self.serve.db, "SELECT media_path FROM media_scan_state "
                       "WHERE scan_state = ?", [state])
        return [row[0] for row in rows]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_fake_tmdb(catalog=AMBIGUOUS_CATALOG, auto=False, rate_limit=0,
                           latency_ms=250) as tmdb:
        tmdb.catalog.load(EXTRA)
        world = World(tmp_path_factory.mktemp("browser"), tmdb)
        world.make_library()
        with world.start():
            yield world


@pytest.fixture(scope="module")
def page(world: World) -> Iterator[Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(base_url=world.url, viewport={"width": 1200,
                                                                     "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()

        def on_dialog(dialog: Any) -> None:
            world.dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda msg: world.console_errors.append(msg.text)
                if msg.type == "error" and not msg.text.startswith(EXPECTED_ERRORS) else None)
        page.on("pageerror", lambda exc: world.console_errors.append(str(exc)))
        yield page
        browser.close()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def flash(page: Any) -> str:
    return str(page.locator("p.flash").first.inner_text())


# --- the journey -----------------------------------------------------------------------------


def test_first_run_sets_the_admin_password(page: Any) -> None:
    page.goto("/")
    assert page.url.endswith("/setup")
    shot(page, "01-setup")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/settings")
    assert "Admin password saved" in flash(page)


def test_log_out_wrong_password_then_log_in(page: Any, world: World) -> None:
    page.click("text=Log out")
    page.wait_for_url("**/login")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    assert page.inner_text("#login-error") == "Wrong password."
    shot(page, "02-login")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(world.url + "/")
    assert page.locator("#scan").is_visible()


def test_a_bad_value_is_refused_next_to_its_field(page: Any) -> None:
    page.goto("/settings")
    page.fill("#scan_interval", "0")
    page.fill("#refresh_time", "25:99")
    page.click("#save-settings")
    assert "must be between 1 and 1440, got 0" in page.inner_text("#error-scan_interval")
    assert "HH:MM" in page.inner_text("#error-refresh_time")
    assert page.input_value("#refresh_time") == "25:99"  # kept for fixing
    page.locator("#field-scan_interval").scroll_into_view_if_needed()
    shot(page, "03-settings-validation")


def test_settings_are_saved_and_still_there_after_a_reload(page: Any, world: World) -> None:
    page.goto("/settings")
    page.fill("#tmdb_api_url", world.tmdb.url)
    page.fill("#tmdb_api_key", world.tmdb.api_key)
    page.fill("#libraries", str(world.library))
    page.fill("#language", "de-de")
    page.fill("#scan_interval", "30")
    page.check("#nfo")
    page.click("#save-settings")
    assert "they apply now" in flash(page)
    page.reload()
    assert page.input_value("#language") == "de-DE"
    assert page.input_value("#scan_interval") == "30"
    assert page.input_value("#libraries") == str(world.library)
    assert page.is_checked("#nfo")
    assert page.input_value("#tmdb_api_key") == ""  # write-only
    assert "stored" in (page.get_attribute("#tmdb_api_key", "placeholder") or "")
    assert world.tmdb.api_key not in page.content()
    shot(page, "04-settings-saved")


def test_tmdb_test_button_and_webhook_urls(page: Any, world: World) -> None:
    page.click("text=Test TMDB key")
    assert "accepted the key" in flash(page)
    page.click("#reveal-webhook")
    url = page.input_value("#webhook-plex")
    assert url.startswith(f"{world.url}/webhooks/plex?token=") and len(url) > len(world.url) + 40
    shot(page, "05-settings-webhooks")
    page.goto("/settings")
    assert url not in page.content()


def test_quick_scan_progress_moves_to_done(page: Any, world: World) -> None:
    page.goto("/")
    wait_until(lambda: page.get_attribute("#scan", "data-running") == "false",
               "the start-up scan to finish")
    page.click("#scan-quick")
    assert "Quick scan started." in flash(page)
    seen: list[tuple[str, str, str]] = []

    def done() -> bool:
        bar = page.locator("#scan-progress")
        seen.append((bar.get_attribute("value") or "", bar.get_attribute("max") or "",
                     page.inner_text("#scan-text")))
        if len(seen) == 3:
            shot(page, "06-status-scanning")
        return page.locator("#scan-finished").is_visible()

    wait_until(done, "the progress bar to reach done", timeout=60)
    running = [s for s in seen if "scan:" in s[2]]
    assert running, f"never saw the scan running: {seen[:5]}"
    assert any("fetching" in s[2] for s in running)
    value = page.get_attribute("#scan-progress", "value")
    assert value == page.get_attribute("#scan-progress", "max") and int(value or 0) >= 9
    assert page.inner_text("#scan-text") == "No scan running."
    assert page.inner_text("#scan-percent") == "100"
    shot(page, "07-status-done")
    indexed = world.items("INDEXED")
    assert len(indexed) == 6, indexed
    heat = world.library / "Movies" / "Heat (1995)"
    assert (heat / "metadata.json").exists() and (heat / "movie.nfo").exists()


def test_errors_are_listed_and_markup_stays_text(page: Any) -> None:
    page.goto("/")
    errors = page.locator("#errors")
    assert "several close candidates for 'RoboCop'" in errors.inner_text()
    assert "<script>alert(1)</script>.mkv" in errors.inner_text()  # shown as text
    assert EVIL_TITLE in errors.inner_text()
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("#errors script").count() == 0


def test_fix_a_match_by_picking_a_candidate(page: Any, world: World) -> None:
    item = page.locator("li.error-item", has_text="RoboCop/RoboCop.mkv")
    item.locator("button.candidate", has_text="(1987)").click()
    assert "matched to TMDB id 5548" in flash(page)
    robocop = str(world.library / "Movies" / "RoboCop" / "RoboCop.mkv")
    wait_until(lambda: robocop in world.items("INDEXED"), "RoboCop to be indexed")
    assert '"tmdb_id": 5548' in (Path(robocop).parent / "metadata.json").read_text()


def test_fix_a_match_by_typing_a_tmdb_id(page: Any, world: World) -> None:
    page.goto("/")
    item = page.locator("li.error-item", has_text="Evil Title (2005).mkv")
    item.locator("input.tmdb-id").fill("9000500")
    item.locator("button.match-id").click()
    assert "matched to TMDB id 9000500" in flash(page)
    evil = world.library / "Movies" / "Evil Title (2005)" / "Evil Title (2005).mkv"
    wait_until(lambda: str(evil) in world.items("INDEXED"), "the typed match to be indexed")
    page.goto("/")
    shot(page, "08-status-fixed")
    assert "RoboCop/RoboCop.mkv" not in page.inner_text("#errors")


def test_no_script_ever_ran_and_no_console_errors(page: Any, world: World) -> None:
    assert world.dialogs == []
    assert world.console_errors == []
    page.goto("/metrics")
    assert 'scanarr_items{state="INDEXED"} 8' in page.inner_text("body")
