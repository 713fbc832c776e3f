"""Training runs from a configuration: what ``numbagrad train``, ``compare``, ``evaluate`` and ``predict`` do.

* :mod:`~numbagrad.runs.config`: the settings, their defaults, TOML files and flags.
* :mod:`~numbagrad.runs.prepare`: data and network from a configuration.
* :mod:`~numbagrad.runs.training`: training, comparing optimizers, the run folder.
* :mod:`~numbagrad.runs.apply`: a saved model evaluated on, or predicting, new data.
* :mod:`~numbagrad.runs.folder`, :mod:`~numbagrad.runs.report`: files and figures.

The same runs are available from Python::

    from numbagrad import runs
    config = runs.resolve({"data": "iris", "epochs": "50"})
    folder = runs.train(config)
"""

from numbagrad.runs.apply import evaluate, predict
from numbagrad.runs.config import RunConfig, resolve
from numbagrad.runs.training import compare, train

__all__ = ["RunConfig", "resolve", "train", "compare", "evaluate", "predict"]
