"""Files floorterm writes for people and scripts (exports, printed sheets): whole, or not there.

Each file is written under a temporary name in its own folder, flushed to the disk (fsync)
and only then renamed to its name, so a full disk, a folder this user may not write, a killed
process or a power cut never leaves half a file under the name someone will read. A failure
is one OutputError naming the file and the cause, and the temporary files are removed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import IO

from floorterm.errors import OutputError


class OutputFiles:
    """Open files by their final path inside `with OutputFiles() as out:`; all land at the end, or none.

    Leave the handles open: leaving the block flushes, syncs, closes and renames them.
    """

    def __init__(self) -> None:
        self._files: list[tuple[Path, Path, IO]] = []  # (temporary, final, handle)
        self._current: Path | None = None  # the file being written, for the error message

    def open(self, path: str | os.PathLike[str], mode: str = "w", **kwargs) -> IO:
        """A new file that will be `path` once the block ends well; kwargs as for open()."""
        final = Path(path).expanduser()
        self._current = final
        temporary = final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")
        # O_EXCL: never write into someone else's file; 0o666 lets the umask decide, as open() does.
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            handle = os.fdopen(fd, mode, **kwargs)
        except BaseException:
            os.close(fd)
            os.unlink(temporary)
            raise
        self._files.append((temporary, final, handle))
        return handle

    def __enter__(self) -> "OutputFiles":
        return self

    def __exit__(self, kind, err, tb) -> bool:
        if kind is None:
            try:
                self._finish()
            except BaseException as exc:
                self._discard()
                if isinstance(exc, OSError):
                    raise OutputError(_cannot_write(self._current, exc)) from None
                raise
            return False
        self._discard()
        if isinstance(err, OSError):
            raise OutputError(_cannot_write(self._current, err)) from None
        return False  # anything else (a store error, Ctrl-C) goes on as it was

    def _finish(self) -> None:
        for temporary, final, handle in self._files:
            self._current = final
            handle.flush()
            os.fsync(handle.fileno())  # on the disk before it carries its name
            handle.close()
        # Renames within one folder do not fail short of the disk going away: all or nothing.
        for temporary, final, _ in self._files:
            self._current = final
            os.replace(temporary, final)
        for folder in {final.parent for _, final, _ in self._files}:
            _sync_folder(folder)
        self._files = []

    def _discard(self) -> None:
        for temporary, _, handle in self._files:
            try:
                handle.close()
            except OSError:
                pass  # the disk is full: the data goes with the file
            try:
                os.unlink(temporary)
            except OSError:
                pass
        self._files = []


def make_folder(folder: str | os.PathLike[str]) -> Path:
    """The output folder, created with its parents if missing; OutputError when it cannot be."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"Cannot create the output folder {folder}: {exc.strerror or exc}; nothing was written"
        ) from None
    if not folder.is_dir():
        raise OutputError(f"The output folder {folder} is not a folder; nothing was written")
    return folder


def _cannot_write(path: Path | None, exc: OSError) -> str:
    """One line: which file could not be written, and why (the disk is full, no permission, …)."""
    return f"Cannot write {path or exc.filename}: {exc.strerror or exc}; nothing was written"


def _sync_folder(folder: Path) -> None:
    """Make the renames themselves durable (the folder's entries), where the system allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot sync a folder; the files themselves are synced
    finally:
        os.close(fd)


__all__ = ["OutputFiles", "make_folder"]
