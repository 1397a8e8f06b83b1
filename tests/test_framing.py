"""Pure framers, with time passed in: no device, no clock, no sleep."""

from __future__ import annotations

import pytest

from decoders.base import DecodedSymbol, Reading, Unreadable
from scanner_agent.framing import (
    DEFAULT_HID_POS_LAYOUT,
    Frame,
    HidPosFramer,
    IdleFramer,
    KeyboardFramer,
    SuffixFramer,
    SymbolTracker,
    byte_framer,
    hid_pos_layout_from_descriptor,
    keymaps,
)
from tests.helpers.devices import (
    OLD_READER_DESCRIPTOR,
    POS_DESCRIPTOR,
    hid_pos_reports,
    typed_reports,
)
from tests.helpers.samples import LONG, VALID

# --- suffix framing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("suffix", "end"), [("cr", b"\r"), ("lf", b"\n"), ("crlf", b"\r\n"), ("tab", b"\t")]
)
def test_every_suffix_ends_a_code(suffix: str, end: bytes) -> None:
    framer = byte_framer(suffix)  # type: ignore[arg-type]
    assert framer.feed(b"]d1" + VALID, 1.0) == []
    frames = framer.feed(end, 2.0)
    assert frames == [Frame(VALID, "]d1", 2.0)]


def test_code_split_at_odd_places_is_joined() -> None:
    framer = SuffixFramer(b"\r\n")
    wire = b"]d1" + VALID + b"\r\n"
    out: list[Frame] = []
    # one byte, then the AIM split, then the CR LF split between two reads
    for t, piece in enumerate([wire[:1], wire[1:2], wire[2:40], wire[40:-1], wire[-1:]]):
        out += framer.feed(piece, float(t))
    assert out == [Frame(VALID, "]d1", 4.0)]


def test_two_codes_in_one_read_and_the_start_of_a_third() -> None:
    framer = SuffixFramer(b"\r")
    frames = framer.feed(b"]d1" + VALID + b"\rSECOND\rTHI", 5.0)
    assert [(f.data, f.symbology) for f in frames] == [(VALID, "]d1"), (b"SECOND", None)]
    assert framer.feed(b"RD\r", 6.0) == [Frame(b"THIRD", None, 6.0)]


def test_noise_before_a_code_is_skipped_and_counted() -> None:
    framer = SuffixFramer(b"\r")
    (frame,) = framer.feed(b"\x00\xff\x18\n]d1" + VALID + b"\r", 1.0)
    assert frame.data == VALID
    assert frame.symbology == "]d1"
    assert frame.skipped == 4


def test_printable_noise_before_an_aim_identifier_is_skipped() -> None:
    (frame,) = SuffixFramer(b"\r").feed(b"\x85~Zq]d1" + VALID + b"\r", 1.0)
    assert frame.data == VALID
    assert frame.symbology == "]d1"
    assert frame.skipped == 4


def test_no_resync_on_a_bracket_far_into_the_code() -> None:
    data = b"X" * 40 + b"]d1" + b"Y"
    (frame,) = SuffixFramer(b"\r").feed(data + b"\r", 1.0)
    assert frame.data == data
    assert frame.symbology is None


def test_noise_alone_makes_no_frame() -> None:
    framer = SuffixFramer(b"\r")
    assert framer.feed(b"\x00\x00\r\n\r", 1.0) == []


def test_a_leading_gs_is_kept_for_the_parser_to_name_a_gs1_code() -> None:
    (frame,) = SuffixFramer(b"\r").feed(b"\x1d0103400930000019\r", 1.0)
    assert frame.data.startswith(b"\x1d")


def test_crlf_sent_to_a_device_configured_for_cr() -> None:
    framer = SuffixFramer(b"\r")
    frames = framer.feed(b"ONE\r\nTWO\r\n", 1.0)
    assert [f.data for f in frames] == [b"ONE", b"TWO"]


