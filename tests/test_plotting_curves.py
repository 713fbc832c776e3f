"""Training curves: one run's values per epoch, and several runs side by side."""

from __future__ import annotations

import importlib.util
import os

import pytest

from numbagrad.train import History

pytestmark = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib is not installed")

RECORDS = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.6, 0.4], "accuracy": [0.5, 0.7, 0.9], "lr": [0.1, 0.05, 0.01]}


def test_plot_history_draws_a_panel_per_key_with_its_validation_twin(tmp_path):
    from numbagrad.plotting import plot_history

    history = History.from_dict({"epoch": [0, 1, 2], "history": RECORDS})
    figure = plot_history(history, ["loss", "lr"], tmp_path / "curves.png", title="a run")
    loss, lr = figure.axes
    assert [line.get_label() for line in loss.get_lines()] == ["training", "validation"]
    assert list(loss.get_lines()[1].get_ydata()) == RECORDS["val_loss"]
    assert lr.get_yscale() == "log"
    assert (tmp_path / "curves.png").read_bytes().startswith(b"\x89PNG")
    assert os.listdir(tmp_path) == ["curves.png"]                # written atomically: no temporary left


def test_plot_history_labels_units_and_marks_the_best_epoch():
    from numbagrad.plotting import plot_history

    figure = plot_history(RECORDS, ["loss", "accuracy"], ylabels={"loss": "mse (units of price, squared)"},
                          best_epoch=2, best_key="val_loss")
    loss, accuracy = figure.axes
    assert loss.get_ylabel() == "mse (units of price, squared)" and accuracy.get_ylabel() == "accuracy"
    assert loss.get_xlabel() == "epoch"
    labels = [line.get_label() for line in loss.get_lines()]
    assert "best epoch 2 (val_loss)" in labels
    line = loss.get_lines()[labels.index("best epoch 2 (val_loss)")]
    assert list(line.get_xdata()) == [2, 2]
    # A star on each curve at the best epoch, at that curve's value.
    stars = [(list(l.get_xdata()), list(l.get_ydata())) for l in loss.get_lines() if l.get_marker() == "*"]
    assert stars == [([2], [0.5]), ([2], [0.6])]


@pytest.mark.parametrize("epoch", [0, 4, 1.5, True, "2"])
def test_plot_history_refuses_a_best_epoch_outside_the_run(epoch):
    from numbagrad.plotting import plot_history

    with pytest.raises(ValueError, match=rf"best_epoch must be an epoch from 1 to 3; got {epoch!r}"):
        plot_history(RECORDS, ["loss"], best_epoch=epoch)


def test_plot_comparison_labels_units():
    from numbagrad.plotting import plot_comparison

    figure = plot_comparison({"adam": RECORDS}, ["loss"], ylabels={"loss": "cross-entropy (nats per sample)"})
    assert figure.axes[0].get_ylabel() == "cross-entropy (nats per sample)"


def test_plot_comparison_draws_a_curve_per_run(tmp_path):
    from numbagrad.plotting import plot_comparison

    other = {"loss": [2.0, 1.0, 0.9], "val_loss": [2.1, 1.2, 1.0]}
    figure = plot_comparison({"sgd": other, "adam": RECORDS}, ["val_loss", "accuracy"], tmp_path / "c.svg")
    losses, accuracy = figure.axes
    assert [line.get_label() for line in losses.get_lines()] == ["sgd", "adam"] and losses.get_yscale() == "log"
    assert [line.get_label() for line in accuracy.get_lines()] == ["adam"]     # sgd recorded no accuracy
    assert (tmp_path / "c.svg").read_text().lstrip().startswith("<?xml")


def test_curve_errors():
    from numbagrad.plotting import plot_comparison, plot_history

    with pytest.raises(KeyError, match="no values named 'accuracy'; recorded: loss"):
        plot_history({"loss": [1.0]}, ["accuracy"])
    with pytest.raises(ValueError, match="keys is empty"):
        plot_history({"loss": [1.0]}, [])
    with pytest.raises(TypeError, match="history must be a numbagrad.train.History or a dict of per-epoch lists; got list"):
        plot_history([1.0], ["loss"])
    with pytest.raises(KeyError, match="no run recorded 'val_r2'"):
        plot_comparison({"sgd": RECORDS}, ["val_r2"])
    with pytest.raises(ValueError, match="plot_comparison needs at least one run and one key"):
        plot_comparison({}, ["loss"])
    with pytest.raises(ValueError, match=r"path must end in"):
        plot_history(RECORDS, ["loss"], "curves.txt")


def test_no_matplotlib_names_the_extra(monkeypatch):
    import sys

    from numbagrad.plotting import plot_history

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"numbagrad.plotting needs matplotlib: pip install 'numbagrad\[plot\]'"):
        plot_history(RECORDS, ["loss"])
