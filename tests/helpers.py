"""Helpers shared by test modules (tests import from here, not from each other)."""
from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

#: Appended to a page: once loaded, the body lists each image's alt, whether it decoded, width.
_PROBE = """<script>
window.addEventListener('load', () => { document.body.setAttribute('data-probe', JSON.stringify(
  [...document.images].map(i => [i.alt, i.complete && i.naturalWidth > 0, i.width]))); });
</script></body>"""


def render_in_chromium(page: Path, scratch: Path) -> tuple[list[list], str]:
    """``page`` rendered by headless Chromium: each image as [alt, decoded, width], and the
    DOM as the browser built it."""
    probe = scratch / "probe.html"
    probe.write_text(page.read_text().replace("</body>", _PROBE))
    dom = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-dev-shm-usage", "--virtual-time-budget=10000",
                          "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    return json.loads(html.unescape(re.search(r'data-probe="([^"]*)"', dom).group(1))), dom
