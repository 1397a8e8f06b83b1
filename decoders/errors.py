"""The one exception of the decoding library: a file or an upload that cannot be read at all.

A file in which no code is found is not an error (the result is an empty list); `DecodeError`
is for a file that cannot be opened, is not an image or a PDF, is damaged or too large. Its
`code` is stable (the list is in `decoders.documents`): the API and the CLI's JSON output pass
it through. `scanner_agent.errors` re-exports this class: it is the same object.
"""

from __future__ import annotations


class DecodeError(Exception):
    """An image or PDF could not be read. `code` is stable, the message names the file."""

    code = "decode_error"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
