"""Loss landscapes in two dimensions, and optimizers rolling down them.

A network's loss is a function of its weights: a landscape whose height at
every point is the loss there. With two weights it can be drawn. This module
holds classic two-dimensional test functions as small declarations
(:class:`Landscape`: the function, its analytic gradient, a window to draw,
its known minima, a suggested start) and :func:`trajectories`, which runs
numbagrad's own optimizers on them — the same compiled update kernels that
train networks, one step per call of ``opt.step([gradient])``::

    >>> from numbagrad import landscape
    >>> paths = landscape.trajectories("ravine", ["sgd", "momentum", "nesterov"], steps=150)
    >>> [f"{p.final_loss:.1e}" for p in paths]
    ['9.4e-03', '1.1e-07', '1.7e-08']

:mod:`numbagrad.plotting` draws the paths on the landscape's contours.

Known functions (:func:`available`): ``rosenbrock``, ``beale``,
``himmelblau``, ``booth``, ``rastrigin``, ``ravine``, ``double_well`` and
``saddle``. Each comes with learning rates, per optimizer, chosen to make a
picture that shows the optimizer's character in the suggested number of steps
(:attr:`Landscape.learning_rates`); ``lr=`` overrides them.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from numbagrad.errors import UnknownNameError
from numbagrad.hyperparameters import closest_names, did_you_mean

__all__ = ["Landscape", "Minimum", "Trajectory", "FUNCTIONS", "available", "get", "trajectories"]

Point = tuple[float, float]


@dataclass(frozen=True)
class Minimum:
    """A known minimum of a landscape.

    Attributes:
        point: its coordinates ``(x, y)``.
        value: the loss there.
        kind: ``"global"`` (the deepest valley) or ``"local"`` (a shallow one
            in which a ball can get stuck).
    """

    point: Point
    value: float
    kind: str = "global"


@dataclass(frozen=True, eq=False)
class Landscape:
    """A two-dimensional test function, declared: everything needed to run and draw it.

    Attributes:
        name: how :func:`get` and the command line find it.
        title: a human name for titles and tables.
        formula: the function in plain text, for tables and ``--help``.
        tex: the same formula in matplotlib's mathtext, for figure titles.
        value: ``value(x, y)``, the loss; ``x`` and ``y`` are floats or
            arrays that broadcast together (a grid, for contours).
        gradient: ``gradient(x, y) -> (df/dx, df/dy)``, analytic, vectorised
            like ``value``.
        window: ``((x_min, x_max), (y_min, y_max))``, the region worth drawing.
        start: a start point from which the optimizers' differences show.
        steps: how many steps make a good picture from ``start``.
        learning_rates: a learning rate per optimizer name, chosen for a
            picture (see :func:`trajectories`); optimizers not listed use
            their own default.
        minima: the known minima, global ones first.
        saddle_points: stationary points that are neither minima nor maxima.
        lesson: what the function shows, in one sentence.
        equal_aspect: draw ``x`` and ``y`` to the same scale, so that the
            picture shows the true shape of the valleys.
    """

    name: str
    title: str
    formula: str
    tex: str
    value: Callable[[Any, Any], Any]
    gradient: Callable[[Any, Any], tuple[Any, Any]]
    window: tuple[Point, Point]
    start: Point
    steps: int
    learning_rates: Mapping[str, float]
    minima: tuple[Minimum, ...] = ()
    saddle_points: tuple[Point, ...] = ()
    lesson: str = ""
    equal_aspect: bool = True

    def __post_init__(self):
        # Read-only, so that the declarations shared by every caller cannot drift.
        object.__setattr__(self, "learning_rates", MappingProxyType(dict(self.learning_rates)))

    def __repr__(self) -> str:
        return f"<Landscape {self.name!r}: {self.formula}>"

    @property
    def global_minimum(self) -> Minimum | None:
        """The lowest known minimum (the first, when several are equally deep), or ``None``."""
        return min(self.minima, key=lambda m: m.value) if self.minima else None

    def loss_and_gradient(self, point: np.ndarray) -> tuple[float, np.ndarray]:
        """The loss at ``point`` (a float64 array of two) and its gradient as a new array."""
        x, y = point
        gx, gy = self.gradient(x, y)
        return self.value(x, y), np.array([gx, gy], dtype=np.float64)

    def grid(self, resolution: int = 300, window: tuple[Point, Point] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(X, Y, Z)``: the loss on a ``resolution`` x ``resolution`` grid over ``window``
        (the landscape's own by default), ready for ``contour``."""
        (x_min, x_max), (y_min, y_max) = window or self.window
        X, Y = np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))
        return X, Y, np.asarray(self.value(X, Y), dtype=np.float64)

    def nearest_minimum(self, point: Sequence[float]) -> tuple[Minimum, float] | None:
        """The known minimum closest to ``point`` and the Euclidean distance to it, or
        ``None`` when the landscape has no minimum (the saddle)."""
        if not self.minima:
            return None
        where = np.asarray(point, dtype=np.float64)
        distances = [float(np.hypot(*(where - np.asarray(m.point)))) for m in self.minima]
        best = int(np.argmin(distances))
        return self.minima[best], distances[best]


