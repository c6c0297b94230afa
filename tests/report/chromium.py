"""Headless Chromium for the report tests: the DOM after the page's script ran, a screenshot, the console."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--enable-logging=stderr", "--v=0"]


def chromium() -> str:
    """The Chromium binary; the test skips, saying why, where it is not installed (CI installs it)."""
    found = next((p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                  if p and Path(p).exists()), None)
    if found is None and os.environ.get("CLAWLOOP_REQUIRE_CHROMIUM"):
        pytest.fail("headless Chromium not found and CLAWLOOP_REQUIRE_CHROMIUM is set (CI installs it)")
    if found is None:
        pytest.skip("headless Chromium not found (Debian: apt-get install -y chromium); the browser check "
                    "of the report is skipped")
    return found


@dataclass
class Page:
    dom: str  # the DOM serialized after the page's script ran
    console: list[str]  # console messages (uncaught script errors among them)
    screenshot: Path


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:  # a fresh profile per run: no state carried over
        return subprocess.run([chromium(), *_FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120)


def open_page(html: Path, screenshot: Path, size: str = "1400,6000") -> Page:
    """Load ``html`` from disk: dump its DOM, take a screenshot, collect the console lines of both loads."""
    url = html.resolve().as_uri()
    dom = _run(["--dump-dom", url])
    assert dom.returncode == 0, dom.stderr[-2000:]
    shot = _run([f"--screenshot={screenshot}", f"--window-size={size}", url])
    assert shot.returncode == 0 and screenshot.is_file(), shot.stderr[-2000:]
    console = [line for line in (dom.stderr + shot.stderr).splitlines() if re.search(r":CONSOLE[:(]", line)]
    return Page(dom=dom.stdout, console=console, screenshot=screenshot)
