"""Start-up: a fresh process that compiles, and a fresh process that finds everything cached.

``timeraw_`` benchmarks time a whole new interpreter running the returned
code: compilation is timed here on purpose, and nowhere else.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile

# A small model trained for one epoch: the whole path of a real run.
TRAINING = """
import numpy as np
import numbagrad
rng = np.random.default_rng(0)
X = rng.standard_normal((256, 20)).astype(np.float32)
y = rng.integers(0, 3, 256)
model = numbagrad.Sequential([numbagrad.Dense(32, activation="relu"), numbagrad.Dense(3, activation="softmax")], input_dim=20)
model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
model.fit(X, y, epochs=1, verbose=0)
"""

# One optimizer step: the smallest piece that compiles kernels.
OPTIMIZER_STEP = """
import numpy as np
import numbagrad
numbagrad.optim.Adam([np.zeros(1000)]).step([np.ones(1000)])
"""


class ColdCompile:
    """A new process with an empty Numba cache: the first optimizer step, or the first fit,
    compiles its kernels."""

    timeout = 300
    number = 1
    repeat = 1

    def setup(self):
        self.cache = tempfile.mkdtemp(prefix="numbagrad-cold-")

    def teardown(self):
        shutil.rmtree(self.cache, ignore_errors=True)

    def _cold(self, code):
        return f"import os\nos.environ['NUMBA_CACHE_DIR'] = {self.cache!r}\n" + code

    def timeraw_optimizer_step(self):
        return self._cold(OPTIMIZER_STEP)

    def timeraw_training_run(self):
        """A first fit on a fresh install: the training and evaluation loops, the passes, the loss,
        the metric and the optimizer, compiled (what a first ``numbagrad train`` waits for)."""
        return self._cold(TRAINING)


class WarmStart:
    """A new process whose kernels are all in Numba's cache: import, build, train one epoch, exit.

    Uses the cache a user's runs use (``$NUMBA_CACHE_DIR/numbagrad`` or the
    per-user cache folder); ``setup`` runs the training once so that it is filled.
    """

    timeout = 600

    def setup(self):
        subprocess.run([sys.executable, "-c", TRAINING], check=True, timeout=600)

    def timeraw_training_run(self):
        return TRAINING

    def timeraw_import(self):
        return "import numbagrad"
