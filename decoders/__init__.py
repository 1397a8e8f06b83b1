"""Find every code in an image or a document and return its exact bytes.

    from decoders import decode_image, decode_file, Decoder, DecodeOptions

    symbols = decode_image(frame)                       # one image (numpy, gray or BGR)
    decoder = Decoder(DecodeOptions(time_budget_ms=25))  # a camera loop: reuse the buffers
    for page in decode_file(Path("scan.pdf")):          # PNG, JPEG, TIFF, BMP, WebP, HEIC, PDF
        ...

zxing-cpp reads first; pre-processing passes and libdmtx follow (`decoders/cascade.py`).
`Decoder.read` also returns the places that look like a Data Matrix but could not be read
(`Reading.unreadable`). Files are decoded without a time budget (the same result on any
machine load); a camera loop sets `time_budget_ms`, because the next frame is coming anyway.
Files that cannot be read raise `decoders.DecodeError` with a stable `code`
(`decoders/documents.py`).

The names are loaded on first use (PEP 562): `import decoders` and `decoders.base` (the options,
the symbol type and the list of passes) cost nothing; OpenCV, numpy and zxing-cpp are imported
when `Decoder` or `decode_image` is first touched, pypdfium2 and Pillow with the document
functions. Keep it that way: the agent's start and `scanner-agent parse` never pay for them.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from decoders.base import Cancel, DecodedSymbol, DecodeOptions, Reading, Unreadable
    from decoders.cascade import Decoder, decode_image
    from decoders.documents import (
        Page,
        decode_bytes,
        decode_file,
        read_pages,
        read_pages_from_bytes,
    )
    from decoders.errors import DecodeError

# Each public name and the module that defines it.
_HOMES = {
    "Cancel": "decoders.base",
    "DecodeOptions": "decoders.base",
    "DecodedSymbol": "decoders.base",
    "Reading": "decoders.base",
    "Unreadable": "decoders.base",
    "DecodeError": "decoders.errors",
    "Decoder": "decoders.cascade",
    "decode_image": "decoders.cascade",
    "Page": "decoders.documents",
    "decode_bytes": "decoders.documents",
    "decode_file": "decoders.documents",
    "read_pages": "decoders.documents",
    "read_pages_from_bytes": "decoders.documents",
}

__all__ = [
    "Cancel",
    "DecodeError",
    "DecodeOptions",
    "DecodedSymbol",
    "Decoder",
    "Page",
    "Reading",
    "Unreadable",
    "decode_bytes",
    "decode_file",
    "decode_image",
    "read_pages",
    "read_pages_from_bytes",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'decoders' has no attribute {name!r}")
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
