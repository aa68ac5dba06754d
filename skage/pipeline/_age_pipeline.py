"""``AgePipeline``: the imbalanced-learn ``Pipeline`` every builder returns."""

import inspect

import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted


class AgePipeline(Pipeline):
    """The pipeline skage's builders return: an imbalanced-learn ``Pipeline`` for image inputs.

    The same steps and parameters; two differences:

    - :meth:`predict`: no inputs give no ages (scikit-learn's steps, such as
      the descriptor model's ``StandardScaler``, refuse zero samples), so
      that a batch that happens to be empty needs no special case;
    - ``fit`` hands the age counts of the ``balance`` step
      (:class:`skage.sampling.AgeBinResampler`'s ``bin_counts_``, the ages
      *before* resampling) to a last step whose ``fit`` takes
      ``bin_counts`` (:class:`skage.nn.AgeNet`, also inside
      :class:`skage.refine.KNNAgeRefiner`): behind the resampler every bin is
      equally frequent, so class-balanced weights counted from the
      network's own input would all be 1.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.preprocessing import FunctionTransformer
    >>> from skage.io import ImageLoader
    >>> from skage.pipeline import AgePipeline
    >>> pipe = AgePipeline([("load", ImageLoader(image_size=8)),
    ...                     ("flatten", FunctionTransformer(lambda X: X.reshape(len(X), -1))),
    ...                     ("model", Ridge())])
    >>> X = np.random.default_rng(0).integers(0, 256, size=(4, 16, 16, 3), dtype=np.uint8)
    >>> pipe.fit(X, [20.0, 30.0, 40.0, 50.0]).predict(X).shape, pipe.predict([])
    ((4,), array([], dtype=float64))
    """

    def _fit(self, X, y=None, routed_params=None, raw_params=None):
        Xt, yt = super()._fit(X, y, routed_params, raw_params)
        # The samplers have run; imbalanced-learn fits the last step next, with routed_params.
        counts = self._bin_counts_for_last_step()
        if counts is not None:
            step = routed_params[self.steps[-1][0]]
            step["fit"] = {"bin_counts": counts, **step.get("fit", {})}  # one given by the caller wins
        return Xt, yt

    def _bin_counts_for_last_step(self):
        from ..refine import KNNAgeRefiner
        from ..sampling import AgeBinResampler

        balance = dict(self.steps[:-1]).get("balance")
        if not isinstance(balance, AgeBinResampler):  # switched off ("passthrough"), or not skage's
            return None
        learner = self.steps[-1][1]
        if isinstance(learner, KNNAgeRefiner):  # it hands its fit parameters to its estimator
            learner = learner.estimator
        fit = getattr(learner, "fit", None)
        return balance.bin_counts_ if fit and "bin_counts" in inspect.signature(fit).parameters else None

    def predict(self, X, **params):
        """Predict the age of each input; an empty ``X`` gives an empty array.

        Parameters
        ----------
        X : sequence of paths or arrays, or ndarray of shape (N, H, W[, C])
        **params
            Passed on as by :meth:`imblearn.pipeline.Pipeline.predict`.

        Returns
        -------
        ages : ndarray of shape (N,)
        """
        # len() only: the steps check what X holds (images, or features when the pipeline is sliced)
        if hasattr(X, "__len__") and not isinstance(X, (str, bytes)) and len(X) == 0:
            check_is_fitted(self)
            return np.empty(0)
        return super().predict(X, **params)
