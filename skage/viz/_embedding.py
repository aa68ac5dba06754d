"""t-SNE map of learned embeddings, coloured by age."""

import numpy as np

from ..metrics import check_ages
from ._common import fill_doc, new_axes, save_figure

#: Below this many points t-SNE's default perplexity (30) is impossible; it is lowered.
_DEFAULT_PERPLEXITY = 30.0


@fill_doc
def plot_embedding_tsne(embeddings, ages, path=None, random_state=0, max_points=2000, ax=None, max_iter=1000):
    """2-d t-SNE of embeddings (after PCA to at most 50 dimensions), coloured by age.

    Parameters
    ----------
    embeddings : array-like of shape (n_samples, n_features)
        One feature vector per face, e.g. a network's penultimate layer.
    ages : array-like of shape (n_samples,)
        Age in years of each face, used for the colour.
    {path}
    random_state : int, default=0
        Seed of the subsample, the PCA and t-SNE.
    max_points : int, default=2000
        Above this many samples, a seeded random subset of this size is shown
        (the title says so); t-SNE is quadratic-ish in time.
    {ax}
    max_iter : int, default=1000
        t-SNE optimisation steps (at least 250); fewer is faster and rougher.

    {returns_fig}

    Notes
    -----
    The perplexity is 30, or ``(n_points - 1) / 3`` when there are fewer than
    91 points, since t-SNE needs it below the number of points.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.viz import plot_embedding_tsne
    >>> rng = np.random.default_rng(0)
    >>> fig = plot_embedding_tsne(rng.normal(size=(20, 8)), rng.uniform(0, 80, 20), max_iter=250)
    >>> fig.axes[1].get_ylabel()
    'age (years)'
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    X = np.asarray(embeddings, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"embeddings must be 2-d (n_samples, n_features), got shape {X.shape}")
    ages = check_ages(ages, name="ages")
    if len(ages) != len(X):
        raise ValueError(f"embeddings has {len(X)} rows but ages has {len(ages)}")
    if len(X) < 2:
        raise ValueError(f"t-SNE needs at least 2 embeddings, got {len(X)}")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ValueError(f"embeddings has {bad.sum()} row(s) with NaN or infinite values, "
                         f"first at index {int(np.flatnonzero(bad)[0])}")
    if not isinstance(max_points, (int, np.integer)) or max_points < 2:
        raise ValueError(f"max_points must be an integer >= 2, got {max_points!r}")

    n_total = len(X)
    if n_total > max_points:
        keep = np.sort(np.random.default_rng(random_state).choice(n_total, max_points, replace=False))
        X, ages = X[keep], ages[keep]
    n = len(X)

    n_dims = min(50, n, X.shape[1])
    if X.shape[1] > n_dims:
        X = PCA(n_components=n_dims, random_state=random_state).fit_transform(X)
    perplexity = min(_DEFAULT_PERPLEXITY, max((n - 1) / 3, 1.0))
    # t-SNE's PCA initialisation needs two input dimensions.
    init = "pca" if X.shape[1] >= 2 else "random"
    xy = TSNE(perplexity=perplexity, init=init, max_iter=max_iter, random_state=random_state).fit_transform(X)

    fig, ax = new_axes(ax, figsize=(7, 6))
    points = ax.scatter(xy[:, 0], xy[:, 1], c=ages, cmap="viridis", s=10 if n > 500 else 20,
                        alpha=0.8, edgecolors="none")
    fig.colorbar(points, ax=ax, label="age (years)")
    shown = f"{n} of {n_total} faces, seeded subsample" if n < n_total else f"{n} faces"
    ax.set_title(f"t-SNE of embeddings coloured by true age\n({shown}; perplexity {perplexity:.3g})")
    ax.set_xlabel("t-SNE 1 (no units)")
    ax.set_ylabel("t-SNE 2 (no units)")
    ax.set_xticks([])
    ax.set_yticks([])
    return save_figure(fig, path)
