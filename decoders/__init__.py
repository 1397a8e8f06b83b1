"""Find every code in an image or a document and return its exact bytes.

    from decoders import decode_image, decode_file, Decoder, DecodeOptions

    symbols = decode_image(frame)                       # one image (numpy, gray or BGR)
    decoder = Decoder(DecodeOptions(time_budget_ms=40))  # a camera loop: reuse the buffers
    for page in decode_file(Path("scan.pdf")):          # files: PNG, JPEG, TIFF, BMP, WebP, PDF
        ...

zxing-cpp reads first; pre-processing passes and libdmtx follow within a time budget
(`decoders/cascade.py`). Files that cannot be read raise `scanner_agent.errors.DecodeError`
with a stable `code` (`decoders/documents.py`).
"""

from decoders.base import DecodedSymbol, DecodeOptions
from decoders.cascade import Decoder, decode_image
from decoders.documents import (
    Page,
    decode_bytes,
    decode_file,
    read_pages,
    read_pages_from_bytes,
)

__all__ = [
    "DecodeOptions",
    "DecodedSymbol",
    "Decoder",
    "Page",
    "decode_bytes",
    "decode_file",
    "decode_image",
    "read_pages",
    "read_pages_from_bytes",
]
