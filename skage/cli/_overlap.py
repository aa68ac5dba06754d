"""Which faces trained a model: recorded by ``skage fit``, checked before a model is scored or calibrated.

A model scored on its own training faces looks better than it is, and conformal intervals calibrated
on them are too narrow for new faces. ``skage fit`` stores a short content hash of every training
face in the model file (``info["training_faces"]``); ``evaluate``, ``report``, ``audit`` and
``calibrate`` compare their faces with it before using them.
"""

import hashlib
import os
import sys

import numpy as np

from ._common import CLIError

#: Hex digits kept of each face's SHA-1: 64 bits, so two different faces share one by chance with
#: probability about 1e-10 even among a million training faces.
DIGITS = 16

#: What ``--training-faces`` may say.
POLICIES = ("refuse", "leave-out", "keep")


def face_fingerprints(X):
    """A short SHA-1 of each input's content, ``""`` for a file that cannot be read.

    The bytes of a file, not its path: the same face copied, linked or moved
    elsewhere is still recognised, and another face under the same name is not
    mistaken for it. Arrays are hashed by their pixels.
    """
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


def training_record(X):
    """The ``info`` entry ``skage fit`` saves for its training inputs ``X``: their sorted fingerprints."""
    prints = face_fingerprints(X)
    return {"training_faces": sorted(set(prints[prints != ""].tolist()))}


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
    prints = face_fingerprints(X)
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
