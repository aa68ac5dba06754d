"""TrainingTimeEstimate: the estimated fit time, printed after the first batches."""

import io

from skage.nn import AgeNet, TrainingTimeEstimate
from skage.nn._callbacks import format_duration


def test_estimate_is_printed_once_after_the_first_batches(make_chips, tiny):
    X, y = make_chips(n=16)
    stream = io.StringIO()
    estimate = TrainingTimeEstimate(after_batches=2, stream=stream)
    net = AgeNet(**dict(tiny, max_epochs=2, train_split=None), callbacks=[("eta", estimate)]).fit(X, y)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("estimated training time: ")
    assert "2 epochs of 4 batches" in lines[0] and "on cpu" in lines[0]
    fitted = dict(net.callbacks_)["eta"]
    assert fitted.estimate_s_ > 0 and fitted.batches_per_epoch_ == 4


def test_format_duration():
    assert [format_duration(s) for s in (40, 840, 7500)] == ["40 s", "14 min", "2 h 05 min"]
