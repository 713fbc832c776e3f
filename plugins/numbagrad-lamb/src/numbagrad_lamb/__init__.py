"""The LAMB optimizer for numbagrad.

Installed, the distribution registers it through numbagrad's entry point
group; use it by name::

    import numbagrad
    opt = numbagrad.optim.get("lamb", params, lr=1e-3, weight_decay=0.01)
    model.compile(optimizer={"name": "lamb", "lr": 1e-3}, loss=...)
"""

from numbagrad_lamb.optimizer import LAMB_SPEC, lamb_coefficients, lamb_reduce, lamb_rule

__version__ = "0.1.0"
__all__ = ["LAMB_SPEC", "lamb_coefficients", "lamb_reduce", "lamb_rule"]
