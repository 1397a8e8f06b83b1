"""How fast `scanner-agent` starts, and how much memory `serve` holds when idle.

    .venv/bin/python benchmarks/startup.py [--exe [LABEL=]PATH ...] [--runs 10]
                                           [--serve-runs 5] [--idle-s 5] [--max-s 600]
                                           [--out FILE.md]

For each `scanner-agent` executable (default: this tree's `.venv/bin/scanner-agent`; give
`--exe before=/other/tree/.venv/bin/scanner-agent --exe after=.venv/bin/scanner-agent` to
compare two trees side by side in one run), median and best wall time of:

- `scanner-agent --help`;
- `scanner-agent parse --at 2026-03-01 PAYLOAD` (a valid sample attestation);
- `scanner-agent serve --config C`, from the process start to the first 200 of `/v1/health`,
  where C is config/examples/demo.toml (one demo scanner) with a temporary data folder and a
  free port; then, after `--idle-s` seconds, that serve's resident memory (VmRSS from
  /proc/<pid>/status; no camera, no upload used).

Runs of the executables alternate, so that a busy machine slows them alike. Every executable
runs with its own bytecode cache in a temporary folder (PYTHONPYCACHEPREFIX), warmed by one
run that is not counted: the numbers are those of an installed agent, whose .pyc files exist,
even when PYTHONDONTWRITEBYTECODE is set here. The run stops early (fewer runs, said in the
output) once `--max-s` seconds have gone. Two reference rows give the floor on this machine:
the interpreter alone, and the interpreter with pydantic and one model (what `parse` cannot
avoid: the parse result is a pydantic model).
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.samples import TODAY, VALID_PIPE  # noqa: E402

TARGETS_MS = {"--help": 150.0, "parse": 150.0, "serve: first 200 of /v1/health": 800.0}
TARGET_RSS_MB = 80.0
PYDANTIC_FLOOR = "from pydantic import BaseModel\nclass M(BaseModel):\n    x: int\nM(x=1)"


@dataclass
class Tree:
    label: str
    exe: Path
    env: dict[str, str]
    samples: dict[str, list[float]] = field(default_factory=dict)
    rss_mb: list[float] = field(default_factory=list)

    @property
    def python(self) -> str:
        """The interpreter of the console script (its shebang)."""
        first = self.exe.read_text(errors="replace").splitlines()[0]
        return first[2:].strip() if first.startswith("#!") else sys.executable

    def add(self, name: str, value: float) -> None:
        self.samples.setdefault(name, []).append(value)


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor() or platform.machine()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model}, nproc {cpus}, {platform.system()} {platform.release()}"


def load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def wall(argv: list[str], env: dict[str, str]) -> float:
    """Milliseconds from start to exit of `argv` (its output discarded)."""
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return (time.perf_counter() - start) * 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def health_ok(port: int) -> bool:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        conn.request("GET", "/v1/health")
        ok = conn.getresponse().status == 200
        conn.close()
        return ok
    except OSError:
        return False


def serve_once(tree: Tree, idle_s: float, timeout_s: float = 60) -> tuple[float, float]:
    """(ms to the first 200 of /v1/health, idle VmRSS in MB) of one `serve` with the demo."""
    with tempfile.TemporaryDirectory(prefix="scanner-agent-startup-") as data:
        port = free_port()
        config = Path(data) / "demo.toml"
        demo = (ROOT / "config/examples/demo.toml").read_text()
        config.write_text(f'[agent]\ndata_dir = "{data}"\n\n[api]\nport = {port}\n\n{demo}')
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(tree.exe), "serve", "--config", str(config)],
            env=tree.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while not health_ok(port):
                if proc.poll() is not None or time.perf_counter() - start > timeout_s:
                    raise RuntimeError(f"{tree.label}: serve did not answer /v1/health")
                time.sleep(0.005)
            ready_ms = (time.perf_counter() - start) * 1000
            time.sleep(idle_s)
            status = Path(f"/proc/{proc.pid}/status").read_text()
            rss_kb = next(int(line.split()[1]) for line in status.splitlines()
                          if line.startswith("VmRSS:"))  # fmt: skip
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return ready_ms, rss_kb / 1024


def tree_from(spec: str, cache: Path) -> Tree:
    label, _, path = spec.rpartition("=")
    exe = Path(path).absolute()
    if not exe.exists():
        raise SystemExit(f"no such executable: {exe}")
    label = label or exe.parent.parent.parent.name  # <tree>/.venv/bin/scanner-agent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache / label)
    env.pop("SCANNER_AGENT_CONFIG", None)
    return Tree(label, exe, env)


def render(trees: list[Tree], runs_done: int, serve_done: int, header: list[str]) -> str:
    lines = [*header, ""]
    cols = " | ".join(f"{t.label} median | {t.label} best" for t in trees)
    lines += [f"| what | target | {cols} |", "|---" * (2 + 2 * len(trees)) + "|"]
    names = ["python -c pass", "python + pydantic + one model", *TARGETS_MS]
    for name in names:
        target = f"< {TARGETS_MS[name]:.0f} ms" if name in TARGETS_MS else "(floor)"
        cells = []
        for tree in trees:
            values = tree.samples.get(name, [])
            cells += [f"{statistics.median(values):.0f} ms", f"{min(values):.0f} ms"] if values \
                else ["-", "-"]  # fmt: skip
        lines.append(f"| {name} | {target} | {' | '.join(cells)} |")
    cells = []
    for tree in trees:
        cells += [f"{statistics.median(tree.rss_mb):.1f} MB", f"{min(tree.rss_mb):.1f} MB"] \
            if tree.rss_mb else ["-", "-"]  # fmt: skip
    lines.append(f"| serve: idle VmRSS | < {TARGET_RSS_MB:.0f} MB | {' | '.join(cells)} |")
    lines += ["", f"{runs_done} run(s) of each command, {serve_done} of serve, per executable."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exe", action="append", metavar="[LABEL=]PATH",
                        help="a scanner-agent executable (repeat to compare)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=10, help="runs of --help and parse")
    parser.add_argument("--serve-runs", type=int, default=5, help="runs of serve")
    parser.add_argument("--idle-s", type=float, default=5.0, help="idle time before VmRSS")
    parser.add_argument("--max-s", type=float, default=600.0, help="stop measuring after this")
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) here")
    args = parser.parse_args()
    specs = args.exe or [str(ROOT / ".venv/bin/scanner-agent")]
    cache = Path(tempfile.mkdtemp(prefix="scanner-agent-pycache-"))
    trees = [tree_from(spec, cache) for spec in specs]
    payload = VALID_PIPE.decode()
    commands: dict[str, Callable[[Tree], list[str]]] = {
        "python -c pass": lambda t: [t.python, "-c", "pass"],
        "python + pydantic + one model": lambda t: [t.python, "-c", PYDANTIC_FLOOR],
        "--help": lambda t: [str(t.exe), "--help"],
        "parse": lambda t: [str(t.exe), "parse", "--at", TODAY.isoformat(), payload],
    }
    header = [
        f"Machine: {machine()}; Python {platform.python_version()}.",
        f"Load average at start: {load()}.",
        *(f"- `{t.label}`: {t.exe}" for t in trees),
    ]
    print("\n".join(header), flush=True)
    started = time.monotonic()
    for tree in trees:  # warm the bytecode caches: not counted
        for build in commands.values():
            wall(build(tree), tree.env)
        serve_once(tree, idle_s=0)
    runs_done = serve_done = 0
    for _ in range(args.runs):
        if time.monotonic() - started > args.max_s:
            break
        for tree in trees:
            for name, build in commands.items():
                tree.add(name, wall(build(tree), tree.env))
        runs_done += 1
    for _ in range(args.serve_runs):
        if time.monotonic() - started > args.max_s:
            break
        for tree in trees:
            ready_ms, rss = serve_once(tree, args.idle_s)
            tree.add("serve: first 200 of /v1/health", ready_ms)
            tree.rss_mb.append(rss)
        serve_done += 1
    header.insert(2, f"Load average at end: {load()}.")
    report = render(trees, runs_done, serve_done, header)
    print("\n" + report.split("\n\n", 1)[1])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
