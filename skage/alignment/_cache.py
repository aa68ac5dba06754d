"""On-disk, memory-mapped cache for chips and masks.

A cache entry is ``<key>.npy`` (the array, opened as a read-only
``np.memmap``) plus ``<key>.meta.npz`` (per-image results). The key hashes the
inputs and every parameter that changes the output, so a changed file or
parameter never returns stale chips. Entries are written under a temporary
name and renamed, so a crash never leaves a half-written entry that looks
complete.
"""

import os
import uuid
from pathlib import Path

import joblib
import numpy as np


def input_fingerprint(items):
    """Something cheap to hash that changes whenever an input changes.

    Paths are fingerprinted by absolute name, size and modification time (not
    content: re-reading 150k files to hash them would cost as much as aligning
    them). Arrays backed by a cache file are fingerprinted by that file;
    other arrays by their content.
    """
    if isinstance(items, np.memmap) and items.filename:
        return ("memmap", _file_id(items.filename), items.offset, items.shape, str(items.dtype))
    if isinstance(items, np.ndarray) and items.dtype != object:
        return ("array", joblib.hash(items))
    parts = []
    for item in items:
        if isinstance(item, (str, os.PathLike)):
            parts.append(("path",) + _file_id(item))
        else:
            parts.append(("array", joblib.hash(np.asarray(item))))
    return parts


def _file_id(path):
    path = os.path.abspath(os.fspath(path))
    try:
        stat = os.stat(path)
    except OSError:
        return (path, None, None)  # missing now; the entry is still valid for the same missing file
    return (path, stat.st_size, stat.st_mtime_ns)


class ArrayCache:
    """Memory-mapped arrays with per-row metadata, keyed by a hash.

    Parameters
    ----------
    directory : str or path-like
        Created on first write.
    """

    def __init__(self, directory):
        self.directory = Path(directory)

    def key(self, *parts):
        return joblib.hash(parts)

    def load(self, key):
        """``(array, meta)`` for a complete entry, else ``None``."""
        data, meta = self.directory / f"{key}.npy", self.directory / f"{key}.meta.npz"
        if not (data.is_file() and meta.is_file()):
            return None
        with np.load(meta, allow_pickle=False) as stored:
            meta_dict = {name: stored[name] for name in stored.files}
        return np.load(data, mmap_mode="r"), meta_dict

    def write(self, key, shape, dtype, fill):
        """Create an entry; ``fill(array)`` writes the rows and returns the meta dict.

        Returns what :meth:`load` returns for the new entry.
        """
        self.directory.mkdir(parents=True, exist_ok=True)
        tag = uuid.uuid4().hex[:8]
        tmp_data = self.directory / f"{key}.{tag}.tmp.npy"
        tmp_meta = self.directory / f"{key}.{tag}.tmp.npz"
        try:
            out = np.lib.format.open_memmap(tmp_data, mode="w+", dtype=dtype, shape=shape)
            meta = fill(out)
            out.flush()
            del out
            np.savez(tmp_meta, **meta)
            os.replace(tmp_data, self.directory / f"{key}.npy")
            os.replace(tmp_meta, self.directory / f"{key}.meta.npz")  # written last: marks the entry complete
        finally:
            for tmp in (tmp_data, tmp_meta):
                if tmp.exists():
                    tmp.unlink()
        return self.load(key)
