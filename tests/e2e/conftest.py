"""A real Chromium (Debian's when installed) driven by Playwright against a live Django server.

Accessibility: ``assert_accessible(page)`` runs axe-core (vendored in tests/e2e/vendor, MPL-2.0) on the
page as it is and fails with a readable list of violations. The ``page`` fixture also checks every
page a test loads (``PORTAL_AXE_EVERY_PAGE=0`` turns that off, e.g. to find a failure's other
cause): each document is checked once it has loaded, and the test fails at its end with all
violations found on the way.
"""

import functools
import os
import shutil
import weakref
from pathlib import Path

import pytest

AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"

# What axe's answer depends on: the address, the document, the viewport, the focus and the
# colour preferences, hashed. Two checks of the same state (the check after each load, then a test's
# own check of a page that drew nothing more) give the same answer: the second is not run.
_AXE_STATE = """() => {
  const s = [location.href, innerWidth, innerHeight, devicePixelRatio,
             matchMedia('(prefers-color-scheme: dark)').matches, matchMedia('(forced-colors: active)').matches,
             document.activeElement ? document.activeElement.outerHTML.slice(0, 200) : '',
             document.documentElement.outerHTML].join('\\n');
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return s.length + ':' + h;
}"""

# What axe reports, reduced to what a reader needs to find and fix each violation, with the page
# state just before and just after the run. Runs queue up (the check after each load and a test's
# own check may overlap, and axe refuses a second run while one is going), and HTMX may poll or swap
# while a run waits or goes: only a run whose state did not change describes one state, so only
# that answer may be remembered under it.
_AXE_RUN = """async () => {
  const state = STATE;
  const previous = window.__portalAxeRun || Promise.resolve();
  const run = previous.catch(() => null).then(async () => {
    const before = state();
    const result = await axe.run(document, {resultTypes: ['violations']});
    return {before, after: state(), result};
  });
  window.__portalAxeRun = run;
  const {before, after, result} = await run;
  const violations = result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 6).map(n => ({target: n.target.join(' '), summary: n.failureSummary || ''})),
    count: v.nodes.length,
  }));
  return {before, after, violations};
}""".replace("STATE", _AXE_STATE, 1)


E2E_DIR = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    """Every test in this directory drives a browser: `browser` without each module saying so."""
    for item in items:
        if E2E_DIR in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)


_axe_answers: "weakref.WeakKeyDictionary[object, dict[str, list[dict]]]" = weakref.WeakKeyDictionary()


def axe_violations(page) -> list[dict]:
    """axe-core's violations (any impact) on the page's current document."""
    # A remembered answer is one axe gave for exactly this state, so reading the state apart from
    # a run is safe here.
    state = page.evaluate(_AXE_STATE)
    answers = _axe_answers.setdefault(page, {})
    if state in answers:
        return answers[state]
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Checked again inside the page: two overlapping checks must not load axe twice.
        page.evaluate("source => { if (typeof window.axe === 'undefined') (0, eval)(source); }", _axe_source())
    run = page.evaluate(_AXE_RUN)
    if run["before"] == run["after"]:
        answers[run["before"]] = run["violations"]
    return run["violations"]


@functools.cache
def _axe_source() -> str:
    return AXE_SCRIPT.read_text(encoding="utf-8")


def describe_violations(url: str, violations: list[dict]) -> str:
    lines = [f"{url}: {len(violations)} axe violation(s)"]
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({v['count']} element(s))")
        for node in v["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"      {node['target']}  — {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(page) -> None:
    """Fail unless axe-core finds no violation of any impact on the page as it is now."""
    violations = axe_violations(page)
    assert not violations, describe_violations(page.url, violations)


def axe_on_every_page() -> bool:
    return os.environ.get("PORTAL_AXE_EVERY_PAGE", "1") not in ("", "0")


def chromium_path() -> str | None:
    # Debian's headless shell first: the same Blink and V8 as its chromium without the browser's
    # own user interface, which is what Playwright itself runs for headless tests (and cheaper).
    for name in ("chromium-headless-shell", "chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module.

    Playwright's sync API runs an event loop in this thread, and Django refuses database access
    from a thread with a running loop unless told otherwise: the permission lasts exactly as long
    as the browser, so no other test (nor a subprocess it starts) inherits it.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield from _launch(sync_playwright)
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _launch(sync_playwright):
    with sync_playwright() as pw:
        executable = chromium_path()
        browser = pw.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US", timezone_id="Asia/Shanghai")
    page = context.new_page()
    page.set_default_timeout(15_000)
    found: list[str] = []
    if axe_on_every_page():
        page.on("load", lambda loaded: _check_loaded(loaded, found))
    yield page
    context.close()
    if found:
        pytest.fail("\n".join(found), pytrace=False)


def _check_loaded(page, found: list[str]) -> None:
    """Runs axe on a document that has just loaded; a page that navigates on meanwhile is skipped
    (the next load is checked instead), a download or a JSON answer has no document to check."""
    from playwright.sync_api import Error

    try:
        if page.evaluate("document.contentType") != "text/html":
            return
        violations = axe_violations(page)
    except Error:
        return
    if violations:
        found.append(describe_violations(page.url, violations))
