"""Model files from elsewhere: every malformed file gives ModelFileError, in bounded memory and
time, before anything large is allocated; nothing in a file is trusted."""

from __future__ import annotations

import json
import tracemalloc
import zipfile

import numpy as np
import pytest

import numbagrad
from numbagrad.train.checkpoint import ModelFileError


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = numbagrad.Sequential([numbagrad.Dense(8, activation="relu"), numbagrad.Dense(2)], input_dim=4)
    model.compile("adam", "mse")
    model.fit(np.ones((16, 4)), np.ones((16, 2)), epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("files") / "good.ngm"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return path, path.read_bytes(), members


def rewrite(path, members, manifest=None, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            if name == "numbagrad.json" and manifest is not None:
                data = manifest if isinstance(manifest, str) else json.dumps(manifest)
            archive.writestr(name, data)
    return path


def refused(path, message=None, peak_mb=50):
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=message):
            numbagrad.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < peak_mb * 1e6, f"refusing {path} took {peak / 1e6:.1f} MB"


def test_the_good_file_loads(saved):
    path, _, _ = saved
    assert numbagrad.load_model(path).count_params() == 4 * 8 + 8 + 8 * 2 + 2


def test_a_few_bytes_declaring_a_huge_layer_are_refused_before_allocating(saved, tmp_path):
    _, _, members = saved
    manifest = json.loads(members["numbagrad.json"])
    manifest["model"]["input_dim"] = 20000
    manifest["model"]["layers"][0]["units"] = 20000
    refused(rewrite(tmp_path / "huge.ngm", members, manifest), r"parameters.npy' has shape \(58,\); the model needs \(400060002,\)")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda m: m["model"].update(layers=[]), r"model.layers must be a list of 1 to 100000 items; got \[\]"),
        (lambda m: m["model"].update(input_dim="4"), r"input_dim must be an integer"),
        (lambda m: m["model"]["layers"][0].update(units=10**30), r"layers\[0\].units must be an integer in \[1, "),
        (lambda m: m["model"]["layers"][0].update(units=-3), r"layers\[0\].units must be an integer"),
        (lambda m: m.update(epoch=[1]), r"epoch must be an integer in \[0, 2\*\*63\); got \[1\]"),
        (lambda m: m.update(epoch=1.5), r"epoch must be an integer in \[0, 2\*\*63\); got 1.5"),
        (lambda m: m.update(epoch=-1), r"epoch must be an integer in \[0, 2\*\*63\); got -1"),
        (lambda m: m["optimizers"]["all"].update(state=[1, 2]), r"optimizers.all.state must be an object; got \[1, 2\]"),
        (lambda m: m["optimizers"]["all"]["state"]["0"].update(step=-1), r"optimizers.all.state.0.step must be an integer in \[0, 2\*\*63\)"),
        (lambda m: m.update(compile={"optimizer": "adam", "loss": {"name": "mse"}, "metrics": 5}), r"compile.optimizer must be an object; got 'adam'"),
        (lambda m: m["compile"].update(metrics=5), r"compile.metrics must be a list of 0 to 1000 items; got 5"),
        (lambda m: m["optimizers"]["all"]["state"]["0"].update(step=2**70), r"step must be an integer in \[0, 2\*\*63\)"),
        (lambda m: m["optimizers"]["all"]["state"]["0"].update(step=1.5), r"step must be an integer in \[0, 2\*\*63\); got 1.5"),
        (lambda m: m.update(extra=1), r"top level has the unknown field 'extra'"),
        (lambda m: m["model"]["layers"][0].update(use_bias=1), r"model.layers\[0\].use_bias must be true or false; got 1"),
        (lambda m: m["model"]["layers"][0].update(activation="relu"), r"model.layers\[0\].activation must be an object"),
        (lambda m: m["model"].update(dtype="float16"), r"model.dtype must be one of 'float32', 'float64'"),
        (lambda m: m["rng"]["state"].update(inc=2), r"rng.state.inc must be odd"),
        (lambda m: m["rng"].update(bit_generator="MT19937"), r"rng.bit_generator must be one of 'PCG64'"),
        (lambda m: m["history"]["history"].update(loss=[]), r"history.history.loss must be a list of 1 numbers"),
        (lambda m: m["history"]["epoch"].append(-1), r"history.epoch\[1\] must be an integer"),
        (lambda m: m["optimizers"].update(weights=m["optimizers"]["all"]), r"optimizer state for the 'weights'"),
        (lambda m: m["optimizers"]["all"]["state"]["0"].update(slots=["../x"]), r"slots\[0\] must be the name of a state slot"),
        (lambda m: m["optimizers"]["all"]["state"]["0"].update(unexpected=1.0), r"state\[0\] has 'unexpected', which is no state of Adam"),
        (lambda m: m["optimizers"]["all"]["param_groups"][0].update(lr=[[[[[[[[[[1]]]]]]]]]]), r"nested more than 8 levels deep"),
        (lambda m: m["compile"]["optimizer"].update(name="adamm"), r"uses something this installation does not have: .*adamm"),
        (lambda m: m["model"]["layers"][0]["activation"].update(name="relv"), r"uses something this installation does not have"),
        (lambda m: m["model"]["layers"][0].update(kernel_regularizer={"name": "l2", "l2": -1.0}), r"l2 must be a finite number >= 0; got -1"),
        (lambda m: m["model"]["layers"][0].update(kernel_regularizer="l2"), r"model.layers\[0\].kernel_regularizer must be an object"),
        (lambda m: m["model"]["layers"][0].update(bias_regularizer={"name": "l9"}), r"unknown regularizer 'l9'"),
    ],
)
def test_edited_manifests(saved, tmp_path, edit, message):
    _, _, members = saved
    manifest = json.loads(members["numbagrad.json"])
    edit(manifest)
    refused(rewrite(tmp_path / "edited.ngm", members, manifest), message)