def test_overlong_line_is_cut_once_and_the_rest_discarded() -> None:
    framer = SuffixFramer(b"\r", max_frame_bytes=64)
    frames = framer.feed(b"A" * 50, 1.0) + framer.feed(b"B" * 50, 2.0)
    assert len(frames) == 1
    assert frames[0].truncated
    assert frames[0].data == b"A" * 50 + b"B" * 14
    # nothing more until the end of that line, and the buffer did not grow
    assert framer.feed(b"C" * 10_000, 3.0) == []
    assert len(framer._acc.buf) == 0
    # the next code is read normally
    assert framer.feed(b"\rNEXT\r", 4.0) == [Frame(b"NEXT", None, 4.0)]


def test_flush_releases_a_code_whose_suffix_never_came() -> None:
    framer = SuffixFramer(b"\r\n")
    framer.feed(b"LAST\r", 7.0)
    assert framer.flush(9.0) == [Frame(b"LAST", None, 7.0)]
    assert framer.flush(10.0) == []


def test_drop_forgets_a_code_whose_suffix_never_came() -> None:
    framer = SuffixFramer(b"\r\n")
    framer.feed(b"HALF\r", 7.0)  # the CR of CR LF is held too
    assert framer.drop() == 5
    assert framer.flush(9.0) == []
    assert framer.drop() == 0
    assert framer.feed(b"NEXT\r\n", 10.0) == [Frame(b"NEXT", None, 10.0)]


def test_drop_after_a_cut_frame_forgets_only_the_discarded_rest() -> None:
    framer = SuffixFramer(b"\r", max_frame_bytes=8)
    (cut,) = framer.feed(b"X" * 20, 1.0)
    assert cut.truncated
    assert framer.drop() == 0  # the cut frame was already given; its rest was being discarded
    assert framer.feed(b"NEXT\r", 2.0) == [Frame(b"NEXT", None, 2.0)]


# --- idle framing -------------------------------------------------------------------------


def test_idle_gap_ends_a_code_at_the_time_of_its_last_byte() -> None:
    framer = IdleFramer(idle_s=0.05)
    assert framer.feed(b"]d1AMC", 10.000) == []
    assert framer.feed(b"TP01", 10.010) == []
    assert framer.deadline() == pytest.approx(10.060)
    assert framer.poll(10.059) == []
    assert framer.poll(10.060) == [Frame(b"AMCTP01", "]d1", 10.010)]
    assert framer.deadline() is None


def test_idle_gap_noticed_when_the_next_code_arrives() -> None:
    framer = IdleFramer(idle_s=0.05)
    framer.feed(b"FIRST", 1.0)
    frames = framer.feed(b"SECOND", 2.0)  # the reader never polled in between
    assert frames == [Frame(b"FIRST", None, 1.0)]
    assert framer.flush(2.5) == [Frame(b"SECOND", None, 2.0)]


def test_idle_drop_forgets_what_the_gap_has_not_ended() -> None:
    framer = IdleFramer(idle_s=0.05)
    framer.feed(b"FIRST", 1.0)
    assert framer.poll(1.01) == []
    assert framer.drop() == 5
    assert framer.deadline() is None
    assert framer.flush(2.0) == []


def test_bytes_closer_than_the_gap_stay_in_one_code() -> None:
    framer = IdleFramer(idle_s=0.05)
    out: list[Frame] = []
    for i, byte in enumerate(VALID):
        out += framer.feed(bytes([byte]), 1.0 + i * 0.001)  # 9600 baud: ~1 ms a byte
    assert out == []
    assert [f.data for f in framer.poll(5.0)] == [VALID]


def test_idle_overlong_is_cut() -> None:
    framer = IdleFramer(idle_s=0.05, max_frame_bytes=100)
    frames = framer.feed(b"x" * 500, 1.0)
    assert len(frames) == 1
    assert frames[0].truncated
    assert len(frames[0].data) == 100
    assert framer.poll(2.0) == []  # the discarded rest makes no second frame


# --- HID POS ------------------------------------------------------------------------------


