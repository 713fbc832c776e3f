"""Open every page of the built documentation in a headless Chromium and check it.

    python .ci/check_docs.py BUILD_FOLDER [--screenshots DIR [--screenshot PAGE ...]]

The folder (what ``python -m sphinx -b html docs BUILD_FOLDER`` wrote) is served
on 127.0.0.1 at an ephemeral port; Playwright drives Debian's Chromium
(``/usr/bin/chromium``, or ``--chromium PATH``) through every ``*.html`` page in
a 1280 x 800 window. A page fails on:

- a console error or an uncaught exception;
- a request for a file of the site that fails or answers 400 or more;
- formulas that MathJax left as TeX (MathJax is served from ``_static``);
- a page wider than the window (``scrollWidth`` of the document);
- a code block (``pre``) that is cut: content wider than its box while the
  box does not scroll (overflow hidden, clip or visible), a box reaching past
  the window's edges, or an ancestor with hidden overflow cutting the box.

Requests to other hosts are answered with an error and never waited for: a
page must work from the built folder alone. They are counted, and the console
errors they cause are not held against the page. A code block whose lines
are longer than its box and that scrolls inside it is allowed, and counted.

Prints each problem as ``page: problem``, then a one-line summary; exits 1
when there is a problem, 2 when the folder or the browser is missing.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

WIDTH, HEIGHT = 1280, 800
CHROMIUM = "/usr/bin/chromium"
# No GPU, sandbox, QUIC or background traffic: a container, offline, run as root.
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
#: Milliseconds a page may take to load, and MathJax to typeset it.
TIMEOUT_MS = 30_000

# Run in the page: everything about its width and its code blocks, in CSS pixels.
MEASURE = """() => {
    const width = window.innerWidth;
    const result = {width, documentWidth: document.documentElement.scrollWidth, pres: []};
    for (const pre of document.querySelectorAll("pre")) {
        const box = pre.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;   // not displayed
        const style = getComputedStyle(pre);
        let cutBy = null;
        for (let node = pre.parentElement; node && node !== document.body; node = node.parentElement) {
            const overflow = getComputedStyle(node).overflowX;
            const outer = node.getBoundingClientRect();
            if ((overflow === "hidden" || overflow === "clip") && (box.right > outer.right + 1 || box.left < outer.left - 1)) {
                cutBy = node.tagName.toLowerCase() + (node.className ? "." + String(node.className).split(" ")[0] : "");
                break;
            }
        }
        const firstLine = (pre.textContent.split("\\n")[0] || "").trim().slice(0, 60);
        result.pres.push({
            firstLine, overflowX: style.overflowX, left: box.left, right: box.right,
            scrollWidth: pre.scrollWidth, clientWidth: pre.clientWidth, cutBy,
        });
    }
    return result;
}"""

# MathJax 3 leaves a formula as \\( ... \\) text inside span.math until it typesets it.
MATH_LEFT_AS_TEX = """() => Array.from(document.querySelectorAll(".math"))
    .filter(node => !node.querySelector("mjx-container")).length"""
WAIT_FOR_MATHJAX = """() => window.MathJax && MathJax.startup && MathJax.startup.promise
    ? MathJax.startup.promise.then(() => true) : false"""


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the build folder without logging every request."""

    def log_message(self, format, *args):
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Serve ``folder`` on 127.0.0.1 at a free port from a daemon thread; returns the server and its root URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def pages(folder: Path) -> list[str]:
    """Every HTML page of the build, as paths relative to ``folder``, sorted; Sphinx's
    copies of assets and sources (``_static``, ``_sources``, ``_images``) are not pages."""
    skipped = {"_static", "_sources", "_images"}
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*.html")
        if not skipped.intersection(path.relative_to(folder).parts[:-1])
    )


class PageReport:
    """What one page did: its problems, its scrolling code blocks, its blocked requests."""

    def __init__(self, name: str):
        self.name = name
        self.problems: list[str] = []
        self.scrolling: list[str] = []
        self.external: list[str] = []


def pre_problems(measured: dict) -> tuple[list[str], list[str]]:
    """The cut code blocks and the scrolling ones in ``measured`` (what :data:`MEASURE` returns)."""
    problems, scrolling = [], []
    width = measured["width"]
    for pre in measured["pres"]:
        label = f"code block {pre['firstLine']!r}"
        wider = pre["scrollWidth"] > pre["clientWidth"] + 1
        if pre["right"] > width + 0.5 or pre["left"] < -0.5:
            problems.append(f"{label} reaches past the window: its box spans x = {pre['left']:.0f} to {pre['right']:.0f} of {width}")
        if pre["cutBy"]:
            problems.append(f"{label} is cut by its ancestor {pre['cutBy']} (overflow hidden)")
        if wider and pre["overflowX"] in ("auto", "scroll"):
            scrolling.append(f"{label}: {pre['scrollWidth']} px of content in a {pre['clientWidth']} px box")
        elif wider:
            problems.append(
                f"{label} is cut: {pre['scrollWidth']} px of content in a {pre['clientWidth']} px box with overflow {pre['overflowX']}"
            )
    return problems, scrolling


