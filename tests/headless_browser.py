"""Headless Chromium for tests: a static HTTP server on localhost and a tiny WebDriver client.

No Python dependency: the W3C WebDriver protocol is a few JSON requests to ``chromedriver``
(Debian packages ``chromium`` and ``chromium-driver``). :func:`find_chromium` says whether
they are installed; :class:`StaticServer` serves a folder on ``127.0.0.1`` (a free port);
:class:`HeadlessChromium` opens pages and runs scripts in them.
"""

import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

INSTALL_HINT = (
    "headless Chromium is needed for this test: install it with "
    "`apt-get install -y chromium chromium-driver` (Debian/Ubuntu; `.ci/run` does this in CI), "
    "or set CHROMIUM and CHROMEDRIVER to the browser and driver executables"
)

CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--autoplay-policy=no-user-gesture-required",
)


def find_chromium():
    """``(browser, driver)`` executables, or ``None`` when either is missing."""
    browser = os.environ.get("CHROMIUM") or next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    if browser and driver and os.access(browser, os.X_OK) and os.access(driver, os.X_OK):
        return browser, driver
    return None


def free_port():
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class StaticServer:
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port) in a thread; use as a context manager."""

    def __init__(self, folder):
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


class WebDriverError(RuntimeError):
    """chromedriver answered with an error."""


class HeadlessChromium:
    """chromedriver + one headless Chromium session with a fresh profile; a context manager.

    Arguments
    ---------
    browser, driver : str
        Executables (:func:`find_chromium`).
    timeout : float
        Seconds to wait for the driver to start and for scripts (page loads use it too).
    """

    def __init__(self, browser, driver, timeout=60.0):
        self.browser, self.driver, self.timeout = browser, driver, timeout
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.session = None

    def _request(self, method, path, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout + 30) as response:
                body = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as err:
            body = json.loads(err.read() or b"{}")
            value = body.get("value") or {}
            raise WebDriverError(f"{value.get('error')}: {value.get('message', '')[:2000]}") from err
        return body.get("value")

    def __enter__(self):
        self.process = subprocess.Popen(
            [self.driver, f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if self._request("GET", "/status").get("ready"):
                    break
            except (OSError, WebDriverError):
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.__exit__(None, None, None)
                raise RuntimeError(f"chromedriver did not start ({self.driver})")
            time.sleep(0.1)
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.browser,
                "args": [*CHROMIUM_ARGS, f"--user-data-dir={self.profile}"],
            },
            "timeouts": {"script": int(self.timeout * 1000), "pageLoad": int(self.timeout * 1000)},
        }
        try:
            answer = self._request("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})
        except Exception:
            self.__exit__(None, None, None)
            raise
        self.session = answer["sessionId"]
        return self

    def __exit__(self, *exc):
        if self.session is not None:
            try:
                self._request("DELETE", f"/session/{self.session}")
            except (OSError, WebDriverError):
                pass
            self.session = None
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, url):
        """Navigate to ``url`` and wait for its load event."""
        self._request("POST", f"/session/{self.session}/url", {"url": url})

    def run_async(self, script, *args):
        """Run an async script (it calls ``arguments[arguments.length - 1](result)``); return its result."""
        return self._request("POST", f"/session/{self.session}/execute/async", {"script": script, "args": list(args)})