def test_hid_pos_single_report() -> None:
    framer = HidPosFramer()
    (report,) = hid_pos_reports(VALID[:50])
    assert framer.feed(report, 3.0) == [Frame(VALID[:50], "]d1", 3.0)]


def test_hid_pos_multi_report_payload_is_joined() -> None:
    reports = hid_pos_reports(LONG)
    assert len(reports) == 2
    framer = HidPosFramer()
    assert framer.feed(reports[0], 1.0) == []
    assert framer.feed(reports[1], 1.004) == [Frame(LONG, "]d1", 1.004)]


def test_hid_pos_other_report_ids_are_ignored() -> None:
    framer = HidPosFramer()
    status = bytes([0x04]) + bytes(63)
    assert framer.feed(status, 1.0) == []
    assert framer.ignored_reports == 1
    assert framer.feed(hid_pos_reports(b"ABC")[0], 2.0)[0].data == b"ABC"


def test_hid_pos_length_byte_bounds_the_data() -> None:
    report = bytearray(hid_pos_reports(b"ABCDEF")[0])
    report[1] = 3  # the scanner says 3 bytes: the rest is not data
    assert HidPosFramer().feed(bytes(report), 1.0)[0].data == b"ABC"


def test_hid_pos_without_aim() -> None:
    (frame,) = HidPosFramer().feed(hid_pos_reports(b"PLAIN", aim=b"\x00\x00\x00")[0], 1.0)
    assert frame.symbology is None
    assert frame.data == b"PLAIN"


def test_hid_pos_last_report_missing_is_flushed_as_truncated() -> None:
    framer = HidPosFramer()
    framer.feed(hid_pos_reports(LONG)[0], 1.0)
    (frame,) = framer.flush(5.0)
    assert frame.truncated
    assert frame.data == LONG[:56]
    assert frame.received_at == 1.0


def test_hid_pos_drop_forgets_a_code_whose_last_report_never_came() -> None:
    framer = HidPosFramer()
    framer.feed(hid_pos_reports(LONG)[0], 1.0)
    assert framer.drop() == 56
    assert framer.flush(5.0) == []
    # a later code is read whole, with its own AIM identifier
    (frame,) = [f for r in hid_pos_reports(VALID) for f in framer.feed(r, 6.0)]
    assert (frame.symbology, frame.data) == ("]d1", VALID)


def test_descriptor_gives_the_manual_layout() -> None:
    layout = hid_pos_layout_from_descriptor(POS_DESCRIPTOR)
    assert layout == DEFAULT_HID_POS_LAYOUT


def test_descriptor_with_other_offsets_is_followed() -> None:
    layout = hid_pos_layout_from_descriptor(OLD_READER_DESCRIPTOR)
    assert layout is not None
    assert (layout.report_id, layout.length_offset, layout.aim_offset) == (3, 1, None)
    assert (layout.data_offset, layout.data_capacity) == (2, 60)
    assert (layout.continued_offset, layout.continued_mask) == (62, 0x02)
    framer = HidPosFramer(layout)
    first = bytes([3, 60]) + LONG[:60] + bytes([0x02, 0])
    second = bytes([3, len(LONG) - 60]) + LONG[60:].ljust(60, b"\0") + bytes([0, 0])
    assert framer.feed(first, 1.0) == []
    assert framer.feed(second, 2.0) == [Frame(LONG, None, 2.0)]


def test_descriptor_of_a_keyboard_gives_no_pos_layout() -> None:
    keyboard = bytes([0x05, 0x01, 0x09, 0x06, 0xA1, 0x01, 0x05, 0x07, 0x19, 0xE0, 0x29, 0xE7,
                      0x75, 0x01, 0x95, 0x08, 0x81, 0x02, 0xC0])  # fmt: skip
    assert hid_pos_layout_from_descriptor(keyboard) is None


# --- keyboard -----------------------------------------------------------------------------

TEXT = VALID.replace(b"\x1d", b"|").decode()