def check_page(context, root: str, name: str, screenshot: Path | None) -> PageReport:
    """Open ``root + name`` in a new tab of ``context`` and check it (see the module's docstring)."""
    report = PageReport(name)
    page = context.new_page()
    local = urlsplit(root).netloc

    def route(route_):
        if urlsplit(route_.request.url).netloc == local or route_.request.url.startswith(("data:", "blob:")):
            route_.continue_()
        else:
            report.external.append(route_.request.url)
            route_.abort("blockedbyclient")

    def on_console(message):
        if message.type != "error":
            return
        source = (message.location or {}).get("url", "")
        text = message.text
        if "ERR_BLOCKED_BY_CLIENT" in text or (source and urlsplit(source).netloc not in ("", local)):
            return
        report.problems.append(f"console error: {text}" + (f" ({source})" if source else ""))

    def on_response(response):
        if urlsplit(response.url).netloc == local and response.status >= 400:
            report.problems.append(f"{response.status} for {response.url[len(root) - 1:]}")

    def on_failed(request):
        if urlsplit(request.url).netloc == local:
            report.problems.append(f"request failed: {request.url[len(root) - 1:]} ({request.failure})")

    page.route("**/*", route)
    page.on("console", on_console)
    page.on("pageerror", lambda error: report.problems.append(f"uncaught exception: {error}"))
    page.on("response", on_response)
    page.on("requestfailed", on_failed)
    try:
        page.goto(root + name, wait_until="load", timeout=TIMEOUT_MS)
        if page.locator(".math").count():
            if not page.evaluate(WAIT_FOR_MATHJAX):
                report.problems.append("the page has formulas but MathJax did not start")
            left = page.evaluate(MATH_LEFT_AS_TEX)
            if left:
                report.problems.append(f"{left} formula(s) left as TeX by MathJax")
        # Fonts and late layout settle before the page is measured.
        page.evaluate("() => document.fonts.ready.then(() => true)")
        measured = page.evaluate(MEASURE)
        if measured["documentWidth"] > measured["width"]:
            report.problems.append(f"the page is {measured['documentWidth']} px wide in a {measured['width']} px window")
        problems, scrolling = pre_problems(measured)
        report.problems += problems
        report.scrolling += scrolling
        if screenshot is not None:
            page.screenshot(path=str(screenshot))
    except Exception as error:  # a timeout or a crashed tab is this page's problem, not the run's
        report.problems.append(f"could not be checked: {type(error).__name__}: {error}")
    finally:
        page.close()
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the HTML build folder (it holds index.html)")
    parser.add_argument("--chromium", default=CHROMIUM, help=f"the Chromium executable (default {CHROMIUM})")
    parser.add_argument("--screenshots", type=Path, help="folder for PNG screenshots of the pages named by --screenshot")
    parser.add_argument("--screenshot", action="append", default=[], metavar="PAGE",
                        help="a page to photograph, e.g. index.html (repeatable; default index.html and api.html)")
    parser.add_argument("--verbose", action="store_true", help="also list every code block that scrolls")
    arguments = parser.parse_args(argv)

    folder = arguments.folder.resolve()
    if not (folder / "index.html").is_file():
        print(f"check_docs: folder {arguments.folder} has no index.html; build the documentation into it first", file=sys.stderr)
        return 2
    if not Path(arguments.chromium).is_file():
        print(f"check_docs: --chromium {arguments.chromium} does not exist; apt-get install -y chromium", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        print("check_docs: Playwright is not installed (pip install playwright; its own browsers are not needed)", file=sys.stderr)
        return 2
    shots = set(arguments.screenshot or ["index.html", "api.html"]) if arguments.screenshots else set()
    if arguments.screenshots:
        arguments.screenshots.mkdir(parents=True, exist_ok=True)

    server, root = serve(folder)
    names = pages(folder)
    reports = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=arguments.chromium, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
            for name in names:
                shot = arguments.screenshots / (name.replace("/", "-").removesuffix(".html") + ".png") if name in shots else None
                reports.append(check_page(context, root, name, shot))
            browser.close()
    finally:
        server.shutdown()

    problems = [(report.name, problem) for report in reports for problem in report.problems]
    for name, problem in problems:
        print(f"{name}: {problem}")
    scrolling = [(report.name, block) for report in reports for block in report.scrolling]
    if arguments.verbose:
        for name, block in scrolling:
            print(f"{name}: scrolls: {block}")
    listings = sum(1 for name, _ in scrolling if name.startswith("_modules/"))
    scrolling_pages = len({name for name, _ in scrolling})
    external = sum(len(report.external) for report in reports)
    print(
        f"check_docs: {len(reports)} pages checked at {WIDTH}x{HEIGHT}, {len(problems)} problems; "
        f"{len(scrolling)} code blocks scroll inside their box on {scrolling_pages} pages "
        f"({listings} in _modules source listings); {external} requests to other hosts blocked"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
