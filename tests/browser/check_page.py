"""Opens a local HTML page in headless Chromium (Debian's chromium + chromedriver, driven by
Selenium) and prints what a reader would see, as one JSON object on stdout:

  {"title": ..., "console": [{"level", "message"}, ...],
   "charts": [{"id", "width", "height", "shapes", "colours"}, ...],
   "tables": {"<id>": <rows>, ...}, "screenshot": {"width", "height", "colours"}}

`shapes` counts the chart's drawn marks (rect, path, circle) and `colours` the distinct pixel
colours of its rendered screenshot, so a caller can tell a drawn chart from an empty box.

Usage: python check_page.py PAGE.html SCREENSHOT.png
Environment: CHROMIUM (default /usr/bin/chromium), CHROMEDRIVER (default /usr/bin/chromedriver).
"""

from __future__ import annotations

import json
import os
import struct
import sys
import tempfile
import zlib

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def png_colours(png: bytes, limit: int = 4096) -> tuple[int, int, int]:
    """Width, height and the number of distinct colours (up to `limit`) of an 8-bit RGB(A) PNG,
    as Chromium writes screenshots."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, data, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        body = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type = struct.unpack(">IIBB", body[:10])
            if depth != 8 or colour_type not in (2, 6):
                raise ValueError(f"unexpected PNG format {depth}/{colour_type}")
            channels = 3 if colour_type == 2 else 4
        elif kind == b"IDAT":
            data += body
        pos += 12 + length
    raw = zlib.decompress(data)
    stride = width * channels
    previous = bytearray(stride)
    colours: set[bytes] = set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 0xFF
        if len(colours) < limit:
            for x in range(0, stride, channels):
                colours.add(bytes(line[x : x + 3]))
        previous = line
    return width, height, len(colours)


def main() -> int:
    page, screenshot = sys.argv[1], sys.argv[2]
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    profile = tempfile.mkdtemp(prefix="gluepipe-chromium-")
    # This machine has no network: without these flags Chromium keeps trying to reach Google.
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.get("file://" + os.path.abspath(page))
        charts = []
        for svg in driver.find_elements(By.CSS_SELECTOR, "svg.chart"):
            shot = svg.screenshot_as_png
            _, _, colours = png_colours(shot)
            charts.append(
                {
                    "id": svg.get_attribute("id"),
                    "width": svg.size["width"],
                    "height": svg.size["height"],
                    "shapes": len(svg.find_elements(By.CSS_SELECTOR, "rect, path, circle")),
                    "colours": colours,
                }
            )
        tables = {
            t.get_attribute("id"): len(t.find_elements(By.TAG_NAME, "tr")) - 1
            for t in driver.find_elements(By.CSS_SELECTOR, "table[id]")
        }
        driver.save_screenshot(screenshot)
        with open(screenshot, "rb") as f:
            width, height, colours = png_colours(f.read())
        console = [
            {"level": entry["level"], "message": entry["message"]}
            for entry in driver.get_log("browser")
        ]
        print(
            json.dumps(
                {
                    "title": driver.title,
                    "console": console,
                    "charts": charts,
                    "tables": tables,
                    "screenshot": {"width": width, "height": height, "colours": colours},
                }
            )
        )
    finally:
        driver.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
