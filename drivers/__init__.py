"""Device drivers: one small class per device kind behind the protocol in `drivers.base`.

`serial` (pyserial), `hid_pos` and `hid_keyboard` (hidapi; evdev optional), `camera` (OpenCV),
`replay` (recordings), `demo` (a simulated scanner); `keymaps` (keyboard layouts) and
`discovery` (what the workstation has). Drivers know nothing of attestations: they hand raw
chunks to the framers of `scanner_agent.framing`.
"""
