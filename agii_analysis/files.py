"""Files: written so that a reader (or a killed run) never sees half of one, and named
so that a person can tell them apart."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call `write(tmp_path)`, then move the temp file over `path` in one rename.

    The temp file sits in the same folder (same filesystem), is fsynced, gets the mode
    a plain open() would give, and is removed if anything fails.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def display_names(paths: list[str | os.PathLike]) -> list[str]:
    """Each file's name as people see it: the base name, or, where two files share one
    (two downloads both called Vorming.csv), as many parent folders as tell them apart."""
    parts = [Path(os.path.abspath(p)).parts for p in paths]
    names = []
    for i, own in enumerate(parts):
        depth = 1
        while depth < len(own) and any(j != i and other[-depth:] == own[-depth:] and other != own
                                       for j, other in enumerate(parts)):
            depth += 1
        names.append(Path(*own[-depth:]).as_posix())
    return names


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """The same file, also through a link or another spelling of its path."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # not there (yet): compare the paths
        return os.path.abspath(a) == os.path.abspath(b)
