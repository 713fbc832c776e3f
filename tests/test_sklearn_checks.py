"""scikit-learn's own estimator checks on numbagrad's estimators.

Every check passes: none is listed as an expected failure. (The checks that
need pandas or SCIPY_ARRAY_API skip themselves where those are missing.)
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
ESTIMATORS = [
    MLPClassifier(**SMALL),
    MLPRegressor(**SMALL),
    MLPClassifier(early_stopping=True, **SMALL),
    MLPRegressor(early_stopping=True, **SMALL),
]


@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
