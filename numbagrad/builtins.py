"""numbagrad's own plugin: the built-in components, registered through the public hooks."""

from __future__ import annotations

from numbagrad.hookspecs import hookimpl


@hookimpl
def numbagrad_optimizers():
    from numbagrad.optim.adadelta import ADADELTA_SPEC
    from numbagrad.optim.adafactor import ADAFACTOR_SPEC
    from numbagrad.optim.adagrad import ADAGRAD_SPEC
    from numbagrad.optim.adam import ADAM_SPEC, ADAMW_SPEC
    from numbagrad.optim.adamax import ADAMAX_SPEC
    from numbagrad.optim.asgd import ASGD_SPEC
    from numbagrad.optim.lbfgs import LBFGS_SPEC
    from numbagrad.optim.muon import MUON_SPEC
    from numbagrad.optim.nadam import NADAM_SPEC
    from numbagrad.optim.radam import RADAM_SPEC
    from numbagrad.optim.rmsprop import RMSPROP_SPEC
    from numbagrad.optim.rprop import RPROP_SPEC
    from numbagrad.optim.sgd import SGD_SPEC

    return [
        SGD_SPEC, ADAM_SPEC, ADAMW_SPEC, RMSPROP_SPEC, ADAGRAD_SPEC, ADADELTA_SPEC, ADAMAX_SPEC, NADAM_SPEC,
        RADAM_SPEC, RPROP_SPEC, ASGD_SPEC, LBFGS_SPEC, ADAFACTOR_SPEC, MUON_SPEC,
    ]


@hookimpl
def numbagrad_activations():
    from numbagrad.activations.builtin import BUILTIN_ACTIVATIONS

    return list(BUILTIN_ACTIVATIONS)


@hookimpl
def numbagrad_losses():
    from numbagrad.losses.builtin import BUILTIN_LOSSES

    return list(BUILTIN_LOSSES)


@hookimpl
def numbagrad_metrics():
    from numbagrad.metrics.builtin import BUILTIN_METRICS

    return list(BUILTIN_METRICS)


@hookimpl
def numbagrad_schedules():
    from numbagrad.schedules.cosine import COSINE_SPEC, COSINE_WARM_RESTARTS_SPEC, ONE_CYCLE_SPEC
    from numbagrad.schedules.decay import (
        CONSTANT_SPEC,
        EXPONENTIAL_SPEC,
        INVERSE_TIME_SPEC,
        MULTISTEP_SPEC,
        POLYNOMIAL_SPEC,
        STEP_SPEC,
    )

    return [
        CONSTANT_SPEC, STEP_SPEC, MULTISTEP_SPEC, EXPONENTIAL_SPEC, INVERSE_TIME_SPEC, POLYNOMIAL_SPEC,
        COSINE_SPEC, COSINE_WARM_RESTARTS_SPEC, ONE_CYCLE_SPEC,
    ]
