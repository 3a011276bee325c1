"""Regenerate the replay-fidelity corpus from pinned source distributions.

Every notebook in ``notebooks/`` was written by other people and ships inside the source
distribution (sdist) of a library on the package index. This script downloads those sdists
with pip (pinned versions, checked against the sha256 below), extracts the notebook or
sphinx-gallery script, converts it to a plain ``.ipynb`` (outputs stripped, kernel
``python3``) and writes ``notebooks/NN_<source>_<name>.ipynb``. It also copies each
source's license into ``licenses/`` and writes the static part of ``manifest.json``
(``baseline.py`` adds the measured part).

    .venv/bin/python benchmarks/corpus/build.py            # download (cached) + write
    .venv/bin/python benchmarks/corpus/build.py --check    # rebuilt notebooks == committed

Conversion needs ``sphinx-gallery`` (gallery ``.py`` scripts: ``# %%`` or ``####`` blocks
with RST comments become code and markdown cells) and ``jupytext`` (MyST markdown
notebooks); running the committed notebooks needs neither. Downloads are cached in
``.cache/sdists`` (git-ignored). pip prepares each sdist's metadata, which for the
compiled libraries (scikit-learn, statsmodels) means a native build of a few minutes the
first time; the cache makes later runs instant.

Changes to the originals are kept to what running offline and headless needs, and each is
listed in the catalogue entry (``patches``) and the manifest.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

try:
    from .catalogue import CATALOGUE, FAST, SOURCES, Entry, Source
except ImportError:  # run as a script: python benchmarks/corpus/build.py
    from catalogue import CATALOGUE, FAST, SOURCES, Entry, Source

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
NOTEBOOKS = HERE / "notebooks"
LICENSES = HERE / "licenses"
MANIFEST = HERE / "manifest.json"


# --------------------------------------------------------------------------- download


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sdist(source: Source) -> Path:
    """The cached sdist of ``source``, downloaded with pip when missing."""
    folder = CACHE / "sdists"
    folder.mkdir(parents=True, exist_ok=True)
    stem = source.dist.replace("-", "_").lower()
    for candidate in folder.glob("*.tar.gz"):
        name = candidate.name.lower().replace("-", "_")
        if name == f"{stem}_{source.version}.tar.gz":
            break
    else:
        env = dict(os.environ, SKIP_JUPYTER_BUILDER="1")  # ipympl: no JS build for metadata
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
               source.dist, "-d", str(folder), f"{source.dist}=={source.version}"]
        print("$", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, env=env)
        return sdist(source)
    digest = _sha256(candidate)
    if source.sha256 and digest != source.sha256:
        raise SystemExit(f"{candidate.name}: sha256 {digest} != pinned {source.sha256}")
    return candidate


_MEMBERS: dict[tuple[str, str], bytes] = {}


def read_member(source: Source, path: str) -> bytes:
    """One file of the sdist (path after its top folder). The first call for a source
    reads, in one pass over the archive, every file the catalogue and licenses need."""
    key = (source.dist, path)
    if key not in _MEMBERS:
        wanted = {e.path for e in CATALOGUE if SOURCES[e.source] is source}
        wanted |= set(source.license_files) | {path}
        with tarfile.open(sdist(source)) as tar:
            for member in tar:
                inner = member.name.split("/", 1)[-1]
                if member.isfile() and inner in wanted:
                    _MEMBERS[(source.dist, inner)] = tar.extractfile(member).read()
    if key not in _MEMBERS:
        raise FileNotFoundError(f"{path} in {source.dist} {source.version}")
    return _MEMBERS[key]


# --------------------------------------------------------------------------- convert


KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def from_gallery_script(text: str, path: str) -> dict:
    """A sphinx-gallery example script as a notebook, the way sphinx-gallery converts it."""
    import tempfile

    from sphinx_gallery import gen_gallery
    from sphinx_gallery.notebook import jupyter_notebook
    from sphinx_gallery.py_source_parser import split_code_and_text_blocks

    conf = copy.deepcopy(gen_gallery.DEFAULT_GALLERY_CONF)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / Path(path).name
        script.write_text(text, encoding="utf-8")
        blocks = split_code_and_text_blocks(str(script))[1]
        return jupyter_notebook(blocks, conf, tmp)


def from_myst(text: str) -> dict:
    """A MyST-NB markdown notebook (``{code-cell}`` blocks) as a notebook."""
    import jupytext

    # jupytext validates the front matter's kernelspec, which MyST files give without a name
    text = re.sub(r"(kernelspec:\n  name: python3\n)", r"\1  display_name: Python 3\n", text, count=1)
    return jupytext.reads(text, fmt="md:myst")


def normalize(nb: dict, entry: Entry) -> dict:
    """Outputs stripped, kernel python3, only the metadata that matters, patches applied."""
    import nbformat

    nb = json.loads(json.dumps(nb, default=dict))
    cells = []
    for cell in nb["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        meta = {k: v for k, v in cell.get("metadata", {}).items() if k in ("tags",)}
        if cell["cell_type"] == "code":
            for old, new in entry.patches:
                source = source.replace(old, new)
            cells.append(nbformat.v4.new_code_cell(source, metadata=meta))
        elif cell["cell_type"] == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(source, metadata=meta))
        else:
            cells.append(nbformat.v4.new_raw_cell(source, metadata=meta))
    applied = "\n".join(c.source for c in cells if c.cell_type == "code")
    for old, new in entry.patches:
        if new not in applied:
            raise SystemExit(f"{entry.name}: patch {old!r} -> {new!r} did not apply")
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
        "corpus": {"source": entry.source, "path": entry.path},
    }
    for i, cell in enumerate(out.cells):
        cell["id"] = f"c{i:03d}"
    nbformat.validate(out)
    return out


def convert(entry: Entry) -> dict:
    source = SOURCES[entry.source]
    raw = read_member(source, entry.path).decode("utf-8")
    if entry.path.endswith(".py"):
        nb = from_gallery_script(raw, entry.path)
    elif entry.path.endswith(".md"):
        nb = from_myst(raw)
    else:
        nb = json.loads(raw)
    return normalize(nb, entry)


def dumps(nb: dict) -> str:
    import nbformat

    return nbformat.writes(nbformat.from_dict(nb)) + "\n"


# --------------------------------------------------------------------------- manifest


def imports_of(nb: dict) -> list[str]:
    found: set[str] = set()
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for line in cell["source"].splitlines():
            m = re.match(r"\s*(?:from\s+([A-Za-z_][\w]*)[\w.]*\s+import|import\s+([\w., ]+))", line)
            if not m:
                continue
            names = [m.group(1)] if m.group(1) else [n.strip().split(".")[0].split(" ")[0]
                                                     for n in m.group(2).split(",")]
            found.update(n for n in names if n)
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    return sorted(n for n in found if n not in stdlib)


# sklearn callables that draw from numpy's global generator unless given random_state
_SKLEARN_RANDOM = {
    "KMeans", "MiniBatchKMeans", "BisectingKMeans", "SpectralClustering", "RandomForestClassifier",
    "RandomForestRegressor", "ExtraTreesClassifier", "ExtraTreesRegressor", "GradientBoostingClassifier",
    "GradientBoostingRegressor", "HistGradientBoostingClassifier", "HistGradientBoostingRegressor",
    "BaggingClassifier", "BaggingRegressor", "AdaBoostClassifier", "AdaBoostRegressor",
    "DecisionTreeClassifier", "DecisionTreeRegressor", "IsolationForest", "MLPClassifier",
    "MLPRegressor", "SGDClassifier", "SGDRegressor", "Perceptron", "LinearSVC", "SVC", "NuSVC",
    "LogisticRegression", "train_test_split", "ShuffleSplit", "StratifiedShuffleSplit",
    "GroupShuffleSplit", "RandomizedSearchCV", "TSNE", "MDS", "LocallyLinearEmbedding",
    "SpectralEmbedding", "Isomap", "GaussianMixture", "BayesianGaussianMixture",
    "make_blobs", "make_classification", "make_moons", "make_circles", "make_regression",
    "make_multilabel_classification", "make_s_curve", "make_swiss_roll", "make_sparse_coded_signal",
    "FastICA", "NMF", "MiniBatchDictionaryLearning", "DictionaryLearning", "TruncatedSVD",
    "RBFSampler", "Nystroem", "SkewedChi2Sampler", "RandomTreesEmbedding", "BernoulliRBM",
    "LassoLarsIC", "ElasticNet", "Lasso", "permutation_importance", "cross_val_score",
    "RandomUnderSampler", "RandomOverSampler", "SMOTE", "ADASYN", "BorderlineSMOTE",
    "make_imbalance", "NearMiss", "BalancedRandomForestClassifier", "BalancedBaggingClassifier",
    "EasyEnsembleClassifier", "RUSBoostClassifier", "SMOTEENN", "SMOTETomek", "KMeansSMOTE",
    "ClusterCentroids", "InstanceHardnessThreshold", "CondensedNearestNeighbour",
}
# of those, the ones whose randomness matters only with shuffle=True or a random solver
_SKLEARN_SHUFFLE_ONLY = {"LogisticRegression", "SVC", "NuSVC", "LinearSVC", "Lasso", "ElasticNet",
                         "DecisionTreeClassifier", "DecisionTreeRegressor", "cross_val_score",
                         "LassoLarsIC", "Isomap", "NearMiss"}
_NP_DRAWS = (r"rand|randn|randint|random|random_sample|normal|uniform|choice|shuffle|permutation|"
             r"multivariate_normal|standard_normal|binomial|poisson|exponential|gamma|beta|"
             r"standard_t|lognormal|laplace|logistic|chisquare|negative_binomial|geometric")


def code_traits(nb: dict) -> list[str]:
    """Traits visible in the code: generators used without a seed, timing, dates, widgets."""
    import ast

    code = "\n".join(c["source"] for c in nb["cells"] if c["cell_type"] == "code")
    traits = set()
    # a draw from numpy's global generator before any np.random.seed (in cell order)
    # (``from numpy import random`` makes a bare ``random.`` numpy's)
    prefix = r"(?:np\.)?" if re.search(r"from numpy import [^\n]*\brandom\b", code) else r"np\."
    seeded = False
    for cell in (c for c in nb["cells"] if c["cell_type"] == "code"):
        draw = re.search(rf"\b{prefix}random\.(?:{_NP_DRAWS})\(", cell["source"])
        seed = re.search(rf"\b{prefix}random\.seed\(", cell["source"])
        if draw and not seeded and (not seed or draw.start() < seed.start()):
            traits.add("unseeded-numpy")
        seeded = seeded or bool(seed)
    if re.search(r"default_rng\(\s*\)", code):
        traits.add("unseeded-rng")
    if re.search(r"^\s*import random\b", code, re.M) and re.search(r"\brandom\.\w+\(", code) \
            and not re.search(r"\brandom\.seed\(", code):
        traits.add("unseeded-random")
    if re.search(r"%%?timeit\b", code):
        traits.add("timeit")
    if re.search(r"\btime\.(?:time|perf_counter|process_time|monotonic)\(|\bperf_counter\(|"
                 r"\btimeit\(|%%?time\b|\bfit_time\b|mean_fit_time|score_time", code):
        traits.add("timing")
    if re.search(r"\b(?:datetime|date)\.(?:now|today)\(|\btime\.strftime\(|\bsummary\(\)", code) \
            and ("statsmodels" in code or "datetime" in code or "strftime" in code):
        traits.add("dates")
    if re.search(r"\bimport ipywidgets|from ipywidgets|%matplotlib (?:widget|ipympl)", code):
        traits.add("widgets")
    # sklearn-style random estimators and splitters called without random_state
    plain = "\n".join(
        line for c in nb["cells"] if c["cell_type"] == "code" for line in c["source"].splitlines()
        if not line.lstrip().startswith(("%", "!"))
    )
    try:
        tree = ast.parse(plain)
    except SyntaxError:
        tree = None
    for node in ast.walk(tree) if tree else ():
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in _SKLEARN_RANDOM:
            continue
        keywords = {k.arg for k in node.keywords}
        if "random_state" in keywords or None in keywords:
            continue
        if any(k.arg == "shuffle" and getattr(k.value, "value", None) is False for k in node.keywords):
            continue
        if name in _SKLEARN_SHUFFLE_ONLY:
            shuffle = any(k.arg == "shuffle" and getattr(k.value, "value", None) is True
                          for k in node.keywords)
            solver = any(k.arg in ("solver", "dual") and getattr(k.value, "value", None) in
                         ("sag", "saga", "liblinear", True) for k in node.keywords)
            if not (shuffle or solver or (name == "SVC" and "probability" in keywords)):
                continue
        traits.add("sklearn-no-random-state")
    return sorted(traits)


def static_record(entry: Entry, file_name: str, nb: dict) -> dict:
    source = SOURCES[entry.source]
    code = sum(c["cell_type"] == "code" for c in nb["cells"])
    markdown = sum(c["cell_type"] == "markdown" for c in nb["cells"])
    return {
        "file": f"notebooks/{file_name}",
        "source": {"package": source.dist, "version": source.version, "path": entry.path},
        "license": source.license,
        "description": entry.description,
        "cells": {"code": code, "markdown": markdown,
                  "raw": sum(c["cell_type"] == "raw" for c in nb["cells"])},
        "imports": imports_of(nb),
        "traits": sorted(set(entry.traits) | set(code_traits(nb))),
        "patches": [{"old": o, "new": n} for o, n in entry.patches],
        "known_causes": [{"code_cell": i, "cause": c, "why": w} for i, c, w in entry.known_causes],
        "subset": "fast" if (entry.source, entry.name) in FAST else None,
        "notes": entry.notes,
    }


def merge_manifest(records: list[dict]) -> dict:
    """Static records from the catalogue + measured fields kept from the existing manifest."""
    old = {}
    if MANIFEST.exists():
        old = {r["file"]: r for r in json.loads(MANIFEST.read_text())["notebooks"]}
    merged = []
    for record in records:
        previous = old.get(record["file"], {})
        measured = {k: v for k, v in previous.items() if k not in record}
        traits = set(record["traits"]) | set(previous.get("output_traits", []))
        if previous.get("baseline", {}).get("deterministic"):
            traits.add("deterministic")
        traits = sorted(traits)
        merged.append({**record, **measured, "traits": traits})
    header = {
        "description": "Replay-fidelity corpus: third-party notebooks from pinned sdists. "
        "Static fields come from build.py, measured ones from baseline.py.",
        "sources": {
            key: {"package": s.dist, "version": s.version, "sha256": s.sha256, "license": s.license,
                  "license_file": f"licenses/{s.dist}-{s.version}.txt"}
            for key, s in SOURCES.items()
        },
    }
    if MANIFEST.exists():
        header.update({k: v for k, v in json.loads(MANIFEST.read_text()).items()
                       if k not in ("notebooks", "sources", "description")})
    return {**header, "notebooks": merged}


# --------------------------------------------------------------------------- main


def build(check: bool) -> int:
    missing = FAST - {(e.source, e.name) for e in CATALOGUE}
    if missing:
        raise SystemExit(f"FAST names entries not in the catalogue: {sorted(missing)}")
    NOTEBOOKS.mkdir(exist_ok=True)
    LICENSES.mkdir(exist_ok=True)
    wanted: dict[str, str] = {}
    records = []
    for number, entry in enumerate(CATALOGUE, start=1):
        nb = convert(entry)
        name = entry.file_name(number)
        wanted[name] = dumps(nb)
        records.append(static_record(entry, name, nb))
    licenses = {}
    for source in SOURCES.values():
        text = "\n\n".join(
            f"==== {path} ({source.dist} {source.version}) ====\n\n"
            + read_member(source, path).decode("utf-8")
            for path in source.license_files
        )
        licenses[f"{source.dist}-{source.version}.txt"] = text
    if check:
        bad = [n for n, text in wanted.items()
               if not (NOTEBOOKS / n).exists() or (NOTEBOOKS / n).read_text() != text]
        extra = sorted({p.name for p in NOTEBOOKS.glob("*.ipynb")} - set(wanted))
        for n in bad:
            print("differs:", n)
        for n in extra:
            print("not in catalogue:", n)
        return 1 if bad or extra else 0
    for old in NOTEBOOKS.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for name, text in wanted.items():
        (NOTEBOOKS / name).write_text(text, encoding="utf-8")
    for name, text in licenses.items():
        (LICENSES / name).write_text(text, encoding="utf-8")
    MANIFEST.write_text(json.dumps(merge_manifest(records), indent=1) + "\n")
    print(f"wrote {len(wanted)} notebooks to {NOTEBOOKS}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when a rebuilt notebook differs from the committed one")
    args = parser.parse_args()
    return build(args.check)


if __name__ == "__main__":
    raise SystemExit(main())
