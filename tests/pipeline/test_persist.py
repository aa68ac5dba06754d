import joblib
import pytest
from sklearn.linear_model import Ridge

import skage
from skage.pipeline import ModelFileError, load_model, save_model


def test_round_trip_keeps_predictions_and_info(tmp_path):
    model = Ridge().fit([[0.0], [1.0]], [10.0, 20.0])
    save_model(model, tmp_path / "m.joblib", data="toy")
    loaded, info = load_model(tmp_path / "m.joblib", return_info=True)
    assert loaded.predict([[0.5]]).tolist() == model.predict([[0.5]]).tolist()
    assert info["data"] == "toy" and info["skage_version"] == skage.__version__


def test_plain_joblib_dump_is_accepted(tmp_path):
    joblib.dump(Ridge().fit([[0.0], [1.0]], [1.0, 2.0]), tmp_path / "plain.joblib")
    assert hasattr(load_model(tmp_path / "plain.joblib"), "predict")


def test_bad_model_files_get_clear_errors(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "missing.joblib")
    (tmp_path / "text.joblib").write_text("hello")
    with pytest.raises(ModelFileError, match="not a readable model file"):
        load_model(tmp_path / "text.joblib")
    joblib.dump({"format": "skage-model", "skage_version": "0.0.1", "estimator": Ridge()}, tmp_path / "old.joblib")
    with pytest.raises(ModelFileError, match="incompatible"):
        load_model(tmp_path / "old.joblib")
    joblib.dump([1, 2], tmp_path / "list.joblib")
    with pytest.raises(ModelFileError, match="does not hold a skage model"):
        load_model(tmp_path / "list.joblib")
