"""Train once, save, reload in a later session and predict.

    .venv/bin/python examples/reuse_saved_model.py [--model /tmp/skage-model.skage]

Trains a tiny pipeline on synthetic faces when the model file does not exist yet, then reloads it
and checks that the reloaded pipeline predicts exactly what the trained one did.
"""

import argparse
from pathlib import Path

import joblib
import numpy as np

from skage.datasets import make_synthetic_faces
from skage.pipeline import load_model, make_age_pipeline, save_model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="/tmp/skage-model.skage")
    args = parser.parse_args()
    faces = make_synthetic_faces(n_samples=120, image_size=48, random_state=0)
    train, test = slice(0, 100), slice(100, None)

    if not Path(args.model).exists():
        pipe = make_age_pipeline(image_size=48, max_epochs=3, batch_size=16, align=False, random_state=0,
                                 verbose=0, net_params={"backbone": "resnet18"})
        pipe.fit(faces.images[train], faces.y[train])
        save_model(pipe, args.model, note="synthetic demo")  # data (skops + safetensors), not a pickle
        np.save(Path(args.model).with_suffix(".expected.npy"), pipe.predict(faces.images[test]))
        print(f"trained and saved {args.model}")

    pipe, info = load_model(args.model, return_info=True)
    ages = pipe.predict(faces.images[test])
    print(f"loaded a model saved by skage {info['skage_version']} on {info['saved']}")
    for true, pred in list(zip(faces.y[test], ages))[:5]:
        print(f"true {true:5.1f}  predicted {pred:5.1f}")
    expected = Path(args.model).with_suffix(".expected.npy")
    if expected.exists():
        assert np.array_equal(np.load(expected), ages), "reloaded model predicts differently"
        print("reloaded predictions are identical to the trained pipeline's")
    # A joblib pickle works too, but unpickling can run code: load_model reads it only when trusted.
    pickled = Path(args.model).with_suffix(".joblib")
    joblib.dump(pipe, pickled)
    assert np.array_equal(load_model(pickled, trusted=True).predict(faces.images[test]), ages)


if __name__ == "__main__":
    main()
