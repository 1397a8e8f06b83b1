from __future__ import annotations

import pytest

from scanner_agent.nir import looks_like_nir, nir_key


def test_key_of_the_spec_example():
    assert nir_key("1850578006084") == 91


def test_corsica_counts_as_19_and_18():
    assert nir_key("185052A006084") == 97 - int("1850519006084") % 97
    assert nir_key("185052B006084") == 97 - int("1850518006084") % 97


@pytest.mark.parametrize(
    "value",
    [
        "1850578006084",
        "185057800608491",
        "1850578006084 91",
        "1 85 05 78 006 084 91",
        "1850578006084-91",
        "2850578006084",
    ],
)
def test_looks_like_nir(value):
    assert looks_like_nir(value)


def test_corsican_nir_with_its_key():
    body = "285052A006084"
    assert looks_like_nir(f"{body}{nir_key(body):02d}")
    assert looks_like_nir(f"{body.lower()}{nir_key(body):02d}")


@pytest.mark.parametrize(
    "value",
    [
        "185057800608492",  # wrong key: not a NIR
        "5850578006084",  # sex digit 5 does not exist
        "1851378006084",  # month 13
        "12345678",
        "18505780060849",
        "1850578006084911",
        "AB-123/45",
        "",
    ],
)
def test_does_not_look_like_nir(value):
    assert not looks_like_nir(value)


@pytest.mark.parametrize(
    "value",
    [
        "1850578006084\u2079\u00b9",  # key 91 in superscripts: isdigit() but int() refuses it
        "1850578006084\u0669\u0661",  # key 91 in Arabic-Indic digits
        "1850578006084\uff19\uff11",  # key 91 in fullwidth digits
        "\u0661850578006084",  # a body digit of another script
    ],
)
def test_only_ascii_digits_count(value):
    assert not looks_like_nir(value)
