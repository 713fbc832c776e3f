"""numbagrad in scikit-learn: a pipeline, cross-validation, and a grid search over
optimizers and learning rates run in parallel worker processes.

Prints the pipeline's cross-validated accuracy, the search's table of scores and
the best model's accuracy on held-out digits.
"""

from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from numbagrad.sklearn import MLPClassifier

# 1797 handwritten digits, 8x8 pixels each: 64 features, 10 classes.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)

pipeline = make_pipeline(
    StandardScaler(),
    MLPClassifier(hidden_layer_sizes=(64,), epochs=20, random_state=0),
)
scores = cross_val_score(pipeline, X_train, y_train, cv=5)
print(f"pipeline, 5-fold cross-validated accuracy: {scores.mean():.3f} (std {scores.std():.3f})")

# Step names in a pipeline are the lower-cased class names: mlpclassifier__<parameter>.
grid = {
    "mlpclassifier__optimizer": ["sgd", "nesterov", "adam"],
    "mlpclassifier__learning_rate": [0.001, 0.01, 0.1],
}
search = GridSearchCV(pipeline, grid, cv=3, n_jobs=-1)  # one worker process per core
search.fit(X_train, y_train)

print("\n3-fold accuracy     lr=0.001  lr=0.01   lr=0.1")
results = search.cv_results_
for optimizer in grid["mlpclassifier__optimizer"]:
    row = [
        score
        for params, score in zip(results["params"], results["mean_test_score"])
        if params["mlpclassifier__optimizer"] == optimizer
    ]
    print(f"{optimizer:<18}" + "".join(f"{score:>10.3f}" for score in row))

best = search.best_params_
print(f"\nbest: optimizer={best['mlpclassifier__optimizer']!r}, learning_rate={best['mlpclassifier__learning_rate']}")
print(f"refit on all training digits, accuracy on the {len(y_test)} held-out ones: {search.score(X_test, y_test):.3f}")
