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
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
NOTEBOOKS = HERE / "notebooks"
LICENSES = HERE / "licenses"
MANIFEST = HERE / "manifest.json"


@dataclass(frozen=True)
class Source:
    """One pinned sdist on the package index."""

    dist: str  # name for pip
    version: str
    sha256: str
    license: str  # SPDX expression
    license_files: tuple[str, ...]  # paths inside the sdist (after the top folder)


SOURCES: dict[str, Source] = {
    "statsmodels": Source("statsmodels", "0.15.0", "5d257fe58d0772bc46a557880ca78e2a8e07fec7bfd9d11074aef8e33e1aecbc",
                  "BSD-3-Clause", ("LICENSE.txt",)),
    "sklearn": Source("scikit-learn", "1.9.1", "629cada3e33e2b9bf376cdc7614a47a4140b8aedc1d836579e359736fbd82977",
                  "BSD-3-Clause", ("COPYING",)),
    "matplotlib": Source("matplotlib", "3.8.4", "8aac397d5e9ec158960e31c381c5ffc52ddd52bd9a47717e2a694038167dffea",
                  "LicenseRef-Matplotlib (PSF-based, BSD-compatible)", ("LICENSE/LICENSE",)),
    "networkx": Source("networkx", "3.6.1", "26b7c357accc0c8cde558ad486283728b65b6a95d85ee1cd66bafab4c8168509",
                  "BSD-3-Clause", ("LICENSE.txt",)),
    "seaborn": Source("seaborn", "0.13.2", "93e60a40988f4d65e9f4885df477e2fdaff6b73a9ded434c1ab356dd57eefff7",
                  "BSD-3-Clause", ("LICENSE.md",)),
    "lmfit": Source("lmfit", "1.3.4", "3c22c28c43f717f6c5b4a3bd81e893a2149739c26a592c046f2e33c23cfbe497",
                  "BSD-3-Clause", ("LICENSE",)),
    "emcee": Source("emcee", "3.1.6", "11af4daf6ab8f9ca69681e3c29054665db7bbd87fd4eb8e437d2c3a1248c637d",
                  "MIT", ("LICENSE",)),
    "xarray": Source("xarray", "2026.9.0", "6abc69694c22fa1f0fb2f357ff4e41d88beb4477ed71091f944b7dbf67ed54fe",
                  "Apache-2.0", ("LICENSE",)),
    "imblearn": Source("imbalanced-learn", "0.14.2", "f80ce7eafbcece8686e32571bd12978546c729c3f277215bead61a906ce9afe4",
                  "MIT", ("LICENSE",)),
    "ipympl": Source("ipympl", "0.10.0", "eda69602a010af2a42e8ebd069b0ee0dbe8df7fc69d7c1e8b99fece0a2fe613f",
                  "BSD-3-Clause", ("LICENSE",)),
}


@dataclass(frozen=True)
class Entry:
    """One corpus notebook: where it comes from and what we know about it by reading it."""

    source: str  # key of SOURCES
    path: str  # inside the sdist, after the top folder
    name: str  # short name used in the file name
    description: str
    traits: tuple[str, ...] = ()  # traits known from the code (baseline.py adds output traits)
    patches: tuple[tuple[str, str], ...] = ()  # (old, new) literal replacements in code cells
    tags: tuple[tuple[int, str], ...] = ()  # (code cell index, tag) added to the original
    known_causes: tuple[tuple[int, str, str], ...] = ()  # (code cell, cause, why): verified
    notes: str = ""

    def file_name(self, number: int) -> str:
        slug = re.sub(r"[^A-Za-z0-9]+", "_", self.name).strip("_")
        return f"{number:02d}_{self.source}_{slug}.ipynb"


