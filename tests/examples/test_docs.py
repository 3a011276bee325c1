"""The README keeps up with the code: every CLI command and option, every example notebook and
every image it shows exist; binder/ installs what the examples need."""

from __future__ import annotations

import re
from pathlib import Path

from nbtrack.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def test_every_cli_command_and_option_is_in_the_readme() -> None:
    parser = build_parser()
    [commands] = [a for a in parser._actions if a.dest == "command"]
    missing = []
    for name, sub in commands.choices.items():
        if not re.search(rf"`(nbtrack )?{name}\b", README):
            missing.append(name)
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help") and f"`{option}" not in README and f"/{option}" not in README:
                    missing.append(f"{name} {option}")
    assert set(COMMANDS) == set(commands.choices)
    assert not missing, f"README does not document: {', '.join(missing)}"


def test_readme_links_and_images_exist() -> None:
    targets = re.findall(r"\]\(((?!https?://|#)[^)\s]+)\)", README)
    assert any(t.startswith("docs/images/") for t in targets)
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, f"README points at missing files: {missing}"


def test_every_example_notebook_is_listed_in_the_readme() -> None:
    notebooks = sorted(p.name for p in (ROOT / "example_notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 6
    unlisted = [n for n in notebooks if f"example_notebooks/{n}" not in README]
    assert not unlisted, f"README does not list {unlisted}"


def test_binder_installs_nbtrack_and_the_example_extras() -> None:
    post_build = (ROOT / "binder" / "postBuild").read_text()
    pyproject = (ROOT / "pyproject.toml").read_text()
    section = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    extras = set(re.findall(r"^([\w-]+)\s*=\s*\[", section, re.M))
    requested = re.findall(r'"\.\[([\w,-]+)\]"', post_build)
    assert requested, "postBuild must pip install this repository with its extras"
    assert all(extra in extras for group in requested for extra in group.split(","))
    assert "examples" in ",".join(requested)
    assert "torch" in post_build  # the PyTorch example
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    environment = (ROOT / "binder" / "environment.yml").read_text()
    assert re.search(r"^\s*-\s*python=3\.\d+", environment, re.M)
    assert re.search(r"^\s*-\s*nodejs>=2[0-9]", environment, re.M)  # builds the labextension
