import pickle
import warnings

import numpy as np
import pytest
from imblearn.combine import SMOTEENN
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler, TomekLinks
from sklearn.base import BaseEstimator, RegressorMixin, clone

from skage.metrics import age_bin_indices, age_bin_labels
from skage.sampling import AgeBinResampler

# Most toy data sets here leave some default bins empty on purpose; that warning has its own test.
pytestmark = pytest.mark.filterwarnings("ignore:age bin.*no samples:UserWarning")


def _utk_ages(folder):
    paths = np.array(sorted(str(p) for p in folder.glob("*.jpg")), dtype=object)
    ages = np.array([float(p.rsplit("/", 1)[-1].split("_")[0]) for p in paths])
    return paths, ages


def _counts(y):
    return np.bincount(age_bin_indices(y), minlength=7)


@pytest.mark.parametrize("sampler", [None, RandomUnderSampler()])
@pytest.mark.parametrize("strategy", ["full", "sqrt"])
def test_bin_counts_match_strategy_on_real_utkface_ages(utkface_dir, sampler, strategy):
    paths, ages = _utk_ages(utkface_dir)
    before = _counts(ages)
    assert before.min() > 0  # all default bins are populated in UTKFace
    res = AgeBinResampler(sampler=sampler, sampling_strategy=strategy, random_state=0)
    paths_res, ages_res = res.fit_resample(paths, ages)

    anchor = before.max() if sampler is None else before.min()
    expected = np.full(7, anchor) if strategy == "full" else np.rint(np.sqrt(before * anchor)).astype(int)
    np.testing.assert_array_equal(_counts(ages_res), expected)
    assert res.target_counts_ == dict(zip(age_bin_labels(), expected.tolist()))
    # Each returned path still carries its own (continuous, original) age.
    parsed = np.array([float(p.rsplit("/", 1)[-1].split("_")[0]) for p in paths_res])
    np.testing.assert_array_equal(parsed, ages_res)
    assert isinstance(paths_res, np.ndarray) and len(paths_res) == len(ages_res)


def test_dict_strategy_by_label_and_index_on_real_ages(utkface_dir):
    paths, ages = _utk_ages(utkface_dir)
    before = _counts(ages)
    strategy = {"61+": int(before[6] * 2), 0: int(before[0] + 7)}
    paths_res, ages_res = AgeBinResampler(sampling_strategy=strategy, random_state=1).fit_resample(list(paths), ages)
    expected = before.copy()
    expected[6], expected[0] = strategy["61+"], strategy[0]
    np.testing.assert_array_equal(_counts(ages_res), expected)
    assert isinstance(paths_res, list)


def test_continuous_ages_survive_and_copies_are_marked():
    rng = np.random.default_rng(0)
    y = np.r_[rng.uniform(21, 31, 40), rng.uniform(61, 90, 5), rng.uniform(0, 11, 9)]
    X = np.c_[y, rng.normal(size=len(y))]
    res = AgeBinResampler(random_state=0)
    X_res, y_res = res.fit_resample(X, y)
    np.testing.assert_array_equal(y_res, y[res.sample_indices_])
    np.testing.assert_array_equal(X_res, X[res.sample_indices_])
    # First draws are the originals; every later draw of an index is a copy.
    assert res.is_copy_.sum() == len(y_res) - len(np.unique(res.sample_indices_))
    for j in np.flatnonzero(res.is_copy_):
        assert res.sample_indices_[j] in res.sample_indices_[:j]
    assert not res.is_synthetic_.any()
    assert len(y_res) == 3 * 40


def test_same_random_state_same_draws():
    y = np.r_[np.full(30, 25.0), np.full(4, 70.0)]
    X = np.arange(len(y), dtype=float).reshape(-1, 1)
    a = AgeBinResampler(random_state=3).fit(X, y).sample_indices_
    b = AgeBinResampler(random_state=3).fit(X, y).sample_indices_
    np.testing.assert_array_equal(a, b)