# The catalogue. Order = numbering. Traits named here are the ones visible in the code;
# baseline.py adds the ones visible in the outputs (figures, html-tables, stderr, ...).
CATALOGUE: list[Entry] = [
    # ---- statsmodels: example notebooks shipped in examples/notebooks
    Entry("statsmodels", "examples/notebooks/ols.ipynb", "ols",
          "Ordinary least squares on simulated data: summaries, F tests, influence plots."),
    Entry("statsmodels", "examples/notebooks/glm.ipynb", "glm",
          "GLM binomial and gamma families on bundled datasets with diagnostic plots."),
    Entry("statsmodels", "examples/notebooks/wls.ipynb", "wls",
          "Weighted least squares with heteroscedastic simulated errors, two-stage FWLS."),
    Entry("statsmodels", "examples/notebooks/robust_models_0.ipynb", "robust_models",
          "Robust linear models (Huber, bisquare) against OLS with outliers."),
    Entry("statsmodels", "examples/notebooks/distributed_estimation.ipynb", "distributed_estimation",
          "Distributed estimation of regularized regressions over data partitions."),
    Entry("statsmodels", "examples/notebooks/gee_nested_simulation.ipynb", "gee_nested_simulation",
          "Simulation study of GEE with a nested covariance structure."),
    Entry("statsmodels", "examples/notebooks/discrete_choice_overview.ipynb", "discrete_choice_overview",
          "Logit, probit and multinomial models on bundled data; long printed summaries."),
    Entry("statsmodels", "examples/notebooks/glm_weights.ipynb", "glm_weights",
          "Weighted GLM: frequency vs variance weights; 54 code cells, warnings on stderr."),
    Entry("statsmodels", "examples/notebooks/pca_fertility_factors.ipynb", "pca_fertility",
          "PCA of world fertility data with DataFrames and factor plots."),
    Entry("statsmodels", "examples/notebooks/stationarity_detrending_adf_kpss.ipynb", "stationarity",
          "ADF and KPSS stationarity tests on sunspots data; warnings on stderr."),
    Entry("statsmodels", "examples/notebooks/tsa_dates.ipynb", "tsa_dates",
          "Date-indexed time-series models: AR fit and prediction on dates."),
    Entry("statsmodels", "examples/notebooks/stl_decomposition.ipynb", "stl_decomposition",
          "STL decomposition and forecasting, with %timeit of fits.",
          patches=((
              'co2 = pd.read_csv(\n    "https://raw.githubusercontent.com/statsmodels/smdatasets/refs/heads/'
              'main/data/stl-decomposition/co2.csv",\n    parse_dates=True,\n    index_col=0,\n).iloc[:, 0]',
              '# offline: the bundled weekly Mauna Loa data, as monthly means, instead of a download\n'
              'from statsmodels.datasets import co2 as co2_data\n\n'
              'co2 = co2_data.load_pandas().data["co2"].resample("MS").mean().interpolate()',
          ),),
          notes="Patched: the CO2 series is read from statsmodels' bundled dataset instead of a URL."),
    Entry("statsmodels", "examples/notebooks/statespace_forecasting.ipynb", "statespace_forecasting",
          "State-space forecasting: SARIMAX fits, forecasts, cross-validation loops."),
    Entry("statsmodels", "examples/notebooks/count_hurdle.ipynb", "count_hurdle",
          "Hurdle and truncated count models on simulated data; stdout and stderr mixed."),
    Entry("statsmodels", "examples/notebooks/exponential_smoothing.ipynb", "exponential_smoothing",
          "Holt-Winters exponential smoothing with tables of parameters and forecast plots.",
          traits=("unseeded-rng",),
          notes="fit.simulate() without rng: statsmodels 0.15 draws from a fresh np.random.default_rng(), not from numpy's global state"),
    # ---- scikit-learn: sphinx-gallery examples/
    Entry("sklearn", "examples/classification/plot_lda.py", "lda_shrinkage",
          "LDA with Ledoit-Wolf/OAS shrinkage on blobs drawn without a seed, one figure."),
    Entry("sklearn", "examples/svm/plot_oneclass.py", "oneclass_svm",
          "One-class SVM novelty detection on unseeded np.random data."),
    Entry("sklearn", "examples/datasets/plot_random_multilabel_dataset.py", "random_multilabel",
          "Randomly generated multilabel datasets plotted with printed label statistics."),
    Entry("sklearn", "examples/classification/plot_digits_classification.py", "digits_classification",
          "SVC on the bundled digits dataset: report, confusion matrix, images."),
    Entry("sklearn", "examples/miscellaneous/plot_estimator_representation.py", "estimator_repr",
          "Text and HTML representations of estimators and pipelines."),
    Entry("sklearn", "examples/miscellaneous/plot_pipeline_display.py", "pipeline_display",
          "Interactive HTML diagrams of pipelines, column transformers and grid searches."),
    Entry("sklearn", "examples/ensemble/plot_forest_importances.py", "forest_importances",
          "Impurity and permutation feature importances, with elapsed times printed."),
    Entry("sklearn", "examples/cluster/plot_kmeans_digits.py", "kmeans_digits",
          "K-means on digits: a benchmark table of init methods with fit times."),
    Entry("sklearn", "examples/cluster/plot_birch_vs_minibatchkmeans.py", "birch_vs_minibatchkmeans",
          "BIRCH vs MiniBatchKMeans on 25k points: timings printed, one large figure."),
    Entry("sklearn", "examples/preprocessing/plot_discretization_classification.py", "discretization",
          "Classifiers with and without KBinsDiscretizer on three datasets: a large figure."),
    Entry("sklearn", "examples/neural_networks/plot_mlp_training_curves.py", "mlp_training_curves",
          "MLP learning strategies compared on small datasets; convergence warnings."),
    Entry("sklearn", "examples/model_selection/plot_cv_indices.py", "cv_indices",
          "Visualisation of the indices of cross-validation splitters.",
          traits=("sklearn-no-random-state",),
          notes="ShuffleSplit, GroupShuffleSplit and StratifiedShuffleSplit are built as cv(n_splits=...) without random_state"),
    Entry("sklearn", "examples/cluster/plot_segmentation_toy.py", "segmentation_toy",
          "Spectral clustering of circles in a synthetic image with unseeded noise."),
    Entry("sklearn", "examples/miscellaneous/plot_kernel_approximation.py", "kernel_approximation",
          "RBF feature maps (Nystroem, RBFSampler) vs exact kernel SVM with timing curves."),
    # ---- matplotlib: galleries (examples, tutorials, users_explain)
    Entry("matplotlib", "galleries/examples/showcase/anatomy.py", "anatomy",
          "Annotated anatomy of a figure."),
    Entry("matplotlib", "galleries/users_explain/axes/arranging_axes.py", "arranging_axes",
          "GridSpec, subplot_mosaic and subfigures; 15 figure cells."),
    Entry("matplotlib", "galleries/examples/scales/asinh_demo.py", "asinh_scale",
          "The asinh axis scale on unseeded Cauchy samples."),
    Entry("matplotlib", "galleries/users_explain/customizing.py", "customizing",
          "Style sheets and rcParams, plots of unseeded random data."),
    Entry("matplotlib", "galleries/examples/showcase/mandelbrot.py", "mandelbrot",
          "Shaded Mandelbrot set; the current year is drawn into the image."),
    Entry("matplotlib", "galleries/users_explain/text/mathtext.py", "mathtext",
          "Mathtext expressions in figures."),
    Entry("matplotlib", "galleries/tutorials/pyplot.py", "pyplot_tutorial",
          "The pyplot tutorial: lines, scatter, subplots, text, log scales."),
    Entry("matplotlib", "galleries/examples/showcase/stock_prices.py", "stock_prices",
          "32 years of stock prices from bundled sample data."),
    Entry("matplotlib", "galleries/users_explain/text/text_intro.py", "text_intro",
          "Text, labels and date axes; warnings on stderr."),
    Entry("matplotlib", "galleries/examples/statistics/time_series_histogram.py", "time_series_histogram",
          "Thousands of random walks as a 2D histogram; elapsed seconds printed."),
    Entry("matplotlib", "galleries/users_explain/artists/transforms_tutorial.py", "transforms",
          "Coordinate transforms tutorial with unseeded random data."),
    # ---- seaborn: tutorial and docstring notebooks in doc/ (raw RST cells kept as raw cells)
    Entry("seaborn", "doc/_tutorial/error_bars.ipynb", "error_bars",
          "Error bars: bootstrap confidence intervals drawn without a seed.",
          traits=("unseeded-rng",),
          notes="seaborn bootstraps confidence intervals with np.random.default_rng(None): fresh entropy, not numpy's global state"),
    Entry("seaborn", "doc/_tutorial/aesthetics.ipynb", "aesthetics",
          "Figure styles, contexts and despine, with RST text in raw cells."),
    Entry("seaborn", "doc/_docstrings/color_palette.ipynb", "color_palette",
          "color_palette examples: palettes displayed as HTML swatches and colormaps."),
    # ---- lmfit: sphinx-gallery examples/
    Entry("lmfit", "examples/example_Model_interface.py", "model_interface",
          "Curve fitting with lmfit's Model interface; printed fit reports."),
    Entry("lmfit", "examples/example_fit_jacobian_benchmark.py", "jacobian_benchmark",
          "timeit benchmark of fits with and without analytic Jacobian; times in a figure."),
    Entry("lmfit", "examples/example_detect_outliers.py", "detect_outliers",
          "Leave-one-out outlier detection with repeated fits."),
    Entry("lmfit", "examples/example_fit_with_bounds.py", "fit_with_bounds",
          "Bounded parameters; data from numpy.random after random.seed(0)."),
    # ---- emcee: tutorial notebooks in docs/tutorials
    Entry("emcee", "docs/tutorials/quickstart.ipynb", "quickstart",
          "emcee quickstart: sampling a multivariate Gaussian, histograms of chains."),
    Entry("emcee", "docs/tutorials/line.ipynb", "fit_line",
          "Fitting a line with MCMC: progress bars on stderr, corner plot, LaTeX display."),
    Entry("emcee", "docs/tutorials/moves.ipynb", "moves",
          "Different ensemble moves on a multimodal density, autocorrelation times."),
    # ---- networkx: sphinx-gallery examples/
    Entry("networkx", "examples/algorithms/plot_parallel_betweenness.py", "parallel_betweenness",
          "Betweenness centrality with a multiprocessing Pool vs serial; times printed."),
    Entry("networkx", "examples/graph/plot_karate_club.py", "karate_club",
          "Zachary's karate club graph, degrees printed and drawn."),
    Entry("networkx", "examples/algorithms/plot_girvan_newman.py", "girvan_newman",
          "Girvan-Newman community detection with modularity per step."),
    Entry("networkx", "examples/basic/plot_read_write.py", "read_write",
          "Writing and reading an edge list file in the working folder."),
    Entry("networkx", "examples/basic/plot_properties.py", "properties",
          "Path lengths, radius, diameter and density of a lollipop graph."),
    # ---- xarray: MyST-NB user guide pages (doc/user-guide) and example notebooks
    Entry("xarray", "doc/examples/weather-data.ipynb", "weather_data",
          "Toy weather data: random temperatures on a date range, groupby and plots."),
    Entry("xarray", "doc/user-guide/combining.md", "combining",
          "Combining datasets: concat, merge, combine; one cell raises (tagged raises-exception)."),
    Entry("xarray", "doc/user-guide/data-structures.md", "data_structures",
          "DataArray, Dataset and DataTree, HTML reprs; one cell raises (raises-exception)."),
    Entry("xarray", "doc/user-guide/time-series.md", "time_series",
          "datetime64 indexes, resampling and date ranges."),
    Entry("xarray", "doc/user-guide/groupby.md", "groupby",
          "GroupBy, binning and grouper objects on labelled arrays."),
    Entry("xarray", "doc/user-guide/computation.md", "computation",
          "Arithmetic, rolling windows, weighted reductions; raises-exception cell; 82 code cells.",
          known_causes=((56, "hash-seed", "the two-peak curvefit converges to another optimum "
                         "when PYTHONHASHSEED changes (checked: same seed, same result; the "
                         "random draws are seeded and identical)"),)),
    # ---- imbalanced-learn: sphinx-gallery examples/
    Entry("imblearn", "examples/over-sampling/plot_comparison_over_sampling.py", "over_sampling",
          "Over-sampling methods compared on synthetic data; many large figures."),
    Entry("imblearn", "examples/under-sampling/plot_comparison_under_sampling.py", "under_sampling",
          "Under-sampling methods compared; large figures and warnings.",
          known_causes=((11, "ordering", "the samplers are iterated from a set of estimator "
                         "objects, whose order follows their id(): the subplots swap places"),)),
    Entry("imblearn", "examples/ensemble/plot_bagging_classifier.py", "bagging_classifier",
          "Balanced bagging classifiers, cross-validated scores printed."),
    # ---- ipympl: interactive matplotlib as widgets
    Entry("ipympl", "docs/examples/full-example.ipynb", "widget_figures",
          "ipympl widget figures, widget layouts and sliders (ipywidgets outputs)."),
    # ---- added after the first measurement (appended to keep the numbering stable)
    Entry("networkx", "examples/3d_drawing/plot_3d_animation_walk.py", "animation_walk",
          "A FuncAnimation of a random walk on a 3D graph under the inline backend.",
          notes="imports stdlib random (unseeded random.choice), but only the animation's frame "
          "function draws, and the inline backend renders the init frame alone: the draw never "
          "runs and the output is deterministic"),
]


