"""Which faces trained a model: recorded by ``skage fit``, checked before a model is scored or calibrated.

A model scored on its own training faces looks better than it is, and conformal intervals calibrated
on them are too narrow for new faces. ``skage fit`` stores a short perceptual hash of every training
face in the model file (``info["training_faces"]``, made as ``info["training_faces_hash"]`` says);
``evaluate``, ``report``, ``audit`` and ``calibrate`` compare their faces with it before using them.

The hash is of what the model sees, the decoded image, not of the file's bytes: a face re-saved as
JPEG (any quality down to 50), as PNG, enlarged, or with bytes appended after its end is still
recognised, and most resized-down copies. Model files from before (no ``training_faces_hash``) hold SHA-1s of the files' bytes and
are checked by bytes, as they were.
"""

import hashlib
import os
import sys

import numpy as np

from ._common import CLIError

#: The name of the fingerprints in ``info["training_faces_hash"]``: a DCT perceptual hash (below).
HASH = "dct255"

#: Two images whose fingerprints differ in at most this many of their 255 bits are the same face image.
#: Measured (``benchmarks/results/training_face_hash_cpu.md``) on 10,000 UTKFace chips and copies of
#: them: copies re-saved as JPEG (quality 95 to 50) or PNG differ by at most 10 bits, resized ones by
#: up to 20 (88 % of halved copies are within 12); the only other chips within 12 bits are UTKFace's
#: own duplicates (the same photo under two names), and synthetic faces, all drawn from one
#: template, are 16 bits apart or more.
MAX_DISTANCE = 12

#: The hash is the sign of the 16 x 16 lowest DCT frequencies (less the mean) of a 32 x 32 gray
#: thumbnail, against their median: fine detail, compression noise and size drop out.
_THUMB, _FREQS = 32, 16

#: Hex digits kept of each face's SHA-1 in the records of older files.
DIGITS = 16

#: What ``--training-faces`` may say.
POLICIES = ("refuse", "leave-out", "keep")


def face_fingerprints(X):
    """A perceptual hash of each input's decoded image (64 hex digits), ``""`` where there is none.

    The pixels, not the path nor the bytes: the same face copied, moved,
    re-encoded or resized is still recognised (compare with
    :func:`seen_before`, which allows :data:`MAX_DISTANCE` differing bits),
    and another face under the same name is not mistaken for it. Arrays are
    hashed by their pixels like the files they were read from. An input that
    cannot be read, or a featureless (uniform) image, gets ``""``: it cannot
    have trained anything.
    """
    from PIL import Image
    from scipy.fft import dctn

    from ..io import ImageReadError, read_image

    out = []
    for item in X:
        try:
            rgb = read_image(item) if isinstance(item, (str, os.PathLike, np.ndarray)) else None
        except ImageReadError:
            rgb = None
        if rgb is None or rgb.min() == rgb.max():
            out.append("")
            continue
        gray = Image.fromarray(rgb).convert("L").resize((_THUMB, _THUMB), Image.Resampling.BOX)
        freqs = dctn(np.asarray(gray, dtype=np.float64), norm="ortho")[:_FREQS, :_FREQS].ravel()[1:]
        out.append(np.packbits(freqs > np.median(freqs)).tobytes().hex())
    return np.array(out, dtype="<U64")


def _byte_fingerprints(X):
    """A short SHA-1 of each input's bytes, ``""`` for a file that cannot be read: the records of older files."""
    out = []
    for item in X:
        if isinstance(item, np.ndarray) and item.dtype != object:
            data = np.ascontiguousarray(item).tobytes()
        elif isinstance(item, (bytes, bytearray)):
            data = bytes(item)
        else:
            try:
                with open(os.fspath(item), "rb") as f:
                    data = f.read()
            except (OSError, TypeError, ValueError):  # missing or not a path: it cannot have trained anything
                out.append("")
                continue
        out.append(hashlib.sha1(data).hexdigest()[:DIGITS])
    return np.array(out, dtype=f"<U{DIGITS}")


