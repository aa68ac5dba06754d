"""``skage audit`` and ``skage calibrate``, and the interval columns of ``skage predict``."""

import sys

import numpy as np

from ._common import CLIError, _add_command, _add_data, _add_model, _load_data, _load_model, _predict
from ._overlap import RECORD_KEYS, add_training_faces_option, only_unseen

#: Group columns of the datasets' metadata that the audit disaggregates by.
GROUP_COLUMNS = ("gender", "race")


def add_parsers(sub):
    """Register ``audit`` and ``calibrate`` on the sub-command parsers of ``skage``."""
    p = _add_command(sub, "audit", cmd_audit,
                     "fairness audit: metrics by gender × race × age bin, with bootstrap intervals")
    _add_data_options(p)
    p.add_argument("--out", default="audit", help="folder for audit.md, audit_groups.csv, audit_faces.csv, "
                                                   "audit_heatmap.png (default: ./audit)")
    p.add_argument("--interval", type=float, default=0.9,
                   help="interval level for the coverage columns when the model is calibrated (default 0.9)")
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples for the 95%% intervals (0: none)")
    p.add_argument("--min-n", type=int, default=100,
                   help="groups with fewer faces get no confidence interval and are never named worst")

    p = _add_command(sub, "calibrate", cmd_calibrate, "add conformal age intervals to a saved model (held-out faces)")
    _add_data_options(p)
    p.add_argument("--by", choices=GROUP_COLUMNS,
                   help="also calibrate per group of this metadata column (needs the group at predict time)")
    p.add_argument("--out", required=True, help="calibrated model file to write")


def _add_data_options(p):
    _add_model(p)
    _add_data(p)
    add_training_faces_option(p)
    p.add_argument("--holdout", type=float, metavar="FRACTION",
                   help="use only the test part of train_test_split(test_size=FRACTION, random_state=--seed), "
                        "e.g. 0.3 for the faces a model fitted on the 70%% part has not seen")


def _data(args, model_info):
    """``X, y, groups`` of ``--data`` (its ``--holdout`` part when given), without the model's training faces
    (per ``--training-faces``); none of them a file the command writes."""
    from sklearn.model_selection import train_test_split

    X, y, meta = _load_data(args.data, args.limit, args.seed, writes=args)
    if args.holdout is not None:
        if not 0 < args.holdout < 1:
            raise CLIError(f"--holdout must be a fraction in (0, 1), got {args.holdout}")
        _, test = train_test_split(np.arange(len(y)), test_size=args.holdout, random_state=args.seed)
        X, y, meta = X[test], y[test], meta.iloc[test].reset_index(drop=True)
    X, y, meta = only_unseen(args, model_info, X, y, meta)
    groups = {g: meta[g].to_numpy(dtype=object) for g in GROUP_COLUMNS if g in meta and meta[g].notna().any()}
    return X, y, groups


def _check_level(level):
    if not 0 < level < 1:
        raise CLIError(f"--interval must be a coverage level in (0, 1), e.g. 0.9, got {level}")
    return 1 - level


def cmd_audit(args):
    from ..intervals import ConformalAgeRegressor
    from ..metrics import fairness_audit
    from ..viz import write_audit

    alpha = _check_level(args.interval)
    model, info = _load_model(args.model, args.quiet, args.trusted, return_info=True)
    X, y, groups = _data(args, info)
    y_pred = _predict(model, X, args.quiet)
    found = np.isfinite(y_pred)
    if not found.all():  # no face found: nothing to score; said, not hidden
        print(f"note: {(~found).sum()} of {len(y_pred)} faces got no age (no face found) and are left out of the "
              "audit", file=sys.stderr)
        X, y, y_pred = X[found], y[found], y_pred[found]
        groups = {g: labels[found] for g, labels in groups.items()}
    intervals = None
    if isinstance(model, ConformalAgeRegressor):
        intervals = _intervals(model, y_pred, alpha, _calibration_groups(model, info, groups))
    else:
        print("note: the model is not calibrated (skage calibrate), so the audit has no interval coverage",
              file=sys.stderr)
    audit = fairness_audit(y, y_pred, groups, intervals=intervals, alpha=alpha, min_n=args.min_n,
                           n_boot=args.n_boot, random_state=args.seed)
    paths = write_audit(audit, args.out)
    print(audit.to_markdown(max_rows=40))
    for name, path in paths.items():
        print(f"{name}: {path}")