# --- the functions -------------------------------------------------------------
# Each value sits beside its gradient; tests check every gradient against
# central finite differences.


def _rosenbrock(x, y):
    """``f = (1 - x)^2 + 100 (y - x^2)^2``."""
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def _rosenbrock_gradient(x, y):
    """``df/dx = -2 (1 - x) - 400 x (y - x^2)``, ``df/dy = 200 (y - x^2)``."""
    return -2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)


def _beale(x, y):
    """``f = (1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2``."""
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _beale_gradient(x, y):
    """With ``a, b, c`` the three terms inside the squares:
    ``df/dx = 2a (y - 1) + 2b (y^2 - 1) + 2c (y^3 - 1)``,
    ``df/dy = 2a x + 4b x y + 6c x y^2``."""
    a = 1.5 - x + x * y
    b = 2.25 - x + x * y**2
    c = 2.625 - x + x * y**3
    return (
        2 * a * (y - 1) + 2 * b * (y**2 - 1) + 2 * c * (y**3 - 1),
        2 * a * x + 4 * b * x * y + 6 * c * x * y**2,
    )


def _himmelblau(x, y):
    """``f = (x^2 + y - 11)^2 + (x + y^2 - 7)^2``."""
    return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2


def _himmelblau_gradient(x, y):
    """``df/dx = 4x (x^2 + y - 11) + 2 (x + y^2 - 7)``, ``df/dy = 2 (x^2 + y - 11) + 4y (x + y^2 - 7)``."""
    u = x * x + y - 11
    v = x + y * y - 7
    return 4 * x * u + 2 * v, 2 * u + 4 * y * v


def _booth(x, y):
    """``f = (x + 2y - 7)^2 + (2x + y - 5)^2``."""
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def _booth_gradient(x, y):
    """``df/dx = 2u + 4v``, ``df/dy = 4u + 2v`` with ``u = x + 2y - 7``, ``v = 2x + y - 5``."""
    u = x + 2 * y - 7
    v = 2 * x + y - 5
    return 2 * u + 4 * v, 4 * u + 2 * v


def _rastrigin(x, y):
    """``f = 20 + x^2 - 10 cos(2 pi x) + y^2 - 10 cos(2 pi y)``."""
    return 20 + x * x - 10 * np.cos(2 * np.pi * x) + y * y - 10 * np.cos(2 * np.pi * y)


def _rastrigin_gradient(x, y):
    """``df/dx = 2x + 20 pi sin(2 pi x)``, and the same in ``y``."""
    return 2 * x + 20 * np.pi * np.sin(2 * np.pi * x), 2 * y + 20 * np.pi * np.sin(2 * np.pi * y)


def _ravine(x, y):
    """``f = x^2 / 20 + y^2``: curvature 0.1 along the valley, 2 across it (condition number 20)."""
    return x * x / 20 + y * y


def _ravine_gradient(x, y):
    """``df/dx = x / 10``, ``df/dy = 2y``."""
    return x / 10, 2 * y


def _double_well(x, y):
    """``f = x^4 - 4x^2 + x + 2y^2``: two valleys along ``x``, the left one deeper (tilted by ``+x``)."""
    return x**4 - 4 * x * x + x + 2 * y * y


def _double_well_gradient(x, y):
    """``df/dx = 4x^3 - 8x + 1``, ``df/dy = 4y``."""
    return 4 * x**3 - 8 * x + 1, 4 * y


def _saddle(x, y):
    """``f = x^2 - y^2``: a minimum along ``x``, a maximum along ``y``; unbounded below."""
    return x * x - y * y


