"""BiSeNetParser: random weights only (none ship); checks the plumbing and contract."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from skage.parsing import REGIONS

torch = pytest.importorskip("torch")
from skage.parsing import BiSeNetParser  # noqa: E402

CHIPS = np.random.default_rng(0).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)


def test_random_weights_warn_and_keep_the_output_contract():
    with pytest.warns(UserWarning, match="meaningless"):
        parser = BiSeNetParser(width=8, batch_size=2).fit(CHIPS)
    out = parser.transform(CHIPS)
    assert out.shape == (3, 32, 32, 3 + len(REGIONS)) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., :3], CHIPS)
    probs = parser.predict_proba(CHIPS)
    np.testing.assert_allclose(probs.sum(axis=-1), 1, atol=1e-5)
    assert parser.regions_ == REGIONS and parser.unmapped_regions_ == ()


def test_weights_round_trip_and_label_map(tmp_path):
    label_map = {1: "skin", 2: ["brows"], 3: "eyes", 4: "mouth"}  # a CelebAMask-style subset
    with pytest.warns(UserWarning):
        source = BiSeNetParser(width=8, label_map=label_map, input_size=64, random_state=3).fit(CHIPS)
    path = tmp_path / "bisenet.pt"
    torch.save(source.module_.state_dict(), path)
    with pytest.warns(UserWarning, match="no label maps to") as record:
        loaded = BiSeNetParser(weights_path=path, width=8, label_map=label_map, input_size=64).fit(CHIPS)
    assert not any("meaningless" in str(w.message) for w in record)
    out = loaded.transform(CHIPS)
    np.testing.assert_array_equal(out, source.transform(CHIPS))
    assert "forehead" in loaded.unmapped_regions_ and not out[..., 3 + REGIONS.index("forehead")].any()
    probs = loaded.predict_proba(CHIPS)
    expected = np.round(probs[..., 0 + 1] * 255).astype(int)  # label 1 alone makes "skin"
    assert np.abs(out[..., 3 + REGIONS.index("skin")].astype(int) - expected).max() <= 1


def test_bad_label_map_and_pickle():
    with pytest.raises(ValueError, match="unknown region 'hair'"):
        BiSeNetParser(width=8, label_map={1: "hair"}).fit(CHIPS)
    with pytest.warns(UserWarning):
        parser = BiSeNetParser(width=8).fit(CHIPS)
    assert clone(parser).get_params()["width"] == 8
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(parser)).transform(CHIPS), parser.transform(CHIPS))
