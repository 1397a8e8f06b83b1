"""Every command imports every command module to register it: registering must stay cheap, so
`scanner-agent parse` never loads the image decoders, OpenCV or the API."""

from __future__ import annotations

import subprocess
import sys


def test_parse_loads_neither_decoders_nor_api():
    code = (
        "import sys; from scanner_agent.cli import main; "
        "status = main(['parse', '--json', 'x']); "
        "heavy = sorted(m for m in ('decoders', 'cv2', 'pylibdmtx', 'zxingcpp', 'fastapi', 'api')"
        " if m in sys.modules); print('LOADED', heavy, file=sys.stderr)"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, check=False)
    assert b"LOADED []" in p.stderr, p.stderr
