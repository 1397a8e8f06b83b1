"""Every driver satisfies the one protocol, `drivers.base.Driver[ChunkT]`, and takes its own
parameters, which `build_driver` maps from the configuration.

This file is type-checked by mypy (`[tool.mypy] files`): the annotated assignments in
`typed_drivers` fail `make typecheck` when a driver drifts from the protocol (a renamed
method, a changed signature, a chunk type that is not what its framer takes). The tests check
the same at run time, and what the protocol promises before a device is opened.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
from typing import Any

import pytest

import drivers
from decoders.base import Reading
from drivers.base import Driver
from drivers.camera import CameraDriver, CameraParams
from drivers.demo import DemoDriver, DemoParams
from drivers.errors import DeviceLost
from drivers.hid_keyboard import HidKeyboardDriver, HidKeyboardParams
from drivers.hid_pos import HidPosDriver, HidPosParams
from drivers.replay import ReplayDriver, ReplayParams
from drivers.serial import SerialDriver, SerialParams
from scanner_agent.config import Settings
from scanner_agent.devices import build_driver


def no_decode(image: Any) -> Reading:
    return Reading([])


def typed_drivers() -> dict[str, Driver[object]]:
    """One driver of each kind, each assigned to the protocol with its chunk type (checked by
    mypy); none is opened."""
    serial: Driver[bytes] = SerialDriver(SerialParams(port="loop://"))
    hid_pos: Driver[bytes] = HidPosDriver(HidPosParams(vid="0c2e"))
    keyboard: Driver[bytes] = HidKeyboardDriver(HidKeyboardParams(vid="0c2e", layout="fr"))
    camera: Driver[Reading] = CameraDriver(CameraParams(source=0), decode=no_decode)
    replay: Driver[bytes] = ReplayDriver(ReplayParams(path="x.jsonl"))
    demo: Driver[bytes] = DemoDriver(DemoParams(interval_s=1.0))
    return {
        "serial": serial,
        "hid_pos": hid_pos,
        "hid_keyboard": keyboard,
        "camera": camera,
        "replay": replay,
        "demo": demo,
    }


DRIVERS = typed_drivers()


def test_every_driver_class_is_checked() -> None:
    """A new driver module must be added above: find every `...Driver` class in `drivers`."""
    found = set()
    for info in pkgutil.iter_modules(drivers.__path__, "drivers."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and name.endswith("Driver") and value.__module__ == info.name:
                found.add(value)
    assert found - {Driver} == {type(d) for d in DRIVERS.values()}


@pytest.mark.parametrize("kind", sorted(DRIVERS))
def test_each_driver_satisfies_the_protocol_at_run_time(kind: str) -> None:
    driver = DRIVERS[kind]
    assert isinstance(driver, Driver)
    assert driver.kind == kind
    signature = inspect.signature(driver.read)
    assert list(signature.parameters) == ["timeout"]


@pytest.mark.parametrize("kind", sorted(DRIVERS))
def test_before_open_a_driver_describes_itself_reads_nothing_and_closes_safely(kind: str) -> None:
    driver = DRIVERS[kind]
    assert isinstance(driver.description, str)
    assert driver.description
    assert driver.exhausted is False
    with pytest.raises(DeviceLost, match="not open"):
        driver.read(0.0)
    driver.close()
    driver.close()  # twice is safe


@pytest.mark.parametrize(
    "params",
    [
        SerialParams(),
        HidPosParams(),
        HidKeyboardParams(),
        CameraParams(),
        ReplayParams(path="x.jsonl"),
        DemoParams(),
    ],
)
def test_driver_parameters_are_frozen_values(params: Any) -> None:
    assert dataclasses.is_dataclass(params)
    assert not hasattr(params, "__dict__")  # slots
    field = dataclasses.fields(params)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(params, field, None)


def test_build_driver_maps_the_configuration_onto_each_drivers_parameters() -> None:
    settings = Settings.model_validate(
        {
            "devices": [
                {"id": "s", "type": "serial", "port": "/dev/ttyACM0", "baudrate": 115200,
                 "bytesize": 7, "parity": "E", "stopbits": 2, "suffix": "tab"},
                {"id": "u", "type": "serial", "vid": "0c2e", "pid": "0b61",
                 "serial_number": "S1"},
                {"id": "p", "type": "hid_pos", "vid": "0c2e", "usage_page": 0x8D},
                {"id": "k", "type": "hid_keyboard", "path": "/dev/input/by-id/k-event-kbd",
                 "backend": "evdev", "layout": "fr"},
                {"id": "c", "type": "camera", "source": "/dev/video2", "fps": 5, "width": 640,
                 "height": 480, "gone_after_s": 2},
                {"id": "r", "type": "replay", "path": "x.jsonl", "protocol": "hid_keyboard",
                 "speed": 4, "loop": True, "layout": "fr"},
                {"id": "d", "type": "demo", "interval_s": 0.5},
            ]
        }
    )  # fmt: skip
    params = {c.id: getattr(build_driver(c).driver, "params", None) for c in settings.devices}
    assert params == {
        "s": SerialParams(port="/dev/ttyACM0", baudrate=115200, bytesize=7, parity="E",
                          stopbits=2),
        "u": SerialParams(vid="0c2e", pid="0b61", serial_number="S1"),
        "p": HidPosParams(vid="0c2e", usage_page=0x8D),
        "k": HidKeyboardParams(path="/dev/input/by-id/k-event-kbd", backend="evdev",
                               layout="fr"),
        "c": CameraParams(source="/dev/video2", fps=5, width=640, height=480),
        "r": ReplayParams(path="x.jsonl", protocol="hid_keyboard", speed=4, loop=True,
                          layout="fr"),
        "d": DemoParams(interval_s=0.5),
    }  # fmt: skip