def test_compressed_members_are_refused_unread(saved, tmp_path):
    _, _, members = saved
    refused(rewrite(tmp_path / "deflated.ngm", members, compression=zipfile.ZIP_DEFLATED), r"is compressed \(method 8\)")


def test_deep_nesting_is_refused(saved, tmp_path):
    _, _, members = saved
    refused(rewrite(tmp_path / "deep.ngm", members, "[" * 200_000 + "]" * 200_000), "nested too deeply")


def test_an_array_whose_header_claims_more_than_it_stores(saved, tmp_path):
    _, _, members = saved
    header = members["parameters.npy"]
    forged = header.replace(b"(58,)", b"(9999999999,)", 1)
    refused(rewrite(tmp_path / "claims.ngm", {**members, "parameters.npy": forged}))


def test_non_finite_parameters_are_corruption(saved, tmp_path):
    _, _, members = saved
    import io

    buffer = io.BytesIO()
    values = np.full(58, np.nan, dtype=np.float32)
    np.save(buffer, values)
    refused(rewrite(tmp_path / "nan.ngm", {**members, "parameters.npy": buffer.getvalue()}), "NaN or infinity")


def test_a_corpus_of_truncations_and_bit_flips(saved, tmp_path):
    _, raw, _ = saved
    rng = np.random.default_rng(0)
    target = tmp_path / "damaged.ngm"
    for k in range(300):
        data = bytearray(raw)
        if k % 2:
            data = data[: int(rng.integers(0, len(data)))]
        else:
            for _ in range(int(rng.integers(1, 4))):
                i = int(rng.integers(0, len(data)))
                data[i] ^= 1 << int(rng.integers(0, 8))
        target.write_bytes(bytes(data))
        try:
            numbagrad.load_model(target)
        except ModelFileError:
            pass
        # Any other exception fails the test. A flip the zip format cannot notice (a header's
        # unused bytes) may leave a loadable model, which is fine.


def test_a_saved_file_gets_the_usual_mode_and_keeps_an_existing_one(saved, tmp_path):
    import os
    import stat

    model = numbagrad.load_model(saved[0])
    mask = os.umask(0o022)
    try:
        model.save(tmp_path / "new.ngm")
        assert stat.S_IMODE(os.stat(tmp_path / "new.ngm").st_mode) == 0o644
        os.chmod(tmp_path / "new.ngm", 0o640)
        model.save(tmp_path / "new.ngm")
        assert stat.S_IMODE(os.stat(tmp_path / "new.ngm").st_mode) == 0o640
    finally:
        os.umask(mask)


def test_a_save_cleans_up_what_killed_saves_left(saved, tmp_path):
    import subprocess
    import sys

    model = numbagrad.load_model(saved[0])
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(finished.stdout)  # a process that has exited
    stale = tmp_path / f".numbagrad-{dead}-abc123.tmp"
    live = tmp_path / f".numbagrad-{os_getppid()}-def456.tmp"  # this test's parent is alive
    stale.write_bytes(b"half a model")
    live.write_bytes(b"another save in progress")
    model.save(tmp_path / "model.ngm")
    assert not stale.exists() and live.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "model.ngm"])


def os_getppid():
    import os

    return os.getppid()


def test_evaluate_names_itself_in_its_errors():
    model = numbagrad.Sequential([numbagrad.Dense(2)], input_dim=3)
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match=r"^evaluate: batch_size must be an integer >= 1; got 0$"):
        model.evaluate(np.ones((4, 3)), np.ones((4, 2)), batch_size=0)


def _leaves(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, path + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, path + (i,))


def test_every_field_of_the_manifest_edited_loads_or_gives_model_file_error(saved, tmp_path):
    """Each field of a real manifest replaced by values of the wrong type or range, or removed: the
    file either loads (the value was valid there) or is refused with ModelFileError, never another
    exception; and what loads is a usable model."""
    _, _, members = saved
    good = json.loads(members["numbagrad.json"])
    hostile = [None, True, -1, 2**70, 1.5, float("nan"), "x", [], {"a": 1}, "DELETE"]
    loaded = refused_count = 0
    for path in list(_leaves(good))[1:]:
        for value in hostile:
            manifest = json.loads(members["numbagrad.json"])
            parent = manifest
            for key in path[:-1]:
                parent = parent[key]
            if value == "DELETE":
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
            file = rewrite(tmp_path / "field.ngm", members, json.dumps(manifest))
            try:
                model = numbagrad.load_model(file)
            except ModelFileError:
                refused_count += 1
                continue
            loaded += 1
            assert np.isfinite(model.predict(np.ones((2, 4)))).all(), (path, value)
    assert refused_count > 5 * loaded, (refused_count, loaded)