@pytest.mark.parametrize("layout", ["us", "fr"])
def test_keyboard_reports_typed_and_read_with_the_same_layout(layout: str) -> None:
    framer = KeyboardFramer(layout)  # type: ignore[arg-type]
    out: list[Frame] = []
    for i, report in enumerate(typed_reports("]d1" + TEXT, layout)):  # type: ignore[arg-type]
        out += framer.feed(report, i * 0.001)
    (frame,) = out
    assert frame.data == TEXT.encode()
    assert frame.symbology == "]d1"


def test_keyboard_us_codes_read_as_fr_show_the_azerty_symptom() -> None:
    framer = KeyboardFramer("fr")
    out: list[Frame] = []
    for report in typed_reports("1234567890 aqzwm", "us"):
        out += framer.feed(report, 1.0)
    (frame,) = out
    assert frame.data.decode("latin-1") == "&é\"'(-è_çà qawz,"
    assert frame.alternates == (("us", b"1234567890 aqzwm"),)


def test_keyboard_altgr_on_azerty() -> None:
    framer = KeyboardFramer("fr")
    presses = [(keymaps.ALTGR, 0x23), (keymaps.ALTGR, 0x27), (0, keymaps.ENTER)]  # AltGr-6, -0
    out: list[Frame] = []
    for report in [bytes([m, 0, u, 0, 0, 0, 0, 0]) for m, u in presses]:
        out += framer.feed(report, 1.0)
    assert out[0].data == b"|@"


def test_keyboard_held_key_counts_once_and_rollover_reports_count_new_keys() -> None:
    framer = KeyboardFramer("us")
    a, b = 0x04, 0x05
    reports = [
        bytes([0, 0, a, 0, 0, 0, 0, 0]),
        bytes([0, 0, a, 0, 0, 0, 0, 0]),  # still held: not a second `a`
        bytes([0, 0, a, b, 0, 0, 0, 0]),  # b pressed while a is held
        bytes(8),
        bytes([0, 0, keymaps.ENTER, 0, 0, 0, 0, 0]),
    ]
    out: list[Frame] = []
    for report in reports:
        out += framer.feed(report, 1.0)
    assert [f.data for f in out] == [b"ab"]


def test_keyboard_tab_suffix_and_report_id_byte() -> None:
    framer = KeyboardFramer("us", suffix="tab")
    out: list[Frame] = []
    for report in keymaps_reports("AB\tCD\t"):
        out += framer.feed(b"\x01" + report, 1.0)  # a 9-byte report with its ID
    assert [f.data for f in out] == [b"AB", b"CD"]


def keymaps_reports(text: str) -> list[bytes]:
    from scanner_agent.framing import keyboard_reports

    return keyboard_reports(keymaps.keys_for("us", text))


def test_keyboard_idle_framing_with_no_suffix() -> None:
    framer = KeyboardFramer("us", suffix="none", idle_s=0.05)
    for i, report in enumerate(typed_reports("XYZ", "us", enter=False)):
        assert framer.feed(report, 1.0 + i * 0.002) == []
    deadline = framer.deadline()
    assert deadline is not None
    # the code ends at the last key press (report 4; report 5 is its release)
    expected = Frame(b"XYZ", None, 1.0 + 4 * 0.002, alternates=(("fr", b"XYW"),))
    assert framer.poll(deadline) == [expected]


def test_gs_cannot_be_typed() -> None:
    with pytest.raises(ValueError, match="cannot be typed"):
        keymaps.keys_for("us", "A\x1dB")


@pytest.mark.parametrize("layout", ["us", "fr"])
def test_every_printable_ascii_character_round_trips(layout: str) -> None:
    text = "".join(chr(c) for c in range(0x20, 0x7F))
    presses = keymaps.keys_for(layout, text)  # type: ignore[arg-type]
    typed = "".join(keymaps.char_for(layout, u, m) for m, u in presses)  # type: ignore[arg-type]
    assert typed == text


# --- camera -------------------------------------------------------------------------------


def symbol(data: bytes) -> DecodedSymbol:
    return DecodedSymbol(data, "]d1", "DataMatrix")


