"""``model="two_networks"``: the descriptor model trained on degraded chips, averaged with dlib's CC0 age network."""

#: The descriptor member's recipe (issue 22's protocol, benchmarks/results/cross_dataset_cpu.md):
#: one degraded copy per chip, which took FG-NET's MAE from 8.2 to 6.7 at the same UTKFace MAE,
#: and class-balanced sample weights instead of over-sampling, as accurate (5.03 vs 5.06 MAE) while
#: the SVR fits every face once rather than the ~2.3x rows over-sampling makes.
DEGRADE = 1.0


def two_networks(*, descriptor, age_network_weight, check):
    """``check`` then a VotingRegressor of ``descriptor`` and the pretrained age network.

    Parameters
    ----------
    descriptor : Pipeline
        The descriptor model after its input check (``align`` ... ``model``).
    age_network_weight : float
        The age network's share of the average (the descriptor gets the rest).
    check : DropUnreadable
    """
    from sklearn.ensemble import VotingRegressor
    from sklearn.frozen import FrozenEstimator

    from ._factory import AgePipeline
    from ._pretrained import pretrained_model

    align = descriptor.named_steps["align"]
    age_network = pretrained_model(detector=align.detector, n_jobs=align.n_jobs, memory=align.memory, device="cpu")
    age_network.set_params(align__on_failure=align.on_failure)  # both members treat a photo without a face alike
    # nothing to learn from the user's faces: frozen, so fitting the vote neither aligns the training
    # photos for it nor changes it
    members = [("descriptor", descriptor), ("age_network", FrozenEstimator(age_network[1:]))]
    vote = VotingRegressor(members, weights=[1 - age_network_weight, age_network_weight])
    return AgePipeline([("check", check), ("model", vote)])
