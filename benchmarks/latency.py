"""Device pipeline latency and camera throughput. Run by hand: `make bench-devices`.

1. Serial latency: a real pseudo-terminal, the agent reading its slave end. For each of N scans,
   the time from the write of the code's last byte to the master end until the scan is taken
   off the bus by a subscriber thread. Measured for suffix framing (CR: no framing delay) and
   idle framing (suffix none, idle_ms = 50: the framing delay is the idle gap itself, reported
   apart), side by side with a naive reader (`read(4096)` with a 100 ms timeout, the loop
   most serial code starts with).
2. Camera: frames per second processed at 1280x720 on ONE core (the process pinned to CPU 0,
   OpenCV single-threaded): decoding only (zxing-cpp, DataMatrix only, vs every format), and
   the whole camera driver reading an MJPG file (JPEG decoding + decode + tracking).

    python benchmarks/latency.py [--scans 1000] [--frames 300]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import serial
import zxingcpp

from decoders.base import DecodedSymbol
from drivers.camera import CameraDriver, CameraParams
from scanner_agent.agent import Agent
from scanner_agent.bus import ScanEvent
from scanner_agent.config import Settings, load_settings
from scanner_agent.parse_context import ParseContext

GS = b"\x1d"


def payload(i: int) -> bytes:
    member = f"{i:08d}".encode()
    return (
        b"]d1AMCTP01"
        + GS
        + GS.join(
            [b"AMC:0775627391", b"TC:MU", b"CSR:", b"ADH:" + member, b"DD:20260101", b"DF:20261231"]
        )
    )


def summary(name: str, samples_s: list[float], minus_ms: float = 0.0) -> str:
    ms = sorted(s * 1000 - minus_ms for s in samples_s)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return (
        f"{name:<48} n={len(ms):5d}  median {statistics.median(ms):7.3f} ms  "
        f"p99 {p99:7.3f} ms  max {ms[-1]:7.3f} ms"
    )


def serial_latency(context: ParseContext, suffix: str, scans: int) -> list[float]:
    master, slave = os.openpty()
    path = os.ttyname(slave)
    settings = Settings.model_validate(
        {
            "devices": [{"id": "bench", "type": "serial", "port": path, "suffix": suffix}],
            "pipeline": {"duplicate_window_s": 0},
        }
    )
    agent = Agent(settings, context=context, storage=False)  # as before: the bus only
    sub = agent.bus.subscribe("bench", maxsize=100_000)
    agent.start()
    end = b"\r" if suffix == "cr" else b""
    samples: list[float] = []
    try:
        while (agent.device("bench") or agent.devices()[0]).state != "connected":
            time.sleep(0.01)
        for i in range(scans):
            data = payload(i) + end
            os.write(master, data)
            written = time.monotonic()
            while True:
                event = sub.get(timeout=5)
                if event is None:
                    raise RuntimeError("no scan within 5 s")
                if isinstance(event, ScanEvent):
                    samples.append(time.monotonic() - written)
                    assert event.scan.attestation.valid
                    break
            time.sleep(0.002 if suffix == "cr" else 0.0)
    finally:
        agent.stop()
        os.close(slave)
        os.close(master)
    return samples


def naive_latency(scans: int) -> list[float]:
    """The alternative: pyserial read(4096) with a 100 ms timeout, split on CR afterwards."""
    master, slave = os.openpty()
    port = serial.Serial(os.ttyname(slave), timeout=0.1)
    samples: list[float] = []
    done = threading.Event()
    arrived: list[float] = []

    def reader() -> None:
        buffer = b""
        while not done.is_set():
            buffer += port.read(4096)
            while b"\r" in buffer:
                _, buffer = buffer.split(b"\r", 1)
                arrived.append(time.monotonic())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        for i in range(scans):
            count = len(arrived)
            os.write(master, payload(i) + b"\r")
            written = time.monotonic()
            while len(arrived) == count:
                time.sleep(0.0002)
            samples.append(arrived[-1] - written)
    finally:
        done.set()
        thread.join()
        port.close()
        os.close(slave)
        os.close(master)
    return samples


def code_frame(background: str, width: int = 1280, height: int = 720) -> np.ndarray:
    """A 1280x720 BGR frame with an attestation DataMatrix on a `textured` (random noise: the
    worst case for a binarizer) or `smooth` (a desk under uneven light) background."""
    rng = np.random.default_rng(1)
    if background == "textured":
        frame = rng.integers(90, 170, (height, width, 3), dtype=np.uint8)
    else:
        y, x = np.mgrid[0:height, 0:width]
        base = (120 + 60 * np.sin(x / 200) + 30 * np.cos(y / 150)).astype(np.uint8)
        frame = cv2.add(
            cv2.cvtColor(base, cv2.COLOR_GRAY2BGR),
            rng.integers(0, 12, (height, width, 3), dtype=np.uint8),
        )
    symbol = np.array(
        zxingcpp.create_barcode(payload(7)[3:], zxingcpp.BarcodeFormat.DataMatrix).to_image(scale=6)
    )
    h, w = symbol.shape
    frame[200 : 200 + h, 500 : 500 + w] = cv2.cvtColor(symbol, cv2.COLOR_GRAY2BGR)
    return cv2.GaussianBlur(frame, (3, 3), 0)


def zxing_decode(frame: Any, **options: Any) -> list[Any]:
    options.setdefault("formats", zxingcpp.BarcodeFormat.DataMatrix)
    return [
        DecodedSymbol(r.bytes, r.symbology_identifier, r.format.name)
        for r in zxingcpp.read_barcodes(frame, **options)
    ]


def decode_fps(frame: np.ndarray, frames: int, **options: Any) -> tuple[float, int]:
    found = 0
    start = time.perf_counter()
    for _ in range(frames):
        found += len(zxing_decode(frame, **options))
    return frames / (time.perf_counter() - start), found


def driver_fps(frame: np.ndarray, frames: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "bench.avi"
        height, width = frame.shape[:2]
        writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 30, (width, height))
        for _ in range(frames):
            writer.write(frame)
        writer.release()
        driver = CameraDriver(
            CameraParams(source=str(video), fps=120),
            decode=zxing_decode,
            sleep=lambda s: None,  # no pacing: how fast can one core go?
        )
        driver.open()
        read = found = 0
        start = time.perf_counter()
        while not driver.exhausted:
            symbols = driver.read(1.0)
            if symbols is not None:
                read += 1
                found += len(symbols)
        elapsed = time.perf_counter() - start
        driver.close()
        return read / elapsed, found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scans", type=int, default=1000)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--only", choices=("serial", "camera"), help="run one half only")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.processor()}")
    context = ParseContext.from_settings(load_settings(env={}))

    start = time.perf_counter()
    for i in range(1000):
        context.parse(payload(i), at=date(2026, 3, 1))
    print(f"parse alone: {(time.perf_counter() - start) / 1000 * 1e6:.1f} us per payload")

    if args.only != "camera":
        serial_part(context, args.scans)
    if args.only != "serial":
        camera_part(args.frames)
    return 0


def serial_part(context: ParseContext, scans: int) -> None:
    print("\n## serial: last byte written to a pty -> scan taken off the bus")
    print(summary("agent, suffix CR (no framing delay)", serial_latency(context, "cr", scans)))
    idle = serial_latency(context, "none", scans)
    print(summary("agent, idle framing 50 ms (whole)", idle))
    print(summary("agent, idle framing, beyond the 50 ms gap", idle, minus_ms=50.0))
    print(summary("naive read(4096), timeout 100 ms", naive_latency(min(scans, 200))))


def camera_part(frames: int) -> None:
    print("\n## camera, 1280x720, one core")
    os.sched_setaffinity(0, {0})
    cv2.setNumThreads(1)
    n = frames
    for background in ("smooth", "textured"):
        frame = code_frame(background)
        gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        rows = [
            ("zxing-cpp, every format, BGR frame", frame, {"formats": zxingcpp.BarcodeFormat.All}),
            ("zxing-cpp, DataMatrix, BGR frame", frame, {}),
            ("zxing-cpp, DataMatrix, grey frame", gray, {}),
            ("zxing-cpp, DataMatrix, grey, no rotate/invert", gray,
             {"try_rotate": False, "try_invert": False}),
        ]  # fmt: skip
        for label, image, options in rows:
            fps, found = decode_fps(image, n, **options)
            print(f"{background:<9} {label:<48} {fps:7.1f} frames/s  (found {found}/{n})")
        fps, found = driver_fps(frame, n)
        print(f"{background:<9} {'camera driver: MJPG file, grey, decode, track':<48} "
              f"{fps:7.1f} frames/s  (found {found}/{n})")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
