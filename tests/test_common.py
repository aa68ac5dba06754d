"""scikit-learn's common estimator checks for every skage estimator, plus the image-input contract.

scikit-learn runs its data checks on 2-d numeric tables. Estimators whose input is images (paths,
``(N, H, W[, C])`` pixel arrays, chips with mask channels) declare ``input_tags.two_d_array=False``
and scikit-learn then skips its data checks for them; they get the data-free API checks and
:func:`test_image_estimator_contract` (fit → transform/predict on images, never mutating the
estimator) instead.
"""

import warnings

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import Ridge
from sklearn.utils import get_tags
from sklearn.utils import estimator_checks as sk_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from skage.alignment import FaceAligner, HistogramEqualizer
from skage.augment import DegradedCopies
from skage.features import CydralAgeFeatures, CydralAgeRegressor, FaceDescriptor, HOGFeatures, LBPFeatures
from skage.io import ImageLoader
from skage.nn import AgeNet
from skage.parsing import BiSeNetParser, FaceParser
from skage.refine import AgeBiasCorrector, KNNAgeRefiner
from skage.sampling import AgeBinResampler, AgeBinWeightedRegressor, DropNoFace, DropUnreadable

TINY_NET = dict(backbone="resnet18", max_epochs=1, batch_size=4, verbose=0, random_state=0, device="cpu")


def _table_estimators():
    """Estimators on 2-d numeric tables: scikit-learn's full set of checks applies."""
    return [
        AgeBinResampler(random_state=0),
        AgeBinWeightedRegressor(Ridge()),
        KNNAgeRefiner(n_neighbors=3),  # KNN-only regressor on features
        KNNAgeRefiner(estimator=Ridge(), n_neighbors=3),  # searches the input features
        KNNAgeRefiner(estimator=PLSRegression(n_components=1), n_neighbors=3),  # a transformer regressor
        AgeBiasCorrector(Ridge(), cv=3, random_state=0),
    ]


def _image_estimators():
    """Estimators on images or chips, with an input that fits each."""
    return [
        ImageLoader(image_size=16),
        FaceAligner(output_size=32),
        HistogramEqualizer(),
        FaceParser(),
        BiSeNetParser(width=4),
        HOGFeatures(image_size=16),
        LBPFeatures(image_size=16),
        FaceDescriptor(),
        DropUnreadable(),
        DropNoFace(),
        DegradedCopies(random_state=0),
        AgeNet(attention=False, **TINY_NET),
        KNNAgeRefiner(estimator=AgeNet(attention=False, **TINY_NET), n_neighbors=2),
        *_age_network_estimators(),
    ]


def _age_network_estimators():
    """dlib's CC0 age network as a transformer and a regressor, where its wheel (the pretrained extra) is installed."""
    from skage.nn import PretrainedModelMissing
    from skage.nn._cydral import pretrained_files

    try:
        import onnx  # noqa: F401

        pretrained_files()
    except (ImportError, PretrainedModelMissing):
        return []
    return [CydralAgeFeatures(), CydralAgeRegressor(), _tiny_stack()]


def _tiny_stack():
    from skage.stacking import StackedAgeRegressor, default_members

    members = default_members(random_state=0)
    for _, member in members:
        member.set_params(max_epochs=1, batch_size=8)
    return StackedAgeRegressor(members=members, cv=2, random_state=0)


# Every deviation from scikit-learn's conventions, with the reason it is intended.
_Y_IS_AGES = {
    "check_requires_y_none": "skage.metrics.check_ages words its own error for y=None ('y must be 1-d ages')",
    "check_supervised_y_2d": "a (n, 1) column of ages is accepted as the 1-d ages it holds, without a warning",
}
_EXPECTED = {
    "AgeBinResampler": {
        **_Y_IS_AGES,
        # It only chooses rows and passes X through untouched: X may be file paths, images or any
        # objects, so it does not validate X's values or dimensions (the next step does).
        "check_complex_data": "X is passed through, never read: complex values are the next step's concern",
        "check_estimators_nan_inf": "X is passed through, never read: NaN features are the next step's concern",
        "check_fit1d": "a 1-d X is a list of file paths or images, which the resampler supports",
        "check_estimators_empty_data_messages": "an empty X passes through; y's checks report empty data",
    },
    "AgeBinWeightedRegressor": _Y_IS_AGES,
    "AgeBiasCorrector": _Y_IS_AGES,
    "KNNAgeRefiner": {
        **_Y_IS_AGES,
        # A NaN or infinite feature row (the descriptor of an unreadable image) gets a NaN age in
        # predict rather than failing the batch; fit still rejects NaN.
        "check_estimators_nan_inf": "NaN feature rows are predicted as NaN ages by design",
        "check_n_features_in_after_fitting": "skage's own wording: 'X has n features, but KNNAgeRefiner was "
                                             "fitted with m'",
    },
}


