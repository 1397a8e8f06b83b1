"""Device drivers: one small class per device kind behind the protocol in `drivers.base`.

`serial` (pyserial), `hid_pos` and `hid_keyboard` (hidapi; evdev optional), `camera` (OpenCV),
`replay` (recordings), `demo` (a simulated scanner) and `discovery` (what the workstation
has); `hid_pos_layout` reads where a HID POS report keeps its data from the device's report
descriptor. Drivers know nothing of attestations: they hand raw chunks to the framers of
`scanner_agent.framing`.

Each driver takes its own small frozen parameter dataclass (`SerialParams`, `HidPosParams`,
`HidKeyboardParams`, `CameraParams`, `ReplayParams`, `DemoParams`, each in its driver's module)
and raises the exceptions of `drivers.errors`. This package imports nothing from the agent
(`scanner_agent`) or the API (`api`): the agent maps its configuration onto the parameters
(`scanner_agent.devices.build_driver`). `tests/test_import_graph.py` keeps it so.
"""
