"""scikit-learn's own estimator checks on numbagrad's estimators.

Every check passes, but one, for mini-batch training only:
``check_sample_weight_equivalence_on_dense_data`` fits with integer weights
and with the rows repeated, and expects the same model. With mini-batches
the repeated rows make other batches (scikit-learn itself runs this check on
its own MLPClassifier with the full-batch solver="lbfgs" only); with the whole
set as one batch the two fits are the same, and the full-batch estimators
below pass it. (The checks that need pandas or
SCIPY_ARRAY_API skip themselves where those are missing.)
"""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from numbagrad.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# Small networks, few epochs: the checks fit hundreds of times, on two cores in
# CI. The learning rate is raised so that these few epochs still reach the
# scores some checks ask for (accuracy > 0.83 on blobs, R^2 > 0.5 on a
# linear problem). Early stopping changes how fit splits the data, so it is
# checked too.
SMALL = dict(hidden_layer_sizes=(8,), epochs=10, learning_rate=0.02, batch_size=16)
FULL_BATCH = dict(SMALL, batch_size=100_000, epochs=20, dtype="float64")
ESTIMATORS = [
    MLPClassifier(**SMALL),
    MLPRegressor(**SMALL),
    MLPClassifier(early_stopping=True, **SMALL),
    MLPRegressor(early_stopping=True, **SMALL),
    MLPClassifier(**FULL_BATCH),
    MLPRegressor(**FULL_BATCH),
]


def expected_failures(estimator):
    if estimator.batch_size < 100_000:
        return {
            "check_sample_weight_equivalence_on_dense_data": (
                "mini-batches: repeating rows changes the batches (full-batch training passes it)"
            )
        }
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