class _RecordingRegressor(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        self.n_fit_ = len(y)
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def test_pipeline_resamples_in_fit_only():
    y = np.r_[np.full(50, 30.0), np.full(5, 8.0)]
    X = np.arange(len(y), dtype=float).reshape(-1, 1)
    pipe = Pipeline([("balance", AgeBinResampler(random_state=0)), ("model", _RecordingRegressor())]).fit(X, y)
    assert pipe.named_steps["model"].n_fit_ == 100
    assert pipe.named_steps["model"].mean_ == pytest.approx(19.0)  # balanced: half 30, half 8
    assert pipe.predict(X).shape == (len(y),)


def test_image_arrays_with_mask_channels_get_jittered_copies():
    rng = np.random.default_rng(0)
    images = rng.integers(20, 230, size=(12, 8, 8, 5), dtype=np.uint8)  # RGB + 2 mask channels
    y = np.r_[np.full(9, 45.0), np.full(3, 5.0)]
    res = AgeBinResampler(random_state=0)
    X_res, y_res = res.fit_resample(images, y)
    assert X_res.shape == (18, 8, 8, 5) and X_res.dtype == np.uint8
    for j, i in enumerate(res.sample_indices_):
        orig, got = images[i], X_res[j]
        if not res.is_copy_[j]:
            np.testing.assert_array_equal(got, orig)
            continue
        flipped = not np.array_equal(got[..., 3:], orig[..., 3:])
        ref = orig[:, ::-1] if flipped else orig
        np.testing.assert_array_equal(got[..., 3:], ref[..., 3:])  # masks: flipped, never brightened
        ratio = got[..., :3].astype(float).sum() / ref[..., :3].astype(float).sum()
        assert 0.78 < ratio < 1.22 and abs(ratio - 1) > 0.03  # RGB brightness changed
    assert res.is_copy_.sum() == 6


def test_list_of_images_and_no_jitter():
    images = [np.full((6, 6, 3), 100 + i, dtype=np.uint8) for i in range(6)]
    y = np.array([30.0, 31, 32, 33, 5, 70])
    res = AgeBinResampler(jitter_copies=False, random_state=0)
    X_res, y_res = res.fit_resample(images, y)
    assert isinstance(X_res, list) and len(X_res) == 12
    for img, i in zip(X_res, res.sample_indices_):
        np.testing.assert_array_equal(img, images[i])


def test_smote_on_features_interpolates_ages_within_bins():
    rng = np.random.default_rng(0)
    y = np.r_[rng.uniform(21, 31, 60), rng.uniform(41, 51, 12), rng.uniform(61, 80, 8)]
    X = np.c_[y / 10 + rng.normal(scale=0.2, size=len(y)), rng.normal(size=len(y))].astype(np.float32)
    res = AgeBinResampler(sampler=SMOTE(k_neighbors=3), random_state=0)
    X_res, y_res = res.fit_resample(X, y)
    assert X_res.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(age_bin_indices(y_res))[[2, 4, 6]], [60, 60, 60])
    assert res.is_synthetic_.sum() == 100 and (res.sample_indices_[res.is_synthetic_] == -1).all()
    real = ~res.is_synthetic_
    np.testing.assert_array_equal(y_res[real], y[res.sample_indices_[real]])
    # Synthetic ages are new, continuous, and lie within the ages of their bin.
    syn = y_res[res.is_synthetic_]
    assert len(np.unique(syn)) == len(syn) and not np.isin(syn, y).any()
    for lo, hi in [(41, 51), (61, 80)]:
        in_bin = (syn >= lo) & (syn < hi)
        assert in_bin.any()
        assert syn[in_bin].min() >= y[(y >= lo) & (y < hi)].min() - 1e-9


def test_smoteenn_combination_and_cleaning_sampler_error():
    rng = np.random.default_rng(1)
    y = np.r_[rng.uniform(21, 31, 50), rng.uniform(61, 80, 10)]
    X = np.c_[y / 10 + rng.normal(scale=0.3, size=len(y)), rng.normal(size=len(y))]
    res = AgeBinResampler(sampler=SMOTEENN(smote=SMOTE(k_neighbors=3)), random_state=0)
    X_res, y_res = res.fit_resample(X, y)
    real = res.sample_indices_ >= 0
    np.testing.assert_array_equal(X_res[real], X[res.sample_indices_[real]])
    assert len(y_res) == len(X_res)
    with pytest.raises(ValueError, match="TomekLinks is a cleaning sampler"):
        AgeBinResampler(sampler=TomekLinks()).fit_resample(X, y)


