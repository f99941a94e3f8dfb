"""The HTML briefing in a real browser: headless Chromium opens it from a file:// URL.

Needs the Debian packages chromium and chromium-driver (installed by .ci/run) and
selenium (the dev extra). The driver is given by path, so selenium-manager never runs
and nothing is downloaded. Screenshots (and a PDF print) go to artifacts/.
"""

from __future__ import annotations

import base64
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from brief_helpers import example_briefing, fake_assistant, hostile_document

from assistant.briefing import to_html

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed "
                                "(pip install -e '.[dev]')")
if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
    pytest.skip(f"{CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)",
                allow_module_level=True)

from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.print_page_options import PrintOptions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

HIGHLIGHT = "rgb(255, 230, 128)"  # --hl in brief.css


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--no-first-run",
                "--disable-sync", "--disable-default-apps", "--disable-extensions",
                "--hide-scrollbars", f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_window_size(1200, 900)
    try:
        yield driver
    finally:
        driver.quit()


def _open(driver: webdriver.Chrome, html: str, path: Path) -> None:
    path.write_text(html, encoding="utf-8")
    driver.get(path.as_uri())


def _in_view(driver: webdriver.Chrome, element_id: str) -> bool:
    return bool(driver.execute_script(
        "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0;", element_id))


def _save_png(driver: webdriver.Chrome, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    return path


def test_example_briefing_sections_and_citation_links(browser: webdriver.Chrome, tmp_path: Path) -> None:
    briefing = example_briefing()
    _open(browser, to_html(briefing), tmp_path / "briefing.html")
    assert browser.title.startswith("Briefing:")
    _save_png(browser, "briefing-example-top.png")
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "section h2")]
    for wanted in ("Bottom line up front", "What we know", "Claimed but not verified", "Disputed",
                   "What we don't know", "What to check next", "People and organisations",
                   "Timeline", "Sources", "How to read this briefing", "Source texts"):
        assert any(h.lower().startswith(wanted.lower()) for h in headings), f"missing {wanted!r}: {headings}"

    link = browser.find_element(By.CSS_SELECTOR, "#known a.cite")
    target = link.get_attribute("href").split("#", 1)[1]
    assert not _in_view(browser, target), "the cited sentence starts out of view, in the appendix"
    link.click()
    WebDriverWait(browser, 5).until(lambda d: d.execute_script("return location.hash") == f"#{target}")
    WebDriverWait(browser, 5).until(lambda d: _in_view(d, target))
    assert browser.execute_script("return document.querySelector(':target').id") == target
    style = browser.execute_script(
        "return getComputedStyle(document.getElementById(arguments[0])).backgroundColor", target)
    assert style == HIGHLIGHT
    sentence = browser.find_element(By.ID, target).text
    cited = next(c for k in briefing.known for c in k.citations if c.anchor == target)
    assert " ".join(cited.text.split()) in " ".join(sentence.split())
    other = browser.execute_script(
        "return getComputedStyle(document.querySelector('.s:not(:target)')).backgroundColor")
    assert other != HIGHLIGHT
    _save_png(browser, "briefing-example-citation.png")

    # Every citation in the page lands on a sentence of the appendix.
    missing = browser.execute_script(
        "return [...document.querySelectorAll('a.cite')].map(a => a.hash.slice(1))"
        ".filter(id => !document.getElementById(id) || !document.getElementById(id).closest('#appendix'))")
    assert missing == []


def test_briefing_reads_on_a_phone_and_prints(browser: webdriver.Chrome, tmp_path: Path) -> None:
    _open(browser, to_html(example_briefing()), tmp_path / "briefing.html")
    try:
        browser.set_window_size(390, 844)
        overflow = browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 1, "no sideways scrolling on a phone"
        _save_png(browser, "briefing-example-phone.png")
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        assert browser.execute_script(
            "return getComputedStyle(document.querySelector('nav.toc')).display") == "none"
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        pdf = base64.b64decode(browser.print_page(PrintOptions()))
        assert pdf[:5] == b"%PDF-"
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "briefing-example.pdf").write_bytes(pdf)
    finally:
        browser.set_window_size(1200, 900)


def test_hostile_article_shows_markup_as_text_and_runs_nothing(browser: webdriver.Chrome,
                                                               tmp_path: Path) -> None:
    _open(browser, to_html(fake_assistant().brief(hostile_document())), tmp_path / "hostile.html")
    time.sleep(0.5)  # give an onerror handler time to fire, were there one
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert  # noqa: B018 - the property access is the check
    assert browser.find_elements(By.TAG_NAME, "script") == []
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.find_elements(By.CSS_SELECTOR, "a[href^='javascript' i]") == []
    text = browser.find_element(By.TAG_NAME, "body").text
    for literal in ("<script>alert(1)</script>", "<img src=x onerror=alert(2)>",
                    '<a href="javascript:alert(3)">', "javascript:alert(4)", "<b>Evil Outlet</b>"):
        assert literal in text, f"{literal!r} is not shown as text"
    _save_png(browser, "briefing-hostile.png")


def test_artifacts_folder_is_ignored_by_git() -> None:
    root = ARTIFACTS.parent
    if shutil.which("git") is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    assert "artifacts/" in (root / ".gitignore").read_text(encoding="utf-8").split()
