"""StackedAgeRegressor: both pretrained networks' tops trained on cached activations, combined out of fold."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, _fit_context, clone
from sklearn.model_selection import KFold
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval

from .._dlib_networks import CHIP_SIZE
from .._params import check_fitted
from ..metrics import check_ages
from ._kind import KIND_NAMES, photo_kind

#: The shipped age network's own age: a column the combiner always sees (as trained on ~110k varied faces).
SHIPPED = "shipped_age"


def default_members(random_state=None):
    """The two tops the recipe trains: the CC0 age network's (distilled from itself) and dlib's face ResNet's.

    Examples
    --------
    >>> from skage.stacking import default_members
    >>> [(name, member.lr) for name, member in default_members(random_state=0)]
    [('age_network', 0.0003), ('face_network', 0.001)]
    """
    from ..nn import AgeNetworkTop, FaceNetworkTop, TopBlockRegressor

    return [("age_network", TopBlockRegressor(AgeNetworkTop, lr=3e-4, distill=1.0, random_state=random_state)),
            ("face_network", TopBlockRegressor(FaceNetworkTop, lr=1e-3, random_state=random_state))]


def default_combiner(random_state=None, end_correction=0.3):
    """Boosted trees (absolute error, 300 of depth 3) on the out-of-fold table, their pull to the middle partly undone.

    The trees learn whom to believe on which photo; :class:`skage.refine.AgeBiasCorrector` measures
    the combined ages' remaining pull toward the middle ages on 5 folds of the table and undoes
    ``end_correction`` of it. On the seed-0 dev split (benchmarks/results/stacked_cpu.md) 0.2 and 0.35
    took the 61+ bin's mean signed error from -5.6 to -4.2 and -3.2 years, FG-NET's children 0-9 from
    3.0 to 2.5 and 2.4, for +0.10 and +0.22 UTKFace MAE: 0.3 is between them.

    Examples
    --------
    >>> from skage.stacking import default_combiner
    >>> combiner = default_combiner(random_state=0)
    >>> type(combiner.estimator).__name__, combiner.strength
    ('GradientBoostingRegressor', 0.3)
    """
    from sklearn.ensemble import GradientBoostingRegressor

    from ..refine import AgeBiasCorrector

    trees = GradientBoostingRegressor(loss="absolute_error", n_estimators=300, max_depth=3, learning_rate=0.05,
                                      subsample=0.8, random_state=random_state)
    return AgeBiasCorrector(trees, strength=end_correction, cv=5, random_state=random_state)


class StackedAgeRegressor(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Ages from both pretrained dlib networks, their tops trained on the user's faces, combined out of fold.

    One recipe for every kind of photo. Each 150-px dlib chip (and, at fit,
    a degraded copy of it, :class:`skage.augment.DegradedCopies`) goes once
    through the frozen lower stages of dlib's face ResNet and of the CC0
    age network (its 64-px chip cut from the same chip,
    :func:`skage.nn.trunk_activations`), mirror images too. The members,
    :class:`skage.nn.TopBlockRegressor` s, train the networks' last stages
    on those activations. A combiner (``final_estimator``) learns the age
    from the members' **out-of-fold** ages (``cv`` folds of faces, a face's
    degraded copy in its fold), the shipped age network's own age, how
    much they disagree, and what kind of photo it is
    (:func:`photo_kind`: gray, soft, low contrast): which member to believe
    on which photo, learnt on faces none of them trained on. Rare ages
    weigh more in the combiner's fit (``balance``) and the default
    combiner undoes part of the remaining pull toward the middle ages
    (:func:`default_combiner`), so that children and the old are not read
    as the middle-aged.

    Parameters
    ----------
    members : list of (str, estimator), default=None
        Estimators on one network's activations (``X`` a dict as
        :func:`skage.nn.trunk_activations` gives, chosen by the module's
        ``trunk``); None: :func:`default_members`, the age network's top
        (``distill=1``) and the face ResNet's.
    final_estimator : regressor, default=None
        Fitted on the out-of-fold table; None: :func:`default_combiner`.
    cv : int, default=5
        Folds of the out-of-fold ages (each member is trained ``cv + 1`` times).
    degrade : float or None, default=1.0
        Degraded copies per training chip; None: none.
    flip : bool, default=True
        Train on mirror images too and average each face's ages over the
        chip and its mirror image.
    balance : float in [0, 1], default=0.5
        How far the combiner's sample weights go toward every age bin
        weighing the same: each face weighs ``w ** balance``, ``w`` the
        weight that makes the bins equal (0: every face alike).
    batch_size : int, default=128
        Chips per forward pass of the frozen stages.
    device : str, default="cpu"
        Torch device of the frozen stages (the members have their own).
    random_state : int, RandomState instance or None, default=None
        Seeds the degraded copies, the folds and the default combiner
        (members: their own).
    verbose : int, default=0
        Progress lines (members and folds) on stderr.

    Attributes
    ----------
    members_ : list of (str, estimator)
        The members refitted on all training faces.
    final_estimator_ : regressor
    feature_names_ : list of str
        Columns of the combiner's table.
    oof_ages_ : ndarray of shape (n_rows, n_columns)
        The out-of-fold table the combiner was fitted on (originals first,
        then the degraded copies).

    See Also
    --------
    skage.pipeline.make_stacked_pipeline : this model behind the chip front-end.

    Examples
    --------
    >>> from skage.stacking import StackedAgeRegressor
    >>> model = StackedAgeRegressor(cv=5, random_state=0)
    >>> model.get_params()["cv"]
    5
    """

    _parameter_constraints = {
        "members": [list, None],
        "final_estimator": [HasMethods(["fit", "predict"]), None],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "degrade": [Interval(Real, 0, None, closed="neither"), None],
        "flip": ["boolean"],
        "balance": [Interval(Real, 0, 1, closed="both")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, members=None, final_estimator=None, cv=5, degrade=1.0, flip=True, balance=0.5, batch_size=128,
                 device="cpu", random_state=None, verbose=0):
        self.members = members
        self.final_estimator = final_estimator
        self.cv = cv
        self.degrade = degrade
        self.flip = flip
        self.balance = balance
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Train the members out of fold, the combiner on their ages, then the members on every face.

        Parameters
        ----------
        X : ndarray of shape (N, 150, 150, C), uint8
            dlib's 150-px face chips (``FaceAligner(geometry="dlib", landmarks=5)``).
        y : array-like of shape (N,)
            Ages.

        Returns
        -------
        self : StackedAgeRegressor
        """
        from ..augment import DegradedCopies

        chips = _check_chips(X)
        y = check_ages(y)
        if len(chips) != len(y):
            raise ValueError(f"X has {len(chips)} chips but y has {len(y)} ages")
        if len(chips) < self.cv:
            raise ValueError(f"StackedAgeRegressor needs at least cv={self.cv} faces, got {len(chips)}")
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        source = np.arange(len(chips))
        if self.degrade:
            copies = DegradedCopies(n_copies=self.degrade, random_state=seed)
            chips, y = copies.fit_resample(chips, y)
            source = copies.sample_indices_
        inputs = self._activations(chips)
        del chips  # the copies (as large as the chips) are not needed once their activations are
        members = default_members(random_state=seed) if self.members is None else self.members
        self.feature_names_ = [name for name, _ in members] + [SHIPPED, "spread", *KIND_NAMES]
        table = np.full((len(y), len(members)), np.nan)
        for k, test in enumerate(face_folds(source, self.cv, seed)):
            for j, (name, member) in enumerate(members):
                self._log(f"fold {k + 1}/{self.cv}: {name}")
                fitted = clone(member).fit(*self._rows(inputs, member, np.flatnonzero(~test), y))
                table[test, j] = self._member_ages(fitted, inputs, np.flatnonzero(test))
        self.oof_ages_ = self._table(table, inputs)
        self.final_estimator_ = clone(self.final_estimator if self.final_estimator is not None
                                      else default_combiner(seed))
        self.final_estimator_.fit(self.oof_ages_, y, sample_weight=_bin_weights(y) ** self.balance)
        self.members_ = []
        for name, member in members:
            self._log(f"all faces: {name}")
            self.members_.append((name, clone(member).fit(*self._rows(inputs, member, np.arange(len(y)), y))))
        return self

    # ------------------------------------------------------------ predict

    def predict(self, X):
        """The combined age of each chip; NaN for blank chips (no face found).

        Parameters
        ----------
        X : ndarray of shape (N, 150, 150, C), uint8

        Returns
        -------
        ages : ndarray of shape (N,)
        """
        check_fitted(self, "final_estimator_")
        chips = _check_chips(X)
        ages = np.full(len(chips), np.nan)
        face = chips.reshape(len(chips), -1).max(1) > 0
        if face.any():
            ages[face] = np.maximum(self.final_estimator_.predict(self._fitted_table(chips[face])), 0)
        return ages

    def member_ages(self, X):
        """Each member's age and the shipped network's, side by side (columns: ``feature_names_[:n + 1]``)."""
        check_fitted(self, "final_estimator_")
        return self._fitted_table(_check_chips(X))[:, :len(self.members_) + 1]

    # ------------------------------------------------------------ helpers

    def _activations(self, chips):
        from ..nn import trunk_activations

        views = [trunk_activations(chips, batch_size=self.batch_size, device=self.device)]
        if self.flip:
            views.append(trunk_activations(chips, flip=True, batch_size=self.batch_size, device=self.device))
        return {"views": views, "kind": photo_kind(chips)}

    def _fitted_table(self, chips):
        """The combiner's table for ``chips``, from the members fitted on every training face."""
        inputs = self._activations(chips)
        rows = np.arange(len(chips))
        return self._table(np.column_stack([self._member_ages(m, inputs, rows) for _, m in self.members_]), inputs)

    def _rows(self, inputs, member, rows, y):
        """A member's training input: the rows' activations in every view, and their ages."""
        trunk = _trunk_of(member)
        parts = [{key: value[rows] for key, value in view[trunk].items()} for view in inputs["views"]]
        X = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        return X, np.tile(y[rows], len(parts))

    def _member_ages(self, member, inputs, rows):
        trunk = _trunk_of(member)
        return np.mean([member.predict({key: value[rows] for key, value in view[trunk].items()})
                        for view in inputs["views"]], axis=0)

    def _table(self, member_ages, inputs):
        shipped = np.mean([_shipped_age(view["age"]["teacher"]) for view in inputs["views"]], axis=0)
        ages = np.column_stack([member_ages, shipped])
        return np.column_stack([ages, ages.std(axis=1), inputs["kind"]])

    def _log(self, message):
        if self.verbose:
            import sys

            print(f"[StackedAgeRegressor] {message}", file=sys.stderr, flush=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True  # chips: (N, H, W, C)
        return tags


def face_folds(source, cv, seed):
    """Held-out row masks, by face: a degraded copy (``source``: the face a row is of) stays in its face's fold.

    A member that trained on a face's copy would predict the face itself too well, and the
    combiner would learn to trust it more than it deserves on new faces.
    """
    faces = np.unique(source)
    for _, held in KFold(cv, shuffle=True, random_state=seed).split(faces):
        yield np.isin(source, faces[held])


def _check_chips(X):
    chips = np.asarray(X)
    if chips.dtype != np.uint8 or chips.ndim != 4 or chips.shape[1:3] != (CHIP_SIZE, CHIP_SIZE) \
            or chips.shape[3] < 3:
        raise ValueError(f"StackedAgeRegressor takes dlib's {CHIP_SIZE}-px face chips, uint8 of shape "
                         f"(N, {CHIP_SIZE}, {CHIP_SIZE}, 3); got dtype {chips.dtype} and shape {chips.shape}. "
                         "Make them with FaceAligner(geometry='dlib', landmarks=5)")
    return chips


def _trunk_of(member):
    module = getattr(member, "module", None)
    trunk = getattr(module, "trunk", None)
    if trunk is None:
        raise ValueError(f"a member must read one network's activations: its module needs a 'trunk' attribute "
                         f"('face' or 'age'), got {type(member).__name__} with module {module!r}")
    return trunk


def _shipped_age(logits):
    from ..nn._cydral import CLASS_AGES

    logits = np.asarray(logits, np.float64)
    p = np.exp(logits - logits.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)) @ np.asarray(CLASS_AGES, np.float64)


def _bin_weights(y):
    """Every age bin weighing the same in total (the bias corrector's weights), scaled to mean 1."""
    from ..refine._debias import _bin_balanced_weights

    weights = _bin_balanced_weights(y)
    return weights / weights.mean()
