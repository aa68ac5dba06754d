"""The Sphinx site builds without a warning, and a browser shows its pages with their figures.

The build runs every gallery example, as ``make docs`` does (96 s on 2 idle CPU cores), so that a broken
example fails the suite; it works on a copy of docs/ and examples/ so that the checkout's own build is left
as it was.
"""

import os
import re
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GALLERY_EXAMPLES = r"/plot_"  # all of them (SKAGE_GALLERY_PATTERN narrows the set while writing one)
GALLERY_PAGE = "auto_examples/plot_02_fit_save_load.html"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--window-size=1280,1400"]
# what sphinx-build and sphinx-gallery write into the source folders
GENERATED = shutil.ignore_patterns("_build", "api", "auto_examples", "gen_modules", "sg_execution_times.rst",
                                   "__pycache__")

pytestmark = pytest.mark.slow


def _missing(what):
    # CI installs everything through `make test` (the docs extra, chromium): there a gap is a failure
    if os.environ.get("CI"):
        pytest.fail(f"{what} missing in CI: `make test` should have installed it")
    pytest.skip(f"{what} missing (make test installs it)")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The site built by sphinx-build -W from a copy of docs/ and examples/; its html folder."""
    for module in ("sphinx", "sphinx_gallery", "numpydoc", "myst_parser", "pydata_sphinx_theme"):
        try:
            __import__(module)
        except ImportError:
            _missing(f"{module} (the docs extra)")
    root = tmp_path_factory.mktemp("site")
    shutil.copytree(REPO / "docs", root / "docs", ignore=GENERATED)
    shutil.copytree(REPO / "examples", root / "examples", ignore=GENERATED)
    html = root / "docs" / "_build" / "html"
    env = dict(os.environ, SKAGE_GALLERY_PATTERN=GALLERY_EXAMPLES, MPLBACKEND="agg",
               PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    run = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
                          str(root / "docs"), str(html)], env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, f"sphinx-build failed:\n{run.stdout[-4000:]}\n{run.stderr[-8000:]}"
    return html


def test_site_builds_with_an_api_page_for_every_public_name(site):
    import importlib

    sys.path.insert(0, str(REPO / "docs"))
    try:
        from conf import SUBPACKAGES
    finally:
        sys.path.remove(str(REPO / "docs"))
    for sub in SUBPACKAGES:
        for name in importlib.import_module(f"skage.{sub}").__all__:
            assert (site / "api" / "generated" / f"skage.{sub}.{name}.html").is_file(), f"skage.{sub}.{name}"
    for page in ["index.html", "user_guide.html", "reliability.html", "results.html", "auto_examples/index.html"]:
        assert (site / page).is_file(), page
    # the example's two figures, each shown once
    page = (site / GALLERY_PAGE).read_text()
    figures = set(re.findall(r'src="[^"]*(sphx_glr_plot_02_fit_save_load_\d+\.png)"', page))
    assert figures == {"sphx_glr_plot_02_fit_save_load_001.png", "sphx_glr_plot_02_fit_save_load_002.png"}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    chromedriver = shutil.which("chromedriver")
    if not (chromium and chromedriver):
        _missing("chromium and chromedriver (Debian's chromium, chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium (the docs extra)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)  # no driver download
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def served(site):
    """The built site on a localhost HTTP server, as a reader's browser would get it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


IMAGES = """return Array.from(document.images).map(
    img => [img.currentSrc || img.src, img.complete, img.naturalWidth]);"""


@pytest.mark.parametrize("page, min_images", [("index.html", 0), (GALLERY_PAGE, 2)])
def test_browser_shows_the_page_with_every_image_loaded(site, served, browser, page, min_images):
    browser.get(f"{served}/{page}")
    assert "skage" in browser.title
    images = browser.execute_script(IMAGES)
    broken = [src for src, complete, width in images if not (complete and width > 0)]
    assert not broken, f"{page}: images not shown: {broken}"
    assert len(images) >= min_images, f"{page}: {len(images)} images, expected the example's figures"
    # the first figure in view, so that the screenshot shows one (the page's top is text and code)
    browser.execute_script("document.querySelector('img.sphx-glr-single-img, img.sphx-glr-multi-img')"
                           "?.scrollIntoView({block: 'center'})")
    shot = site / f"screenshot_{Path(page).stem}.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
