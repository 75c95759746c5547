"""Output files written atomically: into a temporary file beside the target, then renamed over it.

A failure never leaves half a file, and an existing file at the target stays
as it was. Failures to write are :class:`~adapter.errors.InputError` naming
the path, so the CLI reports them in one line.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError
from .i18n import N_

__all__ = ["check_output_folder", "replacing", "write_atomically"]


@contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary file beside ``path`` and rename it over ``path`` when the block ends.

    An exception in the block removes the temporary file. Raises
    :class:`~adapter.errors.InputError` when the folder of ``path`` does not
    exist, and when an ``OSError`` occurs in the block or while creating or
    renaming the file.
    """
    target = Path(path)
    folder = check_output_folder(target)
    try:
        descriptor, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise _write_error(target, exc) from exc
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        # mkstemp creates the file private (0600); give the output the mode of
        # the file it replaces, or the usual mode for a new file.
        os.chmod(temporary, _file_mode(target))
        os.replace(temporary, target)
    except OSError as exc:
        raise _write_error(target, exc) from exc
    finally:
        temporary.unlink(missing_ok=True)


def check_output_folder(path: str | os.PathLike[str]) -> Path:
    """Return the folder of the output file ``path``; raise InputError when it does not exist.

    Commands call it before slow or interactive work, such as asking for a key password.
    """
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise InputError(
            N_("output folder {folder} does not exist; create it or choose another -o path"),
            field="output",
            value=str(target),
            folder=str(folder),
        )
    return folder


def write_atomically(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`replacing`."""
    with replacing(path) as temporary:
        temporary.write_bytes(data)


def _write_error(target: Path, exc: OSError) -> InputError:
    return InputError(
        N_("failed to write {value}: {reason}; check the folder's permissions and free space, or choose another -o path"),
        field="output",
        value=str(target),
        reason=exc.strerror or type(exc).__name__,
    )


def _file_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
