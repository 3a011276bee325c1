"""What a sweep tries: dimensions parsed from text, expanded into the parameters of each trial.

A dimension is ``NAME=SPEC``::

    C=0.1,1,10               values (grid: each one; random and optuna: a categorical choice)
    kernel=choice:rbf,linear the same, spelled out
    lr=uniform:0.001:0.1     a float drawn uniformly between the bounds
    lr=loguniform:1e-4:1e-1  a float whose logarithm is drawn uniformly (bounds > 0)

Values are read as papermill's ``-p`` reads them (`parse_value`): int, float, True/False/None,
else text. The search is one of:

* ``grid``: the cartesian product of the value dimensions, in the order given (the last one varies
  fastest); distributions need ``random`` or ``optuna``.
* ``random``: `count` trials, each drawing every dimension in order from ``random.Random(seed)``,
  so the same dimensions and seed always give the same trials (the seed is recorded).
* ``optuna``: `count` trials asked from an Optuna study (``nbtrack.sweeps.search``), steered by
  the `objective` (a final metric to maximise or minimise).

Fixed parameters go into every trial. Pure Python: no I/O, nothing random outside the seed.
"""

from __future__ import annotations

import itertools
import math
import random
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nbtrack.core.checks import check_identifier
from nbtrack.core.values import read_number

GRID, RANDOM, OPTUNA = "grid", "random", "optuna"
SEARCHES = (GRID, RANDOM, OPTUNA)
VALUES, UNIFORM, LOGUNIFORM = "values", "uniform", "loguniform"
MAXIMIZE, MINIMIZE = "max", "min"


class SpecError(ValueError):
    """A sweep specification that cannot be read or run."""


def _check_name(name: object) -> None:
    """A parameter's name becomes an assignment in the notebook's code (papermill's way)."""
    try:
        check_identifier("parameter", name)
    except ValueError as exc:
        raise SpecError(str(exc)) from None


def parse_value(text: str) -> Any:
    """A parameter value as papermill's ``-p`` reads it: int, float, True/False/None, else text."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    return read_number(text)


@dataclass(frozen=True)
class Dimension:
    """One swept parameter: a list of values, or a distribution between two bounds."""

    name: str
    kind: str = VALUES
    values: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0

    def __post_init__(self) -> None:
        _check_name(self.name)
        if self.kind == VALUES and not self.values:
            raise SpecError(f"{self.name}: give at least one value")
        if self.kind in (UNIFORM, LOGUNIFORM):
            if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
                raise SpecError(f"{self.name}: {self.kind} needs finite bounds LO < HI, not {self.low}:{self.high}")
            if self.kind == LOGUNIFORM and self.low <= 0:
                raise SpecError(f"{self.name}: loguniform needs bounds above 0, not {self.low}")
        elif self.kind != VALUES:
            raise SpecError(f"{self.name}: unknown kind {self.kind!r}")

    @property
    def is_distribution(self) -> bool:
        return self.kind != VALUES

    def sample(self, rng: random.Random) -> Any:
        if self.kind == UNIFORM:
            return rng.uniform(self.low, self.high)
        if self.kind == LOGUNIFORM:
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return rng.choice(self.values)

    def text(self) -> str:
        if self.kind == VALUES:
            return f"{self.name}={','.join(str(v) for v in self.values)}"
        return f"{self.name}={self.kind}:{self.low:g}:{self.high:g}"

    def to_json(self) -> dict[str, Any]:
        if self.kind == VALUES:
            return {"name": self.name, "kind": self.kind, "values": list(self.values)}
        return {"name": self.name, "kind": self.kind, "low": self.low, "high": self.high}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Dimension:
        return cls(str(data["name"]), str(data.get("kind", VALUES)), tuple(data.get("values") or ()),
                   float(data.get("low", 0.0)), float(data.get("high", 0.0)))


def _bounds(name: str, kind: str, text: str) -> tuple[float, float]:
    parts = text.split(":")
    if len(parts) != 2:
        raise SpecError(f"{name}: write {kind}:LO:HI, not {kind}:{text}")
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise SpecError(f"{name}: the bounds of {kind}:{text} are not numbers") from None


def dimension(name: str, spec: Any) -> Dimension:
    """A dimension from the Python API: a list of values, or a ``kind:...`` text as on the
    command line (a text without a kind is a single value)."""
    if isinstance(spec, Dimension):
        return spec
    if isinstance(spec, str):
        kind, _, rest = spec.partition(":")
        if kind in (UNIFORM, LOGUNIFORM):
            return Dimension(name, kind, (), *_bounds(name, kind, rest))
        if kind == "choice":
            return Dimension(name, VALUES, tuple(parse_value(v) for v in rest.split(",")))
        return Dimension(name, VALUES, (spec,))
    if isinstance(spec, Iterable) and not isinstance(spec, (bytes, Mapping)):
        return Dimension(name, VALUES, tuple(spec))
    return Dimension(name, VALUES, (spec,))


def parse_dimension(text: str) -> Dimension:
    """``NAME=V1,V2`` / ``NAME=choice:A,B`` / ``NAME=uniform:LO:HI`` / ``NAME=loguniform:LO:HI``."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name or not spec:
        raise SpecError(f"cannot read {text!r}: write NAME=V1,V2,... or NAME=uniform:LO:HI")
    kind = spec.partition(":")[0]
    if kind in (UNIFORM, LOGUNIFORM, "choice"):
        return dimension(name, spec)
    return Dimension(name, VALUES, tuple(parse_value(v) for v in spec.split(",")))