def test_feature_samplers_on_images_raise_clear_error():
    images = np.zeros((10, 4, 4, 3), dtype=np.uint8)
    y = np.r_[np.full(7, 30.0), np.full(3, 5.0)]
    with pytest.raises(ValueError, match="SMOTE needs 2-d feature vectors, but X holds images"):
        AgeBinResampler(sampler=SMOTE()).fit_resample(images, y)
    with pytest.raises(ValueError, match="holds paths"):
        AgeBinResampler(sampler=RandomOverSampler(shrinkage=0.1)).fit_resample([f"{i}.jpg" for i in range(10)], y)


def test_empty_bin_is_skipped_with_warning_naming_it():
    y = np.r_[np.full(8, 5.0), np.full(2, 25.0), np.full(4, 70.0)]  # 11-20 and 31-60 empty
    X = np.arange(len(y), dtype=float).reshape(-1, 1)
    with pytest.warns(UserWarning, match=r"'11-20', '31-40', '41-50', '51-60'.*no samples"):
        X_res, y_res = AgeBinResampler(random_state=0).fit_resample(X, y)
    np.testing.assert_array_equal(_counts(y_res), [8, 0, 8, 0, 0, 0, 8])
    with pytest.raises(ValueError, match="'11-20', which has none"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        AgeBinResampler(sampling_strategy={"11-20": 3}).fit_resample(X, y)


def test_single_bin_returns_data_unchanged_with_warning():
    y = np.array([30.0, 22, 25.5, 29])
    X = np.arange(4, dtype=float).reshape(-1, 1)
    res = AgeBinResampler()
    with pytest.warns(UserWarning, match="all 4 ages fall in age bin '21-30'"):
        X_res, y_res = res.fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X)
    np.testing.assert_array_equal(y_res, y)
    assert not res.is_copy_.any()


@pytest.mark.parametrize("y, match", [([30.0, np.nan, 5.0], "NaN"), ([30.0, -1.0, 5.0], "negative"), ([], "y is empty")])
def test_bad_ages_raise(y, match):
    with pytest.raises(ValueError, match=match):
        AgeBinResampler().fit_resample(np.zeros((3, 2)), y)


@pytest.mark.parametrize("kwargs, match", [
    ({"sampling_strategy": "half"}, "'full', 'sqrt' or a dict"),
    ({"sampling_strategy": {"70-80": 5}}, "not an age bin"),
    ({"sampling_strategy": {9: 5}}, "neither a bin label"),
    ({"sampling_strategy": {"0-10": 1}}, "needs at least"),
    ({"sampling_strategy": {"0-10": 99}, "sampler": RandomUnderSampler()}, "needs at most"),
    ({"sampler": "ros"}, "imbalanced-learn sampler"),
])
def test_bad_parameters_name_themselves(kwargs, match):
    y = np.r_[np.full(6, 5.0), np.full(3, 40.0)]
    with pytest.raises((ValueError, TypeError), match=match):
        AgeBinResampler(**kwargs).fit_resample(np.zeros((9, 1)), y)
    with pytest.raises(ValueError, match="X has 9 samples but y has 2"):
        AgeBinResampler().fit_resample(np.zeros((9, 1)), y[:2])


def test_clone_params_and_pickle():
    res = AgeBinResampler(bins=(0, 20, 40), sampler=RandomUnderSampler(), sampling_strategy="sqrt", random_state=2)
    assert clone(res).get_params()["bins"] == (0, 20, 40)
    res.set_params(sampler__replacement=True)
    y = np.r_[np.full(10, 5.0), np.full(4, 30.0), np.full(2, 50.0)]
    X = np.arange(len(y), dtype=float).reshape(-1, 1)
    X_res, y_res = res.fit_resample(X, y)
    again = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(again.sample_indices_, res.sample_indices_)
    np.testing.assert_array_equal(clone(again).fit_resample(X, y)[1], y_res)
