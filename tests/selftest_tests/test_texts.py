"""The self-test's catalogue: every message, fix and label in English and French with the same
placeholders, every check code with a message and a fix in both languages, French numbers, and
the language of the system locale."""

from __future__ import annotations

import re

import pytest

from scanner_agent.selftest import CHECKS, CHECKS_FR, LANGS, check, language_from_environ
from scanner_agent.selftest.texts import FIXES, LABELS, MESSAGES, placeholders, render_message

_LITERAL_BRACES = re.compile(r"\{[a-z_]+\}")


def test_every_message_fix_and_label_has_both_languages_with_the_same_placeholders() -> None:
    for catalogue in (MESSAGES, FIXES, LABELS):
        assert set(catalogue["en"]) == set(catalogue["fr"])
        for key, english in catalogue["en"].items():
            french = catalogue["fr"][key]
            assert french and english, key
            assert placeholders(english) == placeholders(french), key


def test_every_check_code_has_a_message_and_its_fix_in_both_languages() -> None:
    assert set(CHECKS) == set(CHECKS_FR)
    ids = set(MESSAGES["en"])
    for code, fix in CHECKS.items():
        assert bool(fix) == bool(CHECKS_FR[code]), code
        # generic fixes are shown as written: what looks like a placeholder is the same in both
        assert set(_LITERAL_BRACES.findall(fix)) == set(_LITERAL_BRACES.findall(CHECKS_FR[code]))
        assert any(i == code or i.startswith(code + ".") for i in ids), code
    for message_id in ids:
        code = message_id.split(".")[0]
        assert code in CHECKS or code == "prompt", message_id
    for fix_id in FIXES["en"]:
        assert fix_id.split(".")[0] in CHECKS, fix_id


def test_a_check_is_made_once_and_rendered_in_either_language() -> None:
    made = check(
        "camera_resolution",
        "warn",
        "camera_resolution",
        "camera_resolution",
        width=640,
        height=480,
        configured_width=1280,
        configured_height=720,
        device="cam",
    )
    assert made.message == "the camera gives 640x480, the configuration asks 1280x720"
    assert made.fix.startswith("set width = 640, height = 480 for device 'cam'")
    french = made.in_language("fr")
    assert french.message == "la caméra donne 640x480, la configuration demande 1280x720"
    assert french.fix.startswith("mettez width = 640, height = 480 pour l'appareil 'cam'")
    assert (french.code, french.verdict, french.params) == (made.code, made.verdict, made.params)
    assert french.in_language("en") == made
    # the generic fix when no precise one is given; none when the check passes
    assert (
        check("aim_missing", "warn", "aim_missing").in_language("fr").fix
        == CHECKS_FR["aim_missing"]
    )
    assert check("aim_present", "pass", "aim_present", names="]d1").in_language("fr").fix == ""


def test_french_numbers_have_a_decimal_comma() -> None:
    params = {"fps": 4.46, "configured_fps": 15}
    assert render_message("camera_frame_rate", "fr", params) == (
        "4,5 images/s, la moitié des 15 configurées ou moins"
    )
    assert render_message("camera_frame_rate", "en", params).startswith("4.5 frames/s")


@pytest.mark.parametrize(
    ("environ", "lang"),
    [
        ({}, "en"),
        ({"LANG": "fr_FR.UTF-8"}, "fr"),
        ({"LANG": "fr_CA.UTF-8"}, "fr"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LC_MESSAGES": "fr_FR.UTF-8", "LANG": "en_US.UTF-8"}, "fr"),
        ({"LC_ALL": "C", "LC_MESSAGES": "fr_FR.UTF-8"}, "en"),  # LC_ALL wins
        ({"LC_ALL": "", "LANG": "fr_BE.UTF-8"}, "fr"),  # an empty variable is not set
    ],
)
def test_the_language_of_the_system_locale(environ: dict[str, str], lang: str) -> None:
    assert language_from_environ(environ) == lang
    assert lang in LANGS
