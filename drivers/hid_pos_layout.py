"""Where things are in a HID POS scanned-data report, read from the device's report descriptor.

The HID POS driver reads the descriptor at open (`get_report_descriptor`) and keeps the layout
it describes (`HidPosDriver.layout`); the framer that joins the reports
(`scanner_agent.framing.HidPosFramer`) is built with it. Devices that give no descriptor, or one
that does not name the fields, use `DEFAULT_HID_POS_LAYOUT`, the layout scanner manuals describe.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HidPosLayout:
    """Where things are in a scanned-data report (offsets count the report ID byte as 0)."""

    report_id: int = 0x02
    length_offset: int | None = 1
    aim_offset: int | None = 2
    aim_length: int = 3
    data_offset: int = 5
    data_capacity: int = 56
    continued_offset: int | None = 63
    continued_mask: int = 0x01


DEFAULT_HID_POS_LAYOUT = HidPosLayout()


# HID report descriptor items (HID 1.11, 6.2.2): (tag, type) in the high 6 bits of the prefix.
_MAIN_INPUT, _GLOBAL_USAGE_PAGE, _GLOBAL_REPORT_SIZE = 0x80, 0x04, 0x74
_GLOBAL_REPORT_ID, _GLOBAL_REPORT_COUNT, _LOCAL_USAGE = 0x84, 0x94, 0x08
_LOCAL_USAGE_MIN, _LOCAL_USAGE_MAX = 0x18, 0x28
_POS_PAGE = 0x8C
_USAGE_SYMBOLOGY_1, _USAGE_DECODED_DATA, _USAGE_DATA_CONTINUED = 0xFB, 0xFE, 0xFF


def hid_pos_layout_from_descriptor(descriptor: Sequence[int]) -> HidPosLayout | None:
    """Offsets of the scanned-data report, read from a HID report descriptor.

    Finds the input fields on usage page 0x8C: Symbology Identifier 1 (0xFB), Decoded Data
    (0xFE) and Decode Data Continued (0xFF). Returns None when the descriptor does not describe
    them (the caller then keeps the default layout). The length byte, which the descriptor does
    not name, is taken as the 8-bit field just before the symbology identifier when there is one.
    """
    fields = _input_fields(bytes(descriptor))
    by_usage: dict[int, tuple[int, int, int, int]] = {}
    for report_id, bit, size, count, page, usages in fields:
        for index, usage in enumerate(usages):
            if page == _POS_PAGE and usage not in by_usage:
                if len(usages) == count:
                    by_usage[usage] = (report_id, bit + index * size, size, 1)
                else:  # one usage for an array of `count` items
                    by_usage[usage] = (report_id, bit + index * size, size, count)
    data = by_usage.get(_USAGE_DECODED_DATA)
    if data is None or data[2] != 8:
        return None
    report_id, data_bit, _, data_count = data
    prefix = 1 if report_id else 0
    aim = by_usage.get(_USAGE_SYMBOLOGY_1)
    aim_offset = prefix + aim[1] // 8 if aim and aim[0] == report_id else None
    continued = by_usage.get(_USAGE_DATA_CONTINUED)
    cont_offset: int | None = None
    cont_mask = 0x01
    if continued and continued[0] == report_id:
        cont_offset = prefix + continued[1] // 8
        cont_mask = 1 << (continued[1] % 8)
    # the length byte: an unnamed 8-bit field right before the AIM bytes (or the data)
    first = aim_offset if aim_offset is not None else prefix + data_bit // 8
    length_offset = first - 1 if first - 1 >= prefix else None
    return HidPosLayout(
        report_id=report_id,
        length_offset=length_offset,
        aim_offset=aim_offset,
        data_offset=prefix + data_bit // 8,
        data_capacity=data_count,
        continued_offset=cont_offset,
        continued_mask=cont_mask,
    )


def _input_fields(
    descriptor: bytes,
) -> list[tuple[int, int, int, int, int, list[int]]]:
    """(report_id, bit offset, size, count, usage page, usages) of each input main item."""
    out: list[tuple[int, int, int, int, int, list[int]]] = []
    page = size = count = report_id = 0
    usages: list[int] = []
    usage_min: int | None = None
    bits: dict[int, int] = {}
    i = 0
    while i < len(descriptor):
        prefix = descriptor[i]
        if prefix == 0xFE:  # long item: skip it
            length = descriptor[i + 1] if i + 1 < len(descriptor) else 0
            i += 3 + length
            continue
        length = (0, 1, 2, 4)[prefix & 0x03]
        value = int.from_bytes(descriptor[i + 1 : i + 1 + length], "little")
        tag = prefix & 0xFC
        i += 1 + length
        if tag == _GLOBAL_USAGE_PAGE:
            page = value
        elif tag == _GLOBAL_REPORT_SIZE:
            size = value
        elif tag == _GLOBAL_REPORT_COUNT:
            count = value
        elif tag == _GLOBAL_REPORT_ID:
            report_id = value
        elif tag == _LOCAL_USAGE:
            usages.append(value & 0xFFFF)
        elif tag == _LOCAL_USAGE_MIN:
            usage_min = value & 0xFFFF
        elif tag == _LOCAL_USAGE_MAX and usage_min is not None:
            usages.extend(range(usage_min, (value & 0xFFFF) + 1))
            usage_min = None
        elif tag in (_MAIN_INPUT, 0x90, 0xB0, 0xA0, 0xC0):  # input, output, feature, collections
            if tag == _MAIN_INPUT:
                offset = bits.get(report_id, 0)
                out.append((report_id, offset, size, count, page, list(usages)))
                bits[report_id] = offset + size * count
            usages = []
            usage_min = None
    return out
