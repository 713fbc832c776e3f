"""Generalization on a small training set: 200 handwritten digits, the rest held out.

Trains the same network with and without an L2 penalty on its weights, and with dropout, draws
the held-out loss and accuracy of each epoch (generalization.png), and
compares the held-out accuracy of numbagrad's and scikit-learn's MLPClassifier
over the same grid of alpha (scikit-learn's L2), three seeds each, on the
digits and on half of the breast cancer and wine data sets.
"""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.neural_network import MLPClassifier as ScikitLearnMLP

from numbagrad import Dense, Sequential
from numbagrad.sklearn import MLPClassifier

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=200, stratify=y, random_state=0)

# 1. The curves: one network, trained four ways, validated on the 1,597 held-out digits.
curves = {}
ways = [
    ("no penalty", None, 0.0),
    ("L2 1e-3", {"name": "l2", "l2": 1e-3}, 0.0),
    ("L2 1e-2", {"name": "l2", "l2": 1e-2}, 0.0),
    ("dropout 0.5", None, 0.5),  # Dropout(0.5) after the hidden layer
]
for label, penalty, dropout in ways:
    model = Sequential(
        [Dense(64, activation="relu", kernel_regularizer=penalty, dropout=dropout),
         Dense(10, activation="softmax", kernel_regularizer=penalty)],
        input_dim=64, seed=0,
    )
    model.compile({"name": "adam", "lr": 1e-3}, "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X_train, y_train, batch_size=32, epochs=300, validation_data=(X_test, y_test), verbose=0, seed=0)
    curves[label] = history.history
    # The penalty is part of the loss fit reports; the data's own loss on held-out digits, without it:
    data_loss = model.evaluate(X_test, y_test)["loss"] - sum(
        penalty["l2"] * float(np.square(layer.weight).sum()) for layer in model.layers if penalty
    )
    print(f"{label:>10}: held-out accuracy {history.history['val_accuracy'][-1]:.3f} after 300 epochs "
          f"(best {max(history.history['val_accuracy']):.3f}), held-out cross-entropy {data_loss:.3f}")

figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
for label, values in curves.items():
    left.plot(values["loss"], linestyle=":", label=f"{label}, training")
    right.plot(values["val_accuracy"], label=label)
left.set(xlabel="epoch", ylabel="training loss (nats per sample, penalty included)", yscale="log", title="Training loss")
right.set(xlabel="epoch", ylabel="held-out accuracy (fraction correct)", ylim=(0.85, 0.96), title="Held-out accuracy")
left.legend()
right.legend()
figure.tight_layout()
figure.savefig("generalization.png", dpi=100)

# 2. The same grid of alpha for both libraries' MLPClassifier, three seeds each.
alphas = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
settings = dict(hidden_layer_sizes=(64,), max_iter=300, learning_rate_init=1e-3, batch_size=32)


def held_out_accuracy(estimator, alpha, X_train, y_train, X_test, y_test):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn's ConvergenceWarning at max_iter
        return np.mean([estimator(**settings, alpha=alpha, random_state=s).fit(X_train, y_train).score(X_test, y_test) for s in range(3)])


def halves(loader):
    """Half the samples for training (standardized on them), half held out."""
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, train_size=0.5, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), y_train, scaler.transform(X_test), y_test


data_sets = {
    "digits, 200 for training": (X_train, y_train, X_test, y_test),
    "breast cancer, half": halves(load_breast_cancer),
    "wine, half": halves(load_wine),
}
print("\nheld-out accuracy, mean of 3 seeds, by alpha:", ", ".join(f"{a:g}" for a in alphas))
for title, split in data_sets.items():
    print(title)
    for name, estimator in [("scikit-learn", ScikitLearnMLP), ("numbagrad", MLPClassifier)]:
        scores = [held_out_accuracy(estimator, alpha, *split) for alpha in alphas]
        print(f"  {name:>12}: " + "  ".join(f"{s:.4f}" for s in scores) + f"   best {max(scores):.4f}")
