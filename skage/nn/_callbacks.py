"""skorch callbacks of skage's networks."""

import sys
import time

from skorch.callbacks import Callback


def format_duration(seconds):
    """``"2 h 05 min"``, ``"14 min"`` or ``"40 s"``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


class TrainingTimeEstimate(Callback):
    """Print, after the first training batches, how long the whole fit will take.

    Training a ResNet from scratch on a CPU takes hours; a user should learn
    that after seconds, not after a silent hour. On a CPU the message also
    points to the descriptor model, which trains in minutes.

    Parameters
    ----------
    after_batches : int, default=5
        Training batches timed before the estimate (the first one, which pays
        for warm-up, is not timed).
    stream : file-like, default=None
        Where the line goes; ``sys.stderr`` when None.

    Attributes
    ----------
    estimate_s_ : float
        The estimated seconds for all epochs (set once printed).

    Examples
    --------
    >>> from skage.nn import TrainingTimeEstimate
    >>> TrainingTimeEstimate(after_batches=3).after_batches
    3
    """

    def __init__(self, after_batches=5, stream=None):
        self.after_batches = after_batches
        self.stream = stream

    def initialize(self):
        self.batches_per_epoch_ = None
        self.timed_ = 0
        self.start_ = None
        self.estimate_s_ = None
        return self

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.batches_per_epoch_ is None and dataset_train is not None:
            self.batches_per_epoch_ = -(-len(dataset_train) // net.batch_size)

    def on_batch_end(self, net, training=None, **kwargs):
        if not training or self.estimate_s_ is not None or not self.batches_per_epoch_:
            return
        if self.start_ is None:  # the first batch pays for warm-up: start the clock after it
            self.start_ = time.perf_counter()
            return
        self.timed_ += 1
        if self.timed_ < self.after_batches:
            return
        per_batch = (time.perf_counter() - self.start_) / self.timed_
        self.estimate_s_ = per_batch * self.batches_per_epoch_ * net.max_epochs
        device = str(getattr(net, "device", "cpu"))
        line = (f"estimated training time: {format_duration(self.estimate_s_)} ({net.max_epochs} epochs of "
                f"{self.batches_per_epoch_} batches at {per_batch:.2f} s per batch on {device})")
        if not device.startswith("cuda") and self.estimate_s_ > 1800:
            line += ("; on a CPU the descriptor model trains in minutes: "
                     "`skage fit --model descriptor` or make_age_pipeline(model='descriptor')")
        print(line, file=self.stream or sys.stderr, flush=True)
