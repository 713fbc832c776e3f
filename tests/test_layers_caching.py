"""Activation, loss and metric kernels and their drivers load from Numba's cache in a new process."""

from __future__ import annotations

import json
import textwrap

from test_caching import _run

RUN_EACH_KIND = textwrap.dedent(
    """
    import json, numpy as np
    import numbagrad
    import numbagrad.autodiff as ad
    from numbagrad import activations, losses, metrics
    from numbagrad.kernels.cpu import activations as a, calls, losses as l, metrics as m
    x = np.ones((3, 4), np.float32)
    gelu = activations.get("gelu")
    gelu.backward(x, gelu.forward(x), x)
    losses.get("categorical_crossentropy")(np.full((2, 3), 1 / 3), [0, 2])
    metrics.get("accuracy")(np.eye(3), [0, 1, 1])
    W = ad.Tensor(np.ones((4, 2)), requires_grad=True)
    ad.mse(ad.dense(np.ones((3, 4)), W, activation="softmax"), np.zeros((3, 2))).backward()
    dispatchers = {
        "call_activation_forward": calls.call_activation_forward,
        "call_activation_backward": calls.call_activation_backward,
        "call_loss": calls.call_loss,
        "call_metric": calls.call_metric,
        "gelu_forward": a.gelu_forward,
        "gelu_backward": a.gelu_backward,
        "softmax_forward": a.softmax_forward,
        "categorical_crossentropy_loss": l.categorical_crossentropy_loss,
        "mse_loss": l.mse_loss,
        "accuracy_update": m.accuracy_update,
    }
    print(json.dumps({name: [sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values())]
                      for name, d in dispatchers.items()}))
    """
)


def test_second_process_loads_every_kernel_from_the_cache(tmp_path):
    first = json.loads(_run(RUN_EACH_KIND, tmp_path))
    assert all(misses > 0 for hits, misses in first.values()), first
    second = json.loads(_run(RUN_EACH_KIND, tmp_path))
    for name, (hits, misses) in second.items():
        assert misses == 0 and hits > 0, (name, second)
