"""Write a file whole or not at all: a temporary file beside it, renamed over it once complete."""

import contextlib
import os
import tempfile


@contextlib.contextmanager
def atomic_write(path, mode="w", **open_kwargs):
    """Open ``path`` for writing so that readers only ever see the old file or the complete new one.

    The data goes to a temporary file in the same folder (same file system,
    so the rename is atomic), is flushed and fsync'ed, then renamed over
    ``path``. If the block raises (a full disk, Ctrl-C, a bug), the temporary
    file is removed and ``path`` keeps whatever it held before. Two writers
    of the same ``path`` each write their own temporary file: the last
    rename wins whole, never a mix of both.

    Parameters
    ----------
    path : str or path-like
        The file to write.
    mode : {"w", "wb"}, default="w"
    **open_kwargs
        Passed to :func:`open` (``encoding``, ``newline``, ``errors``).

    Yields
    ------
    file : file object
        Open on the temporary file.

    Examples
    --------
    >>> import os, tempfile
    >>> from skage.io import atomic_write
    >>> path = os.path.join(tempfile.mkdtemp(), "ages.csv")
    >>> with atomic_write(path) as f:
    ...     _ = f.write("input,age\\n")
    >>> open(path).read()
    'input,age\\n'
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename in (None, tmp):
            # a full disk's write() error names no file; the temporary name would mean nothing to the user
            exc.filename, exc.filename2 = path, None
        raise
