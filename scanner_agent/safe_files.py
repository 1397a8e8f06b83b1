"""File moves that never overwrite, for folders the agent shares with people and other programs
(the watched folder, the weekly indicators' folder)."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

NO_LINKS = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS, errno.EACCES}
)
"""What `os.link` raises where a folder has no hard links (some network and FAT folders) or
refuses them to this user (Linux's protected_hardlinks)."""


def link_no_replace(source: Path, target: Path) -> bool:
    """Give `source`'s file the name `target`, never over an existing file (FileExistsError).

    A hard link where the folder has them: True, and `source` still names the file too (the
    caller unlinks it). Elsewhere a rename after checking that `target` is free: False, `source`
    is gone (a rename never replaces on Windows; on POSIX the check leaves a window in which
    another program could create `target`)."""
    try:
        os.link(source, target)
    except OSError as exc:
        if isinstance(exc, FileExistsError) or exc.errno not in NO_LINKS:
            raise
        if target.exists():
            raise FileExistsError(errno.EEXIST, "exists", str(target)) from None
        os.rename(source, target)
        return False
    return True


def move_no_replace(source: Path, target: Path) -> None:
    """Rename `source` to `target`, never over an existing file (FileExistsError). Through a hard
    link then an unlink where links work; an unlink refused (a file held open on Windows) takes
    the link back and raises. Only a crash between the two leaves one file under both names,
    which the caller must be ready to find (`same_file`)."""
    if link_no_replace(source, target):
        try:
            os.unlink(source)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(target)
            raise


def same_file(a: Path, b: Path) -> bool:
    """Whether `a` and `b` are two names of one file (False when either is gone)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def sync_folder(folder: Path) -> None:
    """Flush the folder's entries, so that a rename or a new file in it survives a power cut
    (POSIX; nothing to do, or not possible, elsewhere)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