def _expected_failed_checks(estimator):
    expected = dict(_EXPECTED.get(type(estimator).__name__, {}))
    if isinstance(estimator, KNNAgeRefiner) and estimator.estimator is not None:
        # The wrapped estimator validates the input; KNN's own feature checks don't run first.
        expected.pop("check_n_features_in_after_fitting", None)
        if isinstance(estimator.estimator, PLSRegression):
            expected.pop("check_estimators_nan_inf", None)  # embeddings come from transform, which rejects NaN
    return expected


@parametrize_with_checks([*_table_estimators(), *_image_estimators()],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_common_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. "n_neighbors is more than the samples"
        check(estimator)


# ------------------------------------------------------------------ image estimators

_API_CHECKS = [
    sk_checks.check_estimator_repr,
    sk_checks.check_no_attributes_set_in_init,
    sk_checks.check_do_not_raise_errors_in_init_or_set_params,
    sk_checks.check_get_params_invariance,
    sk_checks.check_set_params,
    sk_checks.check_parameters_default_constructible,
    sk_checks.check_mixin_order,
    sk_checks.check_valid_tag_types,
]


def _id(estimator):
    inner = getattr(estimator, "estimator", None)
    return type(estimator).__name__ + (f"({type(inner).__name__})" if inner is not None else "")


@pytest.mark.parametrize("estimator", _image_estimators(), ids=_id)
def test_image_estimators_declare_image_input(estimator):
    tags = get_tags(estimator)
    assert not tags.input_tags.two_d_array
    assert tags.transformer_tags is not None or not hasattr(estimator, "transform")


_API_EXPECTED = {
    ("AgeNet", "check_no_attributes_set_in_init"):
        "skorch's NeuralNet.__init__ sets history_, initialized_ and virtual_params_",
    ("AgeNet", "check_set_params"):
        "skorch's get_params lists its private _params_to_validate set, which the check overwrites with numbers",
}


@pytest.mark.parametrize("check", _API_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator", _image_estimators(), ids=_id)
def test_image_estimators_api(estimator, check, request):
    """scikit-learn's data-free API checks, which it skips for non-tabular estimators."""
    reason = _API_EXPECTED.get((type(estimator).__name__, check.__name__))
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))
    check(type(estimator).__name__, clone(estimator))


def _images(estimator, rng):
    """A small batch of the input each image estimator takes, and ages."""
    y = rng.uniform(1, 80, size=8)
    if isinstance(estimator, FaceDescriptor) or type(estimator).__name__ == "StackedAgeRegressor":
        return rng.integers(0, 256, (4, 150, 150, 3), dtype=np.uint8), y[:4]
    if isinstance(estimator, (CydralAgeFeatures, CydralAgeRegressor)):
        return rng.integers(0, 256, (4, 64, 64, 3), dtype=np.uint8), y[:4]
    if isinstance(estimator, (AgeNet, KNNAgeRefiner)):
        return rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8), y[:4]
    if isinstance(estimator, (HistogramEqualizer, FaceParser, BiSeNetParser)):
        return rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8), y[:4]
    return rng.integers(0, 256, (4, 40, 48, 3), dtype=np.uint8), y[:4]


def _fingerprint(obj, depth=0):
    """A hash of an estimator's attributes; torch modules by their tensors, nested estimators recursively."""
    import torch

    if isinstance(obj, torch.nn.Module):
        return joblib.hash({k: v.detach().cpu().numpy() for k, v in obj.state_dict().items()})
    if isinstance(obj, torch.optim.Optimizer):
        return joblib.hash(repr(obj.state_dict()))
    if hasattr(obj, "get_params") and depth < 3:
        return {k: _fingerprint(v, depth + 1) for k, v in vars(obj).items()}
    if isinstance(obj, (list, tuple)):
        return [_fingerprint(v, depth + 1) for v in obj]
    try:
        return joblib.hash(obj)
    except Exception:
        return repr(obj)