def _saddle_gradient(x, y):
    """``df/dx = 2x``, ``df/dy = -2y``."""
    return 2 * x, -2 * y


def _rates(sgd, momentum, nesterov, rmsprop, adagrad, adadelta, adam, adamw, amsgrad, adamax, nadam):
    """Learning rates for every built-in optimizer, by keyword so that each table reads as a row."""
    return dict(
        sgd=sgd, momentum=momentum, nesterov=nesterov, rmsprop=rmsprop, adagrad=adagrad, adadelta=adadelta,
        adam=adam, adamw=adamw, amsgrad=amsgrad, adamax=adamax, nadam=nadam,
    )


# How the learning rates below were chosen, from the grid 1e-5, 2e-5, 5e-5,
# ..., 1, 2, 5, each optimizer running from the function's start for its
# suggested steps:
#
# * sgd, momentum and nesterov share one rate, so that their pictures differ
#   only by the optimizer: the largest at which all three stay inside the
#   window and both momentum methods end within 1e-2 of a minimum. Two
#   exceptions, for the lesson: the ravine uses 0.2 rather than 0.5 (at 0.5
#   plain descent crosses the ravine in one step, and momentum's zigzag is
#   what the picture is for); Rastrigin, where no rate reaches the global
#   minimum, uses 0.003, the largest at which all three come to rest in a
#   hollow (above 0.0034 Nesterov's step is unstable at a hollow's curvature
#   and it rattles around forever).
# * Each adaptive optimizer gets the smallest rate that ends within 1e-2 of a
#   minimum, so its path moves smoothly rather than jumping; when no rate does,
#   the one that ends closest. AdamW takes Adam's rate, so that the two differ
#   only by the decoupled weight decay (PyTorch's default, 0.01).
# * The saddle has no minimum: its rates let each optimizer approach the
#   saddle point and then leave the window within the suggested 60 steps.
_LANDSCAPES = (
    Landscape(
        name="rosenbrock",
        title="Rosenbrock's valley",
        formula="(1 - x)^2 + 100 (y - x^2)^2",
        tex=r"$(1-x)^2 + 100\,(y-x^2)^2$",
        value=_rosenbrock,
        gradient=_rosenbrock_gradient,
        window=((-2.0, 2.0), (-1.0, 3.0)),
        start=(-1.5, 2.0),
        steps=2000,
        learning_rates=_rates(sgd=1e-3, momentum=1e-3, nesterov=1e-3, rmsprop=5e-3, adagrad=1.0, adadelta=0.5,
                              adam=0.05, adamw=0.05, amsgrad=0.05, adamax=1.0, nadam=0.02),
        minima=(Minimum((1.0, 1.0), 0.0),),
        lesson="a curved, flat-bottomed valley: finding it is easy, following its floor to the minimum is slow",
    ),
    Landscape(
        name="beale",
        title="Beale's function",
        formula="(1.5 - x + x y)^2 + (2.25 - x + x y^2)^2 + (2.625 - x + x y^3)^2",
        tex=r"$(1.5-x+xy)^2 + (2.25-x+xy^2)^2 + (2.625-x+xy^3)^2$",
        value=_beale,
        gradient=_beale_gradient,
        window=((-4.5, 4.5), (-4.5, 4.5)),
        start=(1.0, 1.5),
        steps=1000,
        learning_rates=_rates(sgd=5e-3, momentum=5e-3, nesterov=5e-3, rmsprop=0.01, adagrad=1.0, adadelta=1.0,
                              adam=0.05, adamw=0.05, amsgrad=0.05, adamax=0.5, nadam=0.05),
        minima=(Minimum((3.0, 0.5), 0.0),),
        lesson="steep walls and flat plateaus: gradients that differ by orders of magnitude from place to place",
    ),
    Landscape(
        name="himmelblau",
        title="Himmelblau's function",
        formula="(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
        tex=r"$(x^2+y-11)^2 + (x+y^2-7)^2$",
        value=_himmelblau,
        gradient=_himmelblau_gradient,
        window=((-5.0, 5.0), (-5.0, 5.0)),
        start=(0.0, 0.0),
        steps=300,
        learning_rates=_rates(sgd=0.01, momentum=0.01, nesterov=0.01, rmsprop=0.02, adagrad=0.2, adadelta=2.0,
                              adam=0.02, adamw=0.02, amsgrad=0.02, adamax=0.05, nadam=0.02),
        minima=(
            Minimum((3.0, 2.0), 0.0),
            Minimum((-2.805118086952745, 3.131312518250573), 0.0),
            Minimum((-3.779310253377747, -3.283185991286170), 0.0),
            Minimum((3.584428340330492, -1.848126526964404), 0.0),
        ),
        lesson="four equally deep minima: where the ball ends depends on the optimizer and its start",
    ),
    Landscape(
        name="booth",
        title="Booth's function",
        formula="(x + 2y - 7)^2 + (2x + y - 5)^2",
        tex=r"$(x+2y-7)^2 + (2x+y-5)^2$",
        value=_booth,
        gradient=_booth_gradient,
        window=((-10.0, 10.0), (-10.0, 10.0)),
        start=(-8.0, -8.0),
        steps=200,
        learning_rates=_rates(sgd=0.01, momentum=0.01, nesterov=0.01, rmsprop=0.5, adagrad=5.0, adadelta=5.0,
                              adam=0.5, adamw=0.5, amsgrad=0.5, adamax=2.0, nadam=1.0),
        minima=(Minimum((1.0, 3.0), 0.0),),
        lesson="a plain bowl, slightly tilted and stretched: every method gets there, at different speeds",
    ),
    Landscape(
        name="rastrigin",
        title="Rastrigin's function",
        formula="20 + x^2 - 10 cos(2 pi x) + y^2 - 10 cos(2 pi y)",
        tex=r"$20 + x^2 - 10\cos 2\pi x + y^2 - 10\cos 2\pi y$",
        value=_rastrigin,
        gradient=_rastrigin_gradient,
        window=((-3.5, 3.5), (-3.5, 3.5)),
        start=(-2.6, 2.4),
        steps=300,
        learning_rates=_rates(sgd=3e-3, momentum=3e-3, nesterov=3e-3, rmsprop=0.05, adagrad=0.5, adadelta=1.0,
                              adam=0.05, adamw=0.05, amsgrad=0.05, adamax=0.05, nadam=0.05),
        minima=(Minimum((0.0, 0.0), 0.0),),
        lesson="an egg box of local minima around one global minimum: most balls stop in the first hollow",
    ),
    Landscape(
        name="ravine",
        title="A narrow ravine",
        formula="x^2 / 20 + y^2",
        tex=r"$x^2/20 + y^2$",
        value=_ravine,
        gradient=_ravine_gradient,
        window=((-10.0, 10.0), (-4.0, 4.0)),
        start=(-9.0, 2.0),
        steps=150,
        learning_rates=_rates(sgd=0.2, momentum=0.2, nesterov=0.2, rmsprop=0.1, adagrad=2.0, adadelta=5.0,
                              adam=0.2, adamw=0.2, amsgrad=0.2, adamax=0.5, nadam=0.2),
        minima=(Minimum((0.0, 0.0), 0.0),),
        lesson="twenty times steeper across than along: momentum swings across and past the minimum, Nesterov corrects",
    ),
    Landscape(
        name="double_well",
        title="A tilted double well",
        formula="x^4 - 4 x^2 + x + 2 y^2",
        tex=r"$x^4 - 4x^2 + x + 2y^2$",
        value=_double_well,
        gradient=_double_well_gradient,
        window=((-2.5, 2.5), (-2.0, 2.0)),
        start=(2.3, 1.5),
        steps=200,
        learning_rates=_rates(sgd=0.02, momentum=0.02, nesterov=0.02, rmsprop=0.01, adagrad=0.2, adadelta=5.0,
                              adam=0.02, adamw=0.02, amsgrad=0.02, adamax=0.05, nadam=0.02),
        minima=(
            Minimum((-1.4729976011140302, 0.0), -5.4441920666108965),
            Minimum((1.346997408527774, 0.0), -2.6185559807652474, kind="local"),
        ),
        saddle_points=((0.1260001925862561, 0.0),),
        lesson="a shallow valley beside a deeper one: plain descent stops in the shallow one, momentum can roll over",
    ),
    Landscape(
        name="saddle",
        title="A saddle",
        formula="x^2 - y^2",
        tex=r"$x^2 - y^2$",
        value=_saddle,
        gradient=_saddle_gradient,
        window=((-2.0, 2.0), (-2.0, 2.0)),
        start=(-1.8, 0.01),
        steps=60,
        learning_rates=_rates(sgd=0.05, momentum=0.05, nesterov=0.05, rmsprop=0.01, adagrad=0.1, adadelta=1.0,
                              adam=0.05, adamw=0.05, amsgrad=0.05, adamax=0.05, nadam=0.05),
        saddle_points=((0.0, 0.0),),
        lesson="flat in the middle, downhill only along y: the gradient vanishes near the saddle and escaping takes time",
    ),
)

