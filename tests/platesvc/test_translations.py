"""The catalogs hold every message the code and templates say, in Chinese, with the same placeholders."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_catalogs_hold_every_message_with_its_placeholders():
    """scripts/translations check: no message id without Chinese, no translation whose placeholders differ, no
    message built as an f-string (Babel cannot extract it), no compiled catalog older than its source."""
    checked = subprocess.run([sys.executable, str(ROOT / "scripts" / "translations"), "check"], capture_output=True,
                             text=True, cwd=ROOT)
    assert checked.returncode == 0, checked.stdout + checked.stderr