# The ``fast`` subset for the test suite: varied, and under 2.5 minutes of plain execution
# together. Between them: dates in summaries, memory addresses, unseeded numpy draws, a
# library's own unseeded default_rng, a splitter without random_state, %timeit, timings
# printed, a 1 MB figure, kernel temp paths in warnings on stderr, HTML reprs with ids,
# a raises-exception cell, widgets, and deterministic notebooks.
FAST = {
    ("statsmodels", "ols"), ("statsmodels", "robust_models"), ("statsmodels", "glm_weights"),
    ("statsmodels", "stl_decomposition"), ("sklearn", "oneclass_svm"),
    ("sklearn", "estimator_repr"), ("sklearn", "birch_vs_minibatchkmeans"),
    ("sklearn", "cv_indices"), ("matplotlib", "anatomy"), ("matplotlib", "time_series_histogram"),
    ("seaborn", "error_bars"), ("seaborn", "color_palette"), ("networkx", "karate_club"),
    ("xarray", "combining"), ("ipympl", "widget_figures"),
}


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
    code_index = -1
    for cell in nb["cells"]:
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        meta = {k: v for k, v in cell.get("metadata", {}).items() if k in ("tags",)}
        if cell["cell_type"] == "code":
            code_index += 1
            for old, new in entry.patches:
                source = source.replace(old, new)
            for index, tag in entry.tags:
                if index == code_index:
                    meta.setdefault("tags", []).append(tag)
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
        "added_tags": [{"code_cell": i, "tag": t} for i, t in entry.tags],
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
