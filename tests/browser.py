"""Headless Chromium for the report tests: find it, draw a page, return the picture.

Chromium comes from Debian's package ``chromium`` (``.ci/run`` installs it); set
``RNNKIT_CHROMIUM`` to use another binary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


def chromium() -> str | None:
    return os.environ.get("RNNKIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


needs_chromium = pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (Debian package 'chromium')")


def screenshot(page: Path, workdir: Path, width: int, height: int) -> np.ndarray:
    """Draw ``page`` in headless Chromium at ``width`` x ``height``; the picture (height, width, 3) in [0, 1]."""
    from matplotlib.image import imread

    shot = workdir / "page.png"
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={workdir / 'profile'}", f"--screenshot={shot}", f"--window-size={width},{height}",
           Path(page).as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    img = imread(shot)[..., :3]
    assert img.shape[:2] == (height, width)
    return img
