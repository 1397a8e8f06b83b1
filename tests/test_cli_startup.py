"""A light start: the heavy libraries are imported only by the code paths that use them.

Every command imports every command module to register it, so registering must stay cheap:
`scanner-agent parse` and `--help` load neither the image decoders nor the API. Building the API
and running the agent with the demo device load no decoder either: OpenCV, numpy, zxing-cpp,
pylibdmtx, pypdfium2 and Pillow come with the first camera frame, upload or test card.

Each case runs in a fresh interpreter and reads `sys.modules` at the end (never the clock).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers.samples import ROOT, VALID_PIPE

# The libraries a start must not pay for, and the project's own modules that pull them in
# (`decoders` itself and `decoders.base`, the options and the list of passes, are cheap).
DECODER_STACK = ("cv2", "numpy", "zxingcpp", "pylibdmtx", "pypdfium2", "PIL", "pillow_heif")
DECODERS = ("decoders.cascade", "decoders.documents", "decoders.zxing", "decoders.libdmtx")
WEB_STACK = ("fastapi", "starlette", "uvicorn", "api")
# The drivers and their device libraries (`drivers.errors`, the exception family the CLI reports,
# is cheap and allowed).
DEVICE_STACK = (
    "serial",
    "hid",
    "drivers.serial",
    "drivers.hid_pos",
    "drivers.hid_keyboard",
    "drivers.camera",
    "drivers.replay",
    "drivers.discovery",
)


def loaded_after(code: str, stdout: list[str] | None = None) -> set[str]:
    """The modules in `sys.modules` once `code` has run in a fresh interpreter (its output is
    appended to `stdout` when given)."""
    script = textwrap.dedent(code) + textwrap.dedent("""
        import json as _json, sys as _sys
        print("LOADED " + _json.dumps(sorted(_sys.modules)), file=_sys.stderr)
    """)
    p = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    marker = [line for line in p.stderr.decode().splitlines() if line.startswith("LOADED ")]
    assert marker, p.stderr.decode()[-3000:]
    if stdout is not None:
        stdout.append(p.stdout.decode())
    return set(json.loads(marker[-1].removeprefix("LOADED ")))


def cli(*argv: str) -> str:
    """Code that runs `scanner-agent ARGV` as the console script does (exit status ignored)."""
    return f"""
        from scanner_agent.cli import main
        try:
            main({list(argv)!r})
        except SystemExit:
            pass
    """


def test_parse_loads_neither_decoders_nor_api():
    loaded = loaded_after(cli("parse", "--json", "--at", "2026-03-01", VALID_PIPE.decode()))
    assert "scanner_agent.parser" in loaded  # the command ran
    assert not loaded & {*DECODER_STACK, *DECODERS, *WEB_STACK, "rich", "sqlalchemy"}


def test_help_loads_no_pydantic_and_nothing_heavy():
    loaded = loaded_after(cli("--help"))
    assert "scanner_agent.commands.parse" in loaded
    assert not loaded & {*DECODER_STACK, *DECODERS, *WEB_STACK, "pydantic", "rich"}


def test_every_command_registers_cheaply():
    """`build_parser` imports every command module: none may import more than argparse needs."""
    loaded = loaded_after("from scanner_agent.cli import build_parser; build_parser()")
    assert "scanner_agent.commands.selftest" in loaded
    assert not loaded & {*DECODER_STACK, *DECODERS, *WEB_STACK, *DEVICE_STACK, "pydantic", "rich"}


def test_importing_the_decoders_package_and_its_options_is_cheap():
    loaded = loaded_after("""
        import decoders
        from decoders import DecodeOptions, DecodedSymbol
        from decoders.base import DEFAULT_PASSES, PASS_NAMES
        import scanner_agent.file_decoding
    """)
    assert "scanner_agent.file_decoding" in loaded
    assert not loaded & {*DECODER_STACK, *DECODERS}


def test_the_decoders_load_on_first_use():
    loaded = loaded_after("from decoders import Decoder")
    assert {"cv2", "numpy", "zxingcpp"} <= loaded


@pytest.fixture(scope="module")
def app_modules(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Modules loaded by building the app with the default settings (data in a temp folder)."""
    data = tmp_path_factory.mktemp("app-data")
    return loaded_after(f"""
        from scanner_agent.config import load_settings
        from api.app import create_app
        settings = load_settings(env={{}}, overrides={{"agent": {{"data_dir": {str(data)!r}}}}})
        app = create_app(settings)
        assert app.routes
    """)


@pytest.mark.parametrize("module", DECODER_STACK)
def test_building_the_app_loads_no_decoder(app_modules: set[str], module: str):
    assert "api.app" in app_modules  # the app was built
    assert module not in app_modules


def test_an_agent_running_the_demo_device_loads_no_decoder(tmp_path: Path):
    config = tmp_path / "demo.toml"
    config.write_text(
        f'[agent]\ndata_dir = "{tmp_path}"\n\n'
        '[[devices]]\nid = "demo"\ntype = "demo"\ninterval_s = 0.05\n'
    )
    out: list[str] = []
    loaded = loaded_after(
        cli("watch", "--config", str(config), "--json", "--count", "1", "--duration", "60"), out
    )
    assert '"event": "scan"' in out[0]  # the demo device's first code went through the pipeline
    assert not loaded & {*DECODER_STACK, *DECODERS, *WEB_STACK}


def test_referential_commands_load_neither_decoders_nor_api():
    loaded = loaded_after(cli("referential", "lookup", "999999990", "--at", "2026-03-01"))
    assert "scanner_agent.referential" in loaded  # the command ran
    assert not loaded & {*DECODER_STACK, *DECODERS, *WEB_STACK, "rich", "sqlalchemy"}


def test_pillow_heif_is_imported_for_a_heif_file_only(tmp_path: Path):
    """Reading a PNG does not pay for pillow-heif (libheif); the first HEIC does."""
    pytest.importorskip("pillow_heif")
    png, heic = tmp_path / "card.png", tmp_path / "card.heic"
    read = """
        from pathlib import Path
        from decoders import read_pages
        pages = list(read_pages(Path({path!r})))
        assert len(pages) == 1, pages
    """
    from PIL import Image

    from tests.helpers.files import heic_bytes

    Image.new("L", (64, 64), 255).save(png)
    heic.write_bytes(heic_bytes(Image.new("L", (64, 64), 255)))
    assert "pillow_heif" not in loaded_after(read.format(path=str(png)))
    assert "pillow_heif" in loaded_after(read.format(path=str(heic)))