#: Every known landscape by name.
FUNCTIONS: Mapping[str, Landscape] = MappingProxyType({landscape.name: landscape for landscape in _LANDSCAPES})


def available() -> list[str]:
    """The names of the known functions, sorted."""
    return sorted(FUNCTIONS)


def get(function: str | Landscape) -> Landscape:
    """The landscape called ``function`` (case-insensitive; ``-`` and ``_`` alike), or
    ``function`` itself when it is already a :class:`Landscape`.

    Raises:
        numbagrad.errors.UnknownNameError: no such function; the message
            lists the known ones and the closest match.
        TypeError: ``function`` is neither a name nor a Landscape.
    """
    if isinstance(function, Landscape):
        return function
    if not isinstance(function, str):
        raise TypeError(f"function must be a name ({', '.join(available())}) or a Landscape; got {type(function).__name__}")
    key = function.strip().lower().replace("-", "_")
    if key in FUNCTIONS:
        return FUNCTIONS[key]
    hint = closest_names(key, available())
    suggestion = did_you_mean(hint)
    raise UnknownNameError(f"unknown function {function!r}.{suggestion} Known functions: {', '.join(available())}")


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One optimizer's walk over a landscape.

    Attributes:
        function: the landscape's name.
        optimizer: the optimizer's registry name.
        lr: the learning rate it used.
        hyperparameters: the other hyperparameters it was given (not its defaults).
        path: shape ``(steps + 1, 2)``, float64: the start, then the point
            after each step. Rows after a divergence are NaN.
        losses: shape ``(steps + 1,)``: the loss at each row of ``path``.
        diverged_at: the first step whose point or loss is not finite (the
            numbers overflowed), or ``None``.
    """

    function: str
    optimizer: str
    lr: float
    hyperparameters: Mapping[str, Any]
    path: np.ndarray
    losses: np.ndarray
    diverged_at: int | None = None

    @property
    def steps(self) -> int:
        """The number of steps asked for (``len(path) - 1``)."""
        return len(self.path) - 1

    @property
    def final_index(self) -> int:
        """The row of ``path`` holding :attr:`final_point`: the last one, or the
        one before the divergence."""
        return self.steps if self.diverged_at is None else self.diverged_at - 1

    @property
    def final_point(self) -> np.ndarray:
        """The last finite point: where the ball ended, or where it was before it diverged."""
        return self.path[self.final_index]

    @property
    def final_loss(self) -> float:
        """The loss at :attr:`final_point`."""
        return float(self.losses[self.final_index])

    @property
    def label(self) -> str:
        """``"momentum (lr=0.001)"``, with any other hyperparameters given: a legend entry."""
        settings = ", ".join([f"lr={self.lr:g}"] + [f"{k}={_short(v)}" for k, v in self.hyperparameters.items()])
        return f"{self.optimizer} ({settings})"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return str(value)


def _check_steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise TypeError(f"steps must be a positive integer; got {steps!r}")
    if steps < 1:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    return int(steps)


def _check_start(start: Any) -> np.ndarray:
    message = f"start must be two finite numbers (x, y); got {start!r}"
    if isinstance(start, (str, bytes)) or not isinstance(start, (Sequence, np.ndarray)):
        raise TypeError(message)
    values = list(np.asarray(start, dtype=object).reshape(-1)) if isinstance(start, np.ndarray) else list(start)
    if any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in values):
        raise TypeError(message)
    if (isinstance(start, np.ndarray) and start.ndim != 1) or len(values) != 2:
        raise ValueError(message)
    if not all(math.isfinite(v) for v in values):
        raise ValueError(message)
    return np.array(values, dtype=np.float64)


def _check_optimizers(optimizers: Any) -> list[str]:
    if isinstance(optimizers, str):
        return [optimizers]
    if not isinstance(optimizers, Iterable):
        raise TypeError(f"optimizers must be a name or a list of names; got {type(optimizers).__name__}")
    names = list(optimizers)
    if not names:
        raise ValueError("optimizers is empty; give at least one name, such as ['sgd', 'momentum']")
    for i, name in enumerate(names):
        if not isinstance(name, str):
            raise TypeError(f"optimizers[{i}] must be an optimizer name; got {name!r}")
    return names


def trajectories(
    function: str | Landscape,
    optimizers: str | Iterable[str],
    start: Sequence[float] | None = None,
    steps: int | None = None,
    lr: float | None = None,
    **hyperparameters: Any,
) -> list[Trajectory]:
    """Run each optimizer from the same start and record where it goes.

    Every optimizer gets its own copy of the start point ``p`` and then, for
    ``steps`` steps, the landscape's analytic gradient at ``p`` through
    numbagrad's own update kernels (``numbagrad.optim.get(name, [p])`` and
    ``opt.step([grad])``), which change ``p`` in place.

    Args:
        function: a name (:func:`available`) or a :class:`Landscape`.
        optimizers: registry names (``"sgd"``, ``"momentum"``, ``"nesterov"``,
            ``"adam"``...), or one name.
        start: ``(x, y)``; the landscape's suggested start by default.
        steps: steps per optimizer, ``>= 1``; the landscape's suggestion by default.
        lr: one learning rate for every optimizer. By default each optimizer
            uses the landscape's rate for it (:attr:`Landscape.learning_rates`),
            or its own default when the landscape lists none (a plugin's optimizer).
        **hyperparameters: given to every optimizer that has them
            (``momentum=0.5`` changes SGD and RMSprop, not Adam).

    Returns:
        One :class:`Trajectory` per optimizer, in order. An optimizer whose
        point or loss stops being finite (a learning rate far too large)
        stops there: its remaining rows are NaN and ``diverged_at`` says when.

    Raises:
        numbagrad.errors.UnknownNameError: an unknown function or optimizer.
        TypeError, ValueError: ``steps`` is not a positive integer, ``start``
            is not two finite numbers, no optimizer has one of the
            ``hyperparameters``, an optimizer refuses a value.

    Every argument and every optimizer is checked before the first step.
    """
    from numbagrad import optim

    landscape = get(function)
    names = _check_optimizers(optimizers)
    steps = landscape.steps if steps is None else _check_steps(steps)
    origin = np.array(landscape.start, dtype=np.float64) if start is None else _check_start(start)

    # Each optimizer gets the hyperparameters it declares, so that one call can
    # set momentum=0.5 for SGD while Adam runs unchanged; a hyperparameter that
    # none of them declares is a mistake worth an error.
    declared = {name: {h.name for h in optim.get(name).spec.hyperparameters} for name in names}
    for key in hyperparameters:
        if not any(key in names_declared for names_declared in declared.values()):
            known = sorted(set().union(*declared.values()))
            hint = closest_names(key, known)
            suggestion = f" (did you mean {' or '.join(map(repr, hint))}?)" if hint else ""
            raise TypeError(f"no optimizer among {', '.join(names)} has a hyperparameter {key!r}{suggestion}; they have: {', '.join(known)}")
    runs = []
    for name in names:
        point = origin.copy()
        given = {key: value for key, value in hyperparameters.items() if key in declared[name]}
        settings = dict(given)
        rate = lr if lr is not None else landscape.learning_rates.get(name.lower())
        if rate is not None:
            settings["lr"] = rate
        runs.append((name.lower(), point, optim.get(name, [point], **settings), given))

    result = []
    for name, point, optimizer, given in runs:
        path = np.full((steps + 1, 2), np.nan)
        losses = np.full(steps + 1, np.nan)
        diverged_at = None
        # A learning rate far too large overflows to inf and then NaN; that is
        # a result to report (the ball left), not an error to warn about.
        with np.errstate(over="ignore", invalid="ignore"):
            loss, gradient = landscape.loss_and_gradient(point)
            path[0], losses[0] = point, loss
            for step in range(1, steps + 1):
                optimizer.step([gradient])
                loss, gradient = landscape.loss_and_gradient(point)
                if not (np.isfinite(loss) and np.isfinite(point).all()):
                    diverged_at = step
                    break
                path[step], losses[step] = point, loss
        result.append(
            Trajectory(
                function=landscape.name,
                optimizer=name,
                lr=float(optimizer.defaults.get("lr", math.nan)),   # a plugin's optimizer may have no lr
                hyperparameters=MappingProxyType(given),
                path=path,
                losses=losses,
                diverged_at=diverged_at,
            )
        )
    return result