def _calibration_groups(model, info, groups):
    """The labels of the column ``skage calibrate --by`` calibrated the model with (its file says which),
    or None: intervals then use the age-bin strata across groups."""
    if model.calibration_groups_ is None:
        return None
    column = info.get("by")
    if column is None or column not in groups:
        where = (f"{column!r} is not in the data" if column is not None
                 else "its file does not say by which column (calibrated outside skage calibrate --by)")
        print(f"note: the model was calibrated per group, but {where}: the coverage uses the age-bin strata "
              "across groups", file=sys.stderr)
        return None
    return groups[column]


def cmd_calibrate(args):
    from ..intervals import ConformalAgeRegressor
    from ..pipeline import save_model

    model, info = _load_model(args.model, args.quiet, args.trusted, return_info=True)
    if isinstance(model, ConformalAgeRegressor):
        model = model.estimator_  # recalibrate the wrapped model
    X, y, groups = _data(args, info)
    if args.by and args.by not in groups:
        raise CLIError(f"--by {args.by}: {args.data} has no {args.by} labels")
    if "training_faces" not in info:  # nothing to check against: say what the intervals rest on
        print("note: calibrate on faces the model was not trained on (see --holdout), or the intervals "
              "will be too narrow", file=sys.stderr)
    wrapped = ConformalAgeRegressor(model, prefit=True).fit(X, y, groups=groups.get(args.by) if args.by else None)
    # What the file says about training carries over, so the calibrated model is checked like the original.
    carried = {k: info[k] for k in ("data", "n_train", "options", *RECORD_KEYS) if k in info}
    path = save_model(wrapped, args.out, **carried, calibration_data=args.data, n_calibration=int(len(y)),
                      by=args.by)
    print(f"calibrated on {len(y)} faces; model saved to {path}")


def check_interval_model(model, level):
    """The ``alpha`` of ``skage predict --interval LEVEL``, once the model is known to give intervals;
    said before any photo is read."""
    from ..intervals import ConformalAgeRegressor

    alpha = _check_level(level)
    if not isinstance(model, ConformalAgeRegressor):
        raise CLIError("--interval needs a calibrated model: fit it with `skage fit ... --calibrate 0.2`, or run "
                       "`skage calibrate MODEL --data KIND:PATH --out calibrated.skage` on faces it was not "
                       "trained on")
    if model.calibration_groups_ is not None:
        print("note: the model was calibrated per group, but photos carry no group: intervals use the "
              "age-bin strata across groups", file=sys.stderr)
    return alpha


def add_interval_columns(table, model, alpha):
    """``age_low`` and ``age_high`` columns for the rows of ``skage predict`` that have an age (a table of
    them at a time, as they stream; ``alpha`` from :func:`check_interval_model`)."""
    table["age_low"], table["age_high"] = np.nan, np.nan
    has_age = table["age"].notna().to_numpy()
    if has_age.any():
        iv = _intervals(model, table.loc[has_age, "age"].to_numpy(float), alpha)
        table.loc[has_age, "age_low"], table.loc[has_age, "age_high"] = iv[:, 0], iv[:, 1]
    return table


def _intervals(model, ages, alpha, groups=None):
    """The calibrated model's intervals around ``ages``, without its warning that groups are missing:
    the callers say so in their own words."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="the model was calibrated with groups")
        return model.interval_from_predictions(ages, alpha=alpha, groups=groups)
