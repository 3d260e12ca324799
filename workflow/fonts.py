"""The Chinese font that printed documents (notice-board PDFs, the annual report's PDF) are set in.

Found through fontconfig (``fc-list :lang=zh-cn``); Debian's ``fonts-noto-cjk`` gives Noto Sans CJK SC.
Callers refuse with their own error when there is none: a PDF without one prints empty boxes.
"""

from __future__ import annotations

import os
import shutil
import subprocess

FONT_PACKAGE = "fonts-noto-cjk"
PREFERRED_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "Noto Sans SC")


class NoCJKFont(Exception):
    """No Chinese font is installed, or fontconfig could not be asked; the message says which."""


def cjk_font_family() -> str:
    """The family to set Chinese text in: a preferred one when installed, else the first Chinese family found."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        raise NoCJKFont(f"fontconfig's fc-list is not installed: install fontconfig and {FONT_PACKAGE}")
    try:
        listed = subprocess.run(
            [fc_list, ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30, env=dict(os.environ),
            check=False,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        raise NoCJKFont(f"fc-list failed: {error}") from None
    families = {name.strip() for line in listed.splitlines() for name in line.split(",") if name.strip()}
    for preferred in PREFERRED_FAMILIES:
        if preferred in families:
            return preferred
    if families:
        return sorted(families)[0]
    raise NoCJKFont(f"no Chinese (CJK) font found by fontconfig: install the Debian package {FONT_PACKAGE}")