def _bits(prints):
    """Fingerprints as rows of uint64 words, for Hamming distances."""
    raw = np.frombuffer(bytes.fromhex("".join(prints)), dtype=np.uint8).reshape(len(prints), -1)
    padded = np.zeros((len(prints), -(-raw.shape[1] // 8) * 8), dtype=np.uint8)
    padded[:, :raw.shape[1]] = raw
    return padded.view(np.uint64)


def seen_before(prints, recorded, max_distance=MAX_DISTANCE):
    """Mask of ``prints`` within ``max_distance`` bits of any of the ``recorded`` fingerprints (``""``: never)."""
    prints = np.asarray(prints, dtype=str)
    seen = np.zeros(len(prints), dtype=bool)
    known = [r for r in recorded if r]
    have = np.flatnonzero(prints != "")
    if not known or not len(have):
        return seen
    queries, records = _bits(prints[have]), _bits(known).T.copy()
    for start in range(0, len(have), 128):  # 128 x all records at a time: bounded memory (2 MB for 15,000)
        block = queries[start:start + 128]
        # word by word into uint8 counts (at most 192): ten times faster than one 3-d XOR
        distance = np.bitwise_count(block[:, 0, None] ^ records[0][None, :])
        for word in range(1, len(records)):
            distance += np.bitwise_count(block[:, word, None] ^ records[word][None, :])
        seen[have[start:start + 128]] = distance.min(axis=1) <= max_distance
    return seen


def training_record(X):
    """The ``info`` entries ``skage fit`` saves for its training inputs ``X``: their sorted fingerprints."""
    prints = face_fingerprints(X)
    return {"training_faces": sorted(set(prints[prints != ""].tolist())), "training_faces_hash": HASH}


#: The ``info`` keys of the record, which a recalibrated model carries over.
RECORD_KEYS = ("training_faces", "training_faces_hash")


def add_training_faces_option(p):
    """``--training-faces``: what a command does with faces that trained the model."""
    p.add_argument("--training-faces", choices=POLICIES, default="refuse",
                   help="faces of --data that trained the model (recorded by skage fit) make scores optimistic "
                        "and intervals too narrow: refuse (default, exit 2), leave-out (use the others) or keep "
                        "(with a warning)")


def unseen_faces(X, info, data, policy, names=None):
    """Mask of the inputs of ``X`` the model may be scored or calibrated on, per ``policy``.

    Parameters
    ----------
    X : sequence of inputs
    info : dict
        The model file's info (``load_model(..., return_info=True)``).
    data : str
        The dataset spec, for messages.
    policy : {"refuse", "leave-out", "keep"}
    names : sequence of str, optional
        How to name the inputs in messages (default: ``str`` of each).

    Raises
    ------
    CLIError
        With ``"refuse"``, when some faces trained the model, naming the first
        few; with ``"leave-out"``, when no face is left.
    """
    keep = np.ones(len(X), dtype=bool)
    recorded = info.get("training_faces")
    if recorded is None:  # files of older versions, or saved by save_model without the record
        if info.get("data") is not None and info.get("data") == data:
            print(f"WARNING: the model was trained on {data}, and its file does not record which faces "
                  "(saved before skage recorded them): faces it trained on would give optimistic scores and "
                  "too narrow intervals. Use a separate data set, or refit with `skage fit --calibrate`",
                  file=sys.stderr)
        return keep
    if info.get("training_faces_hash") == HASH:
        try:
            seen = seen_before(face_fingerprints(X), recorded)
        except (TypeError, ValueError):
            raise CLIError("the model file's record of its training faces is malformed: it cannot be checked") \
                from None
    else:  # recorded before skage hashed pixels: the files' bytes
        prints = _byte_fingerprints(X)
        seen = np.isin(prints, np.asarray(recorded, dtype=prints.dtype)) & (prints != "")
    if not seen.any():
        return keep
    names = [str(x) for x in X] if names is None else list(names)
    first = ", ".join(names[i] for i in np.flatnonzero(seen)[:3])
    message = f"{seen.sum()} of {len(X)} faces of {data} trained this model (first: {first})"
    if policy == "refuse":
        raise CLIError(f"{message}: scores on them are optimistic and intervals calibrated on them too narrow. "
                       "Use faces the model has not seen (`skage fit --calibrate 0.2` keeps a share apart "
                       "for the intervals), or pass --training-faces leave-out (or keep)")
    if policy == "leave-out":
        if seen.all():
            raise CLIError(f"{message}: no face of {data} is left once they are left out")
        print(f"note: {message}; they are left out, {(~seen).sum()} remain", file=sys.stderr)
        return ~seen
    print(f"WARNING: {message}; kept (--training-faces keep): scores on them are optimistic and intervals "
          "calibrated on them too narrow", file=sys.stderr)
    return keep


def only_unseen(args, model_info, X, y, meta):
    """``X, y, meta`` less the faces that trained the model, per ``--training-faces`` (or an error)."""
    keep = unseen_faces(X, model_info, args.data, args.training_faces)
    if keep.all():
        return X, y, meta
    return X[keep], y[keep], meta[keep].reset_index(drop=True)
