"""Parameters cells: parsing, tags, and papermill's injected cell recognised from sources alone."""

from __future__ import annotations

from nbtrack.capture.params import parameter_cells, parameters_of, parse_parameters


def test_parse_literals_and_expressions() -> None:
    source = (
        "lr = 0.01\nepochs: int = 5\nlayers = (64, 32)\na, b = 1, 'two'\npath = Path('data')\nprint('not a param')\n"
    )
    assert parse_parameters(source) == {"lr": 0.01, "epochs": 5, "layers": [64, 32], "a": 1, "b": "two",
                                        "path": "Path('data')"}
    assert parse_parameters("%magic (") == {}


def test_papermill_injected_cell_and_the_cell_before_it() -> None:
    sources = ["import os", "lr = 0.1\nseed = 0", "# Parameters\nlr = 0.5\n", "train()"]
    assert parameter_cells(sources) == {1: "parameters", 2: "injected-parameters"}
    assert parameters_of(sources) == {"lr": 0.5, "seed": 0}


def test_tags_win() -> None:
    sources = ["alpha = 1", "beta = 2"]
    assert parameters_of(sources, [(), ("parameters",)]) == {"beta": 2}
    assert parameters_of(sources) == {}