def test_a_code_held_in_view_is_one_frame() -> None:
    tracker = SymbolTracker(gone_after_s=1.0)
    frames: list[Frame] = []
    for i in range(30):  # one second of video at 30 fps
        frames += tracker.feed([symbol(b"CODE")], i / 30)
    assert frames == [Frame(b"CODE", "]d1", 0.0)]


def test_a_code_missed_in_a_few_frames_is_still_the_same_scan() -> None:
    tracker = SymbolTracker(gone_after_s=0.5)
    assert tracker.feed([symbol(b"CODE")], 0.0)
    assert tracker.feed([], 0.2) == []
    assert tracker.feed([symbol(b"CODE")], 0.4) == []


def test_a_code_that_leaves_and_comes_back_counts_again() -> None:
    tracker = SymbolTracker(gone_after_s=0.5)
    tracker.feed([symbol(b"CODE")], 0.0)
    tracker.feed([], 1.0)
    assert tracker.in_view() == 0
    assert tracker.feed([symbol(b"CODE")], 1.1) == [Frame(b"CODE", "]d1", 1.1)]


def test_two_codes_in_view_are_two_frames() -> None:
    tracker = SymbolTracker()
    frames = tracker.feed([symbol(b"A"), symbol(b"B")], 0.0)
    assert [f.data for f in frames] == [b"A", b"B"]


PLACE = ((10, 10), (50, 10), (50, 50), (10, 50))
UNREAD = Reading([], [Unreadable(PLACE)])
SIGHTING = (PLACE,)


def sightings(frames: list[Frame]) -> list[float]:
    assert all(f.data == b"" and f.unreadable == SIGHTING for f in frames)
    return [f.received_at for f in frames]


def test_a_code_seen_but_unreadable_is_said_when_it_appears_then_every_few_seconds() -> None:
    tracker = SymbolTracker(gone_after_s=1.0, unreadable_repeat_s=3.0)
    said: list[Frame] = []
    for i in range(49):  # 6 s at 8 frames a second, the place unread in every frame
        said += tracker.feed(UNREAD, i / 8)
    assert sightings(said) == [0.0, 3.0, 6.0]
    assert said[0] == Frame(b"", None, 0.0, unreadable=SIGHTING)
    # gone for 2 s, then back: said at once (it appears again), then 3 s later
    assert tracker.feed(Reading([]), 7.0) == []
    said = [f for i in range(33) for f in tracker.feed(UNREAD, 8.5 + i / 8)]
    assert sightings(said) == [8.5, 11.5]


def test_an_unreadable_place_is_not_said_while_a_code_just_read_is_in_view() -> None:
    tracker = SymbolTracker(gone_after_s=1.0, unreadable_repeat_s=3.0)
    assert [f.data for f in tracker.feed(Reading([symbol(b"CODE")]), 0.0)] == [b"CODE"]
    # the card moved a little: the same code unreadable in the next frames, the desk has it
    assert [f for i in range(1, 8) for f in tracker.feed(UNREAD, i / 8)] == []
    # a frame holding both a code read and an unreadable place: a code was read, nothing said
    both = Reading([symbol(b"CODE")], [Unreadable(PLACE)])
    assert tracker.feed(both, 1.0) == []
    # once the code is out of view (more than gone_after_s), an unreadable place is said
    assert sightings(tracker.feed(UNREAD, 2.25)) == [2.25]
    # a list of symbols (no reading) never says anything
    assert tracker.feed([], 9.0) == []


def test_keyboard_drop_forgets_keys_typed_before_enter() -> None:
    framer = KeyboardFramer("us", "cr")
    for report in typed_reports("HALF", "us", enter=False):
        framer.feed(report, 1.0)
    assert framer.drop() == 4
    assert framer.flush(2.0) == []
    frames = [f for r in typed_reports("NEXT", "us") for f in framer.feed(r, 3.0)]
    assert [f.data for f in frames] == [b"NEXT"]
