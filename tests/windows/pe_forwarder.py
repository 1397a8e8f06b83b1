"""A Windows DLL that only forwards exports to another DLL, written byte by byte.

Wine 8.0 has no `bcryptprimitives.dll`, whose `ProcessPrng` the Rust standard library calls for
random bytes (pydantic-core and cryptography wheels are built with Rust). `ProcessPrng(buf, len)`
and `advapi32.SystemFunction036` (`RtlGenRandom(buf, len)`) take the same two arguments, so a DLL
whose export `ProcessPrng` is a forwarder string "advapi32.SystemFunction036" is enough, and it
needs no code at all: no compiler, only this file (PE/COFF layout from Microsoft's "PE Format"
specification). The Windows test environment's set-up writes it into the Wine prefix; the agent
never uses it.
"""

from __future__ import annotations

import struct

IMAGE_BASE = 0x1_8000_0000
SECTION_ALIGNMENT = 0x1000
FILE_ALIGNMENT = 0x200
HEADERS_SIZE = 0x200  # DOS header + PE headers + one section header, rounded up to FILE_ALIGNMENT
SECTION_RVA = SECTION_ALIGNMENT

MACHINE_AMD64 = 0x8664
# IMAGE_FILE_EXECUTABLE_IMAGE | IMAGE_FILE_LARGE_ADDRESS_AWARE | IMAGE_FILE_DLL
FILE_CHARACTERISTICS = 0x0002 | 0x0020 | 0x2000
# IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA | DYNAMIC_BASE | NX_COMPAT
DLL_CHARACTERISTICS = 0x0020 | 0x0040 | 0x0100
SUBSYSTEM_WINDOWS_CUI = 3
# IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ
SECTION_CHARACTERISTICS = 0x0000_0040 | 0x4000_0000
DIRECTORY_EXPORT = 0
DIRECTORY_BASERELOC = 5


def _align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


def _export_section(dll_name: str, forwards: dict[str, str]) -> tuple[bytes, int, int]:
    """The `.rdata` section: the export directory whose every function is a forwarder, then an
    empty base relocation block (so the loader may place the DLL anywhere). Returns the section,
    the export directory's size and the relocation block's offset in the section."""
    names = sorted(forwards)  # the name pointer table must be sorted (binary search)
    count = len(names)
    directory_size = 40
    functions_at = directory_size
    names_at = functions_at + 4 * count
    ordinals_at = names_at + 4 * count
    strings_at = ordinals_at + 2 * count

    strings = bytearray()

    def add_string(text: str) -> int:
        offset = strings_at + len(strings)
        strings.extend(text.encode("ascii") + b"\0")
        return SECTION_RVA + offset

    dll_name_rva = add_string(dll_name)
    name_rvas = [add_string(name) for name in names]
    forward_rvas = [add_string(forwards[name]) for name in names]
    export_size = strings_at + len(strings)

    directory = struct.pack(
        "<IIHHIIIIIII",
        0,  # Characteristics
        0,  # TimeDateStamp
        0,  # MajorVersion
        0,  # MinorVersion
        dll_name_rva,
        1,  # Base (first ordinal)
        count,  # NumberOfFunctions
        count,  # NumberOfNames
        SECTION_RVA + functions_at,
        SECTION_RVA + names_at,
        SECTION_RVA + ordinals_at,
    )
    # An export address inside the export directory's range is a forwarder string, not code.
    tables = (
        struct.pack(f"<{count}I", *forward_rvas)
        + struct.pack(f"<{count}I", *name_rvas)
        + struct.pack(f"<{count}H", *range(count))
    )
    section = bytearray(directory + tables + strings)
    relocations_at = _align(len(section), 4)
    section.extend(b"\0" * (relocations_at - len(section)))
    section.extend(struct.pack("<II", SECTION_RVA, 8))  # one block, no entry: nothing to fix
    return bytes(section), export_size, relocations_at


def forwarder_dll(dll_name: str, forwards: dict[str, str]) -> bytes:
    """A 64-bit DLL named `dll_name` exporting each key of `forwards`, forwarded to its value
    ("otherdll.Function"). No code, no imports, no entry point."""
    section, export_size, relocations_at = _export_section(dll_name, forwards)
    raw_size = _align(len(section), FILE_ALIGNMENT)
    image_size = SECTION_RVA + _align(len(section), SECTION_ALIGNMENT)

    dos = bytearray(64)
    dos[0:2] = b"MZ"
    struct.pack_into("<I", dos, 0x3C, len(dos))  # e_lfanew: the PE signature follows

    coff = struct.pack("<HHIIIHH", MACHINE_AMD64, 1, 0, 0, 0, 240, FILE_CHARACTERISTICS)
    directories = [(0, 0)] * 16
    directories[DIRECTORY_EXPORT] = (SECTION_RVA, export_size)
    directories[DIRECTORY_BASERELOC] = (SECTION_RVA + relocations_at, 8)
    optional = struct.pack(
        "<HBBIIIIIQIIHHHHHHIIIIHHQQQQII",
        0x20B,  # PE32+
        14,  # MajorLinkerVersion
        0,  # MinorLinkerVersion
        0,  # SizeOfCode
        raw_size,  # SizeOfInitializedData
        0,  # SizeOfUninitializedData
        0,  # AddressOfEntryPoint: none, no DllMain
        SECTION_RVA,  # BaseOfCode
        IMAGE_BASE,
        SECTION_ALIGNMENT,
        FILE_ALIGNMENT,
        6,  # MajorOperatingSystemVersion
        0,
        0,  # MajorImageVersion
        0,
        6,  # MajorSubsystemVersion
        0,
        0,  # Win32VersionValue
        image_size,
        HEADERS_SIZE,
        0,  # CheckSum
        SUBSYSTEM_WINDOWS_CUI,
        DLL_CHARACTERISTICS,
        0x10_0000,  # SizeOfStackReserve
        0x1000,  # SizeOfStackCommit
        0x10_0000,  # SizeOfHeapReserve
        0x1000,  # SizeOfHeapCommit
        0,  # LoaderFlags
        len(directories),
    ) + b"".join(struct.pack("<II", rva, size) for rva, size in directories)
    section_header = struct.pack(
        "<8sIIIIIIHHI",
        b".rdata",
        len(section),  # VirtualSize
        SECTION_RVA,
        raw_size,
        HEADERS_SIZE,  # PointerToRawData
        0,
        0,
        0,
        0,
        SECTION_CHARACTERISTICS,
    )
    headers = bytes(dos) + b"PE\0\0" + coff + optional + section_header
    if len(headers) > HEADERS_SIZE:
        raise ValueError("the PE headers outgrew their space")
    return headers.ljust(HEADERS_SIZE, b"\0") + section.ljust(raw_size, b"\0")


BCRYPTPRIMITIVES = ("bcryptprimitives.dll", {"ProcessPrng": "advapi32.SystemFunction036"})
"""What Wine 8.0 lacks and Rust-built wheels call: `ProcessPrng`, forwarded to `RtlGenRandom`."""
