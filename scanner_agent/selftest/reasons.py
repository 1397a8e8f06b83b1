"""Every self-test check code with its generic fix: the reasons table.

`CHECKS` maps each stable code to the fix shown when the check warns or fails ("" for a
code that only passes). Codes are never renamed: clients and the operator page branch on
them, and the README's "Self-test reasons" table is made of this one (a test keeps the two
in step).
"""

from __future__ import annotations

UDEV_FIX = (
    "install config/udev/99-scanner-agent.rules into /etc/udev/rules.d/, run `sudo udevadm "
    "control --reload && sudo udevadm trigger`, add the agent's user to plugdev (`sudo usermod "
    "-aG plugdev USER`) and log in again"
)

# Every check code, with its generic fix ("" for a pass). Codes are never renamed.
CHECKS: dict[str, str] = {
    # agent level (internal)
    "config_ok": "",
    "config_invalid": "run `scanner-agent config --config FILE`: the message names the key and "
    "the file; fix it until it passes",
    "layouts_loaded": "",
    "layouts_invalid": "the message names the layout file and key; fix it or remove the folder "
    "from parser.layouts_dirs",
    "referential_loaded": "",
    "referential_invalid": "the message names the CSV line(s); fix them (`scanner-agent "
    "referential check FILE` checks a file) or point parser.referential at a good file",
    "referential_stale": "replace the file with a current extract of your hospital's AMC "
    "referential (with today's `updated` dates), or raise parser.referential_max_age_days",
    "testcard_parsed": "",
    "testcard_not_parsed": "the layouts in parser.layouts_dirs must include the shipped ones "
    "(config/layouts): keep {config_dir}/layouts in the list",
    "decoder_ok": "",
    "decoder_failed": "reinstall the agent (zxing-cpp, OpenCV); check the [decoder] section",
    "libdmtx_missing": "install the system library libdmtx (Debian/Ubuntu: `sudo apt-get "
    "install libdmtx0b`), or set decoder.libdmtx = false",
    "storage_ok": "",
    "storage_unavailable": "check storage.url and that the data folder (agent.data_dir) is "
    "writable by the agent's user; for PostgreSQL, that the server is up and reachable",
    "no_devices": "add a [[devices]] table per scanner or camera; `scanner-agent devices` "
    "lists what this workstation has",
    # the ROC roll-out phase (selftest/roc_checks.py)
    "roc_phase": "",
    "roc_mirror_unknown": "add the mirror AMC's line to the AMC referential (roc = yes, test = "
    "yes), or correct roc.mirror_amc",
    "roc_mirror_not_connected": "set roc = yes on the mirror AMC's line of the referential (with "
    "a period holding today), or correct roc.mirror_amc",
    "roc_phase_not_reloaded": "fix the [roc] section (the message names the key and the file; "
    "`scanner-agent config --config FILE` checks it): the previous phase stays in use until it "
    "reads again",
    # device level
    "device_disabled": "",
    "device_present": "",
    "device_not_found": "plug the device in; check `port` / `vid` / `pid` / `path` / `source` "
    "against `scanner-agent devices`",
    "permission_denied": UDEV_FIX,
    "device_busy": "another program holds the device: close it (a terminal program, "
    "ModemManager, a second agent; `fuser -v /dev/ttyACM0` names it). To test the devices of a "
    "running agent, call POST /v1/selftest instead",
    "device_error": "read the message; unplug and plug the device back in",
    "opened": "",
    "no_data": "scan a code within the time limit; check the scanner is in the configured mode "
    "(serial, HID POS or keyboard) and beeps when it reads",
    "codes_read": "",
    "codes_refused": "look at the error codes: `not_an_attestation` on every code usually means "
    "a framing or layout problem (see the other checks)",
    "noise": "bytes that belong to no code arrive (line noise, a wrong baud rate or parity, "
    "ModemManager probing the port): check baudrate/parity against the scanner's settings and "
    "install the udev rule (ID_MM_DEVICE_IGNORE)",
    "wrong_suffix": "set `suffix` to what the scanner sends, or program the scanner's suffix "
    "with its setup codes",
    "frame_never_ends": 'the scanner sends no suffix: set suffix = "none" (codes end after '
    "idle_ms of silence), or better, program the scanner to send CR",
    "idle_framing": "the scanner ends its codes with a suffix: set `suffix` to it; idle framing "
    "can split a code when the link stalls",
    "aim_present": "",
    "aim_missing": "enable the AIM symbology identifier on the scanner ('transmit AIM ID' setup "
    "code): without it a QR Code or a GS1 code cannot be refused by its symbology",
    "keyboard_layout_mismatch": "set `layout` to the scanner's layout, or scan the scanner's "
    "keyboard-layout setup code",
    "keyboard_mode": 'switch the scanner to HID POS (type = "hid_pos") or USB serial '
    '(type = "serial") with its setup codes: keyboard mode loses GS separators and depends '
    "on the keyboard layout",
    "separators_lost": "the scanner drops GS (keyboard mode): the scans are still read; HID POS "
    "or serial mode keeps GS",
    "frames_dropped": "the scan queue overflowed, codes were too long, or the device went away "
    "in the middle of a code: see the device's last error and diagnostics (frame_incomplete); "
    "raise pipeline.queue_size, check the suffix, or check the cable",
    "camera_no_frames": "check the camera is not used by another program (a video call) and "
    "that the user is in the video group",
    "camera_measured": "",
    "camera_resolution": "the camera gives fewer pixels than configured: lower `width`/`height` "
    "to what it gives, or use a camera that reaches it (small codes need pixels)",
    "camera_frame_rate": "the camera or the decoder cannot keep up: lower `fps`, `width` and "
    "`height`, or decoder.time_budget_ms",
    "camera_decode_slow": "decoding takes longer than the time between frames: lower `fps` or "
    "the resolution, or decoder.time_budget_ms",
    "live_state": "",
    "not_measured_live": "",
    "testcard_complete": "",
    "testcard_incomplete": "scan every attestation of the test card (codes 1 to 6) within the "
    "time limit; a code that does not read at all: check the module size your scanner supports",
    "testcard_outcome": "a test-card code was not read or refused as designed: see the message",
    "unexpected_code": "scan the test card only during the interactive self-test",
}