@pytest.mark.parametrize("estimator", _image_estimators(), ids=_id)
def test_image_estimator_contract(estimator):
    """Fit on images; transform/predict keep the row count, repeat exactly, and never mutate the estimator."""
    X, y = _images(estimator, np.random.default_rng(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # random weights, empty age bins, tiny data
        if isinstance(estimator, (DropUnreadable, DropNoFace, DegradedCopies)):  # samplers: fit_resample only
            X_res, y_res = clone(estimator).fit_resample(X, y)
            assert len(X_res) == len(y_res) == len(X) * (2 if isinstance(estimator, DegradedCopies) else 1)
            return
        fitted = clone(estimator).fit(X, y)
        state = _fingerprint(fitted)
        methods = [m for m in ("transform", "predict") if hasattr(fitted, m)]
        for method in methods:
            first, second = getattr(fitted, method)(X), getattr(fitted, method)(X)
            assert len(first) == len(X)
            np.testing.assert_array_equal(first, second)
    assert methods and _fingerprint(fitted) == state, "transform/predict changed the estimator"


# ------------------------------------------------------------------ parameters (issue 31 item 8)

def _skage_estimator_classes():
    """Every public estimator class of skage: the scikit-learn estimators (skorch nets included) named in the
    subpackages' ``__all__``."""
    import importlib
    import inspect
    import pkgutil

    from sklearn.base import BaseEstimator
    from skorch import NeuralNet

    import skage

    found = {}
    for info in pkgutil.iter_modules(skage.__path__):
        if not info.ispkg or info.name == "cli":
            continue
        module = importlib.import_module(f"skage.{info.name}")
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if (inspect.isclass(obj) and issubclass(obj, (BaseEstimator, NeuralNet))
                    and obj.__module__.startswith("skage.")):
                found[f"{obj.__module__}.{obj.__name__}"] = obj
    expected = {"AgeNet", "AcceleratedAgeNet", "FaceAligner", "KNNAgeRefiner", "ConformalAgeRegressor",
                "FaceDescriptor", "DropUnreadable", "AgePipeline"}  # the walk itself must not miss them
    assert expected <= {cls.__name__ for cls in found.values()}
    return [found[k] for k in sorted(found)]


@pytest.mark.parametrize("cls", _skage_estimator_classes(), ids=lambda c: c.__name__)
def test_every_parameter_has_a_declared_constraint(cls):
    import inspect

    params = [p.name for p in inspect.signature(cls.__init__).parameters.values()
              if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    missing = sorted(set(params) - set(getattr(cls, "_parameter_constraints", {})))
    assert not missing, f"{cls.__name__}: no constraint for {missing}"


def test_parameters_set_after_fit_are_checked_where_they_are_used():
    """A loaded model's set_params: a bad value fails naming the parameter, at predict (main: KeyError 'nope',
    'negative dimensions are not allowed', or model__blend=5 giving another age silently)."""
    from sklearn.utils._param_validation import InvalidParameterError

    from skage.intervals import ConformalAgeRegressor
    from skage.pipeline import AgePipeline

    rng = np.random.default_rng(0)
    images, y = rng.integers(0, 256, (6, 40, 40, 3), dtype=np.uint8), rng.uniform(1, 80, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pipe = AgePipeline([("align", FaceAligner(detector="none", output_size=32)),
                            ("hog", HOGFeatures(image_size=16)), ("model", KNNAgeRefiner(n_neighbors=2))]).fit(images, y)
    pipe.predict(images)
    with pytest.raises(ValueError, match="Invalid parameter 'nope'"):
        pipe.set_params(nope=1)
    for params, name in (({"model__blend": 5}, "blend"), ({"align__detector": "nope"}, "detector"),
                         ({"align__output_size": -1}, "output_size"), ({"align__on_failure": "nope"}, "on_failure"),
                         ({"hog__image_size": 0}, "image_size")):
        old = {k: pipe.get_params()[k] for k in params}
        pipe.set_params(**params)
        with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
            pipe.predict(images)
        pipe.set_params(**old)
    X, ages = rng.uniform(0, 80, (300, 1)), rng.uniform(1, 80, 300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = ConformalAgeRegressor(Ridge(), random_state=0).fit(X, ages)
    model.set_params(condition="nope")
    with pytest.raises(InvalidParameterError, match="'condition' parameter"):
        model.predict_interval(X)
    describe = FaceDescriptor(engine="torch", layers=("layer4",)).fit(None).set_params(layers=("nope",))
    with pytest.raises(ValueError, match="layers must be distinct names"):  # main: KeyError 'nope'
        describe.transform(rng.integers(0, 256, (2, 150, 150, 3), dtype=np.uint8))
    chips = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    net = AgeNet(attention=False, **TINY_NET).fit(chips, y[:4]).set_params(batch_size=0)
    with pytest.raises(InvalidParameterError, match="'batch_size' parameter of AgeNet"):
        net.predict(chips)