@dataclass(frozen=True)
class Objective:
    """The final value of a metric to maximise or minimise (``val_acc:max``)."""

    metric: str
    direction: str = MAXIMIZE

    def __post_init__(self) -> None:
        if not self.metric or self.direction not in (MAXIMIZE, MINIMIZE):
            raise SpecError(f"the objective is METRIC:max or METRIC:min, not {self.text()!r}")

    def text(self) -> str:
        return f"{self.metric}:{self.direction}"

    @classmethod
    def parse(cls, text: str) -> Objective:
        metric, _, direction = text.rpartition(":")
        if not metric:
            metric, direction = text, MAXIMIZE
        return cls(metric.strip(), {"maximize": MAXIMIZE, "minimize": MINIMIZE}.get(direction, direction))

    def better(self, a: float, b: float) -> bool:
        """Whether `a` beats `b`."""
        return a > b if self.direction == MAXIMIZE else a < b


@dataclass(frozen=True)
class Spec:
    """A whole sweep's parameters: what is swept, what is fixed, and how trials are chosen."""

    dimensions: tuple[Dimension, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)
    search: str = GRID
    count: int | None = None  # random: trials drawn; optuna: trials asked
    seed: int = 0
    objective: Objective | None = None

    def __post_init__(self) -> None:
        if self.search not in SEARCHES:
            raise SpecError(f"search is one of {', '.join(SEARCHES)}, not {self.search!r}")
        names = [d.name for d in self.dimensions]
        twice = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(self.fixed)))
        if twice:
            raise SpecError(f"parameters given more than once: {', '.join(twice)}")
        if self.search == GRID:
            drawn = [d.text() for d in self.dimensions if d.is_distribution]
            if drawn:
                raise SpecError(f"{', '.join(drawn)}: a distribution needs --random N or --search optuna, not a grid")
        elif self.count is None or self.count < 1:
            raise SpecError(f"a {self.search} search needs a number of trials of at least 1")
        if self.search == OPTUNA and self.objective is None:
            raise SpecError("an optuna search needs an objective (METRIC:max or METRIC:min)")
        if self.search == OPTUNA and not self.dimensions:
            raise SpecError("an optuna search needs at least one dimension to search")

    @property
    def total(self) -> int:
        """How many trials the sweep plans."""
        if self.search == GRID:
            return math.prod(len(d.values) for d in self.dimensions)
        return int(self.count or 0)

    def trials(self) -> list[dict[str, Any]]:
        """The parameters of every trial, in trial order (grid and random searches)."""
        if self.search == OPTUNA:
            raise SpecError("an optuna search asks its trials one by one (nbtrack.sweeps.search)")
        if self.search == GRID:
            names = [d.name for d in self.dimensions]
            combos = itertools.product(*(d.values for d in self.dimensions))
            return [{**self.fixed, **dict(zip(names, combo))} for combo in combos]
        rng = random.Random(self.seed)
        return [{**self.fixed, **{d.name: d.sample(rng) for d in self.dimensions}} for _ in range(self.total)]

    def to_json(self) -> dict[str, Any]:
        return {"dimensions": [d.to_json() for d in self.dimensions], "fixed": dict(self.fixed),
                "search": self.search, "count": self.count, "seed": self.seed,
                "objective": self.objective.text() if self.objective else None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Spec:
        objective = data.get("objective")
        return cls(tuple(Dimension.from_json(d) for d in data.get("dimensions") or ()), dict(data.get("fixed") or {}),
                   str(data.get("search", GRID)), data.get("count"), int(data.get("seed", 0)),
                   Objective.parse(objective) if objective else None)


def new_seed() -> int:
    return secrets.randbits(31)


def make_spec(
    dimensions: Sequence[Dimension] | Mapping[str, Any] = (),
    fixed: Mapping[str, Any] | None = None,
    *,
    random_count: int | None = None,
    search: str | None = None,
    count: int | None = None,
    seed: int | None = None,
    objective: str | Objective | None = None,
) -> Spec:
    """A `Spec` from what a user gives (the CLI's options or ``nbtrack.sweep``'s arguments):
    ``random_count`` alone means a random search of that many trials (``count`` is the number of
    trials of any search); the seed is drawn when not given."""
    dims = tuple(dimension(k, v) for k, v in dimensions.items()) if isinstance(dimensions, Mapping) \
        else tuple(dimensions)
    if search is None:
        search = RANDOM if random_count is not None else GRID
    count = count if count is not None else random_count
    goal = Objective.parse(objective) if isinstance(objective, str) else objective
    for name in fixed or {}:
        _check_name(name)
    return Spec(dims, dict(fixed or {}), search, count, new_seed() if seed is None else int(seed), goal)
