"""The corpus catalogue: pinned source distributions and the notebooks taken from them.

Data only; ``build.py`` turns it into ``notebooks/`` and ``manifest.json``. To add a
notebook, append an ``Entry`` (appending keeps the numbers of the others, and with them
their measured fields in the manifest), run build.py, then ``baseline.py --only NN_``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


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
    known_causes: tuple[tuple[int, str, str], ...] = ()  # (code cell, cause, why): verified
    notes: str = ""

    def file_name(self, number: int) -> str:
        slug = re.sub(r"[^A-Za-z0-9]+", "_", self.name).strip("_")
        return f"{number:02d}_{self.source}_{slug}.ipynb"


# The catalogue. Order = numbering. Traits named here are the ones visible in the code;
# baseline.py adds the ones visible in the outputs (figures, html-tables, stderr, ...).
CATALOGUE: list[Entry] = [
    # ---- statsmodels: example notebooks shipped in examples/notebooks
    Entry(
        "statsmodels",
        "examples/notebooks/ols.ipynb",
        "ols",
        "Ordinary least squares on simulated data: summaries, F tests, influence plots.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/glm.ipynb",
        "glm",
        "GLM binomial and gamma families on bundled datasets with diagnostic plots.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/wls.ipynb",
        "wls",
        "Weighted least squares with heteroscedastic simulated errors, two-stage FWLS.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/robust_models_0.ipynb",
        "robust_models",
        "Robust linear models (Huber, bisquare) against OLS with outliers.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/distributed_estimation.ipynb",
        "distributed_estimation",
        "Distributed estimation of regularized regressions over data partitions.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/gee_nested_simulation.ipynb",
        "gee_nested_simulation",
        "Simulation study of GEE with a nested covariance structure.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/discrete_choice_overview.ipynb",
        "discrete_choice_overview",
        "Logit, probit and multinomial models on bundled data; long printed summaries.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/glm_weights.ipynb",
        "glm_weights",
        "Weighted GLM: frequency vs variance weights; 54 code cells, warnings on stderr.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/pca_fertility_factors.ipynb",
        "pca_fertility",
        "PCA of world fertility data with DataFrames and factor plots.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/stationarity_detrending_adf_kpss.ipynb",
        "stationarity",
        "ADF and KPSS stationarity tests on sunspots data; warnings on stderr.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/tsa_dates.ipynb",
        "tsa_dates",
        "Date-indexed time-series models: AR fit and prediction on dates.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/stl_decomposition.ipynb",
        "stl_decomposition",
        "STL decomposition and forecasting, with %timeit of fits.",
        patches=(
            (
                'co2 = pd.read_csv(\n    "https://raw.githubusercontent.com/statsmodels/smdatasets/refs/heads/'
                'main/data/stl-decomposition/co2.csv",\n    parse_dates=True,\n    index_col=0,\n).iloc[:, 0]',
                "# offline: the bundled weekly Mauna Loa data, as monthly means, instead of a download\n"
                "from statsmodels.datasets import co2 as co2_data\n\n"
                'co2 = co2_data.load_pandas().data["co2"].resample("MS").mean().interpolate()',
            ),
        ),
        notes="Patched: the CO2 series is read from statsmodels' bundled dataset instead of a URL.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/statespace_forecasting.ipynb",
        "statespace_forecasting",
        "State-space forecasting: SARIMAX fits, forecasts, cross-validation loops.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/count_hurdle.ipynb",
        "count_hurdle",
        "Hurdle and truncated count models on simulated data; stdout and stderr mixed.",
    ),
    Entry(
        "statsmodels",
        "examples/notebooks/exponential_smoothing.ipynb",
        "exponential_smoothing",
        "Holt-Winters exponential smoothing with tables of parameters and forecast plots.",
        traits=("unseeded-rng",),
        notes=(
            "fit.simulate() without rng: statsmodels 0.15 draws from a fresh np.random.default_rng(), not from "
            "numpy's global state"
        ),
    ),
    # ---- scikit-learn: sphinx-gallery examples/
    Entry(
        "sklearn",
        "examples/classification/plot_lda.py",
        "lda_shrinkage",
        "LDA with Ledoit-Wolf/OAS shrinkage on blobs drawn without a seed, one figure.",
    ),
    Entry(
        "sklearn",
        "examples/svm/plot_oneclass.py",
        "oneclass_svm",
        "One-class SVM novelty detection on unseeded np.random data.",
    ),
    Entry(
        "sklearn",
        "examples/datasets/plot_random_multilabel_dataset.py",
        "random_multilabel",
        "Randomly generated multilabel datasets plotted with printed label statistics.",
    ),
    Entry(
        "sklearn",
        "examples/classification/plot_digits_classification.py",
        "digits_classification",
        "SVC on the bundled digits dataset: report, confusion matrix, images.",
    ),
    Entry(
        "sklearn",
        "examples/miscellaneous/plot_estimator_representation.py",
        "estimator_repr",
        "Text and HTML representations of estimators and pipelines.",
    ),
    Entry(
        "sklearn",
        "examples/miscellaneous/plot_pipeline_display.py",
        "pipeline_display",
        "Interactive HTML diagrams of pipelines, column transformers and grid searches.",
    ),
    Entry(
        "sklearn",
        "examples/ensemble/plot_forest_importances.py",
        "forest_importances",
        "Impurity and permutation feature importances, with elapsed times printed.",
    ),
    Entry(
        "sklearn",
        "examples/cluster/plot_kmeans_digits.py",
        "kmeans_digits",
        "K-means on digits: a benchmark table of init methods with fit times.",
    ),
    Entry(
        "sklearn",
        "examples/cluster/plot_birch_vs_minibatchkmeans.py",
        "birch_vs_minibatchkmeans",
        "BIRCH vs MiniBatchKMeans on 25k points: timings printed, one large figure.",
    ),
    Entry(
        "sklearn",
        "examples/preprocessing/plot_discretization_classification.py",
        "discretization",
        "Classifiers with and without KBinsDiscretizer on three datasets: a large figure.",
    ),
    Entry(
        "sklearn",
        "examples/neural_networks/plot_mlp_training_curves.py",
        "mlp_training_curves",
        "MLP learning strategies compared on small datasets; convergence warnings.",
    ),
    Entry(
        "sklearn",
        "examples/model_selection/plot_cv_indices.py",
        "cv_indices",
        "Visualisation of the indices of cross-validation splitters.",
        traits=("sklearn-no-random-state",),
        notes=(
            "ShuffleSplit, GroupShuffleSplit and StratifiedShuffleSplit are built as cv(n_splits=...) without "
            "random_state"
        ),
    ),
    Entry(
        "sklearn",
        "examples/cluster/plot_segmentation_toy.py",
        "segmentation_toy",
        "Spectral clustering of circles in a synthetic image with unseeded noise.",
    ),
    Entry(
        "sklearn",
        "examples/miscellaneous/plot_kernel_approximation.py",
        "kernel_approximation",
        "RBF feature maps (Nystroem, RBFSampler) vs exact kernel SVM with timing curves.",
    ),
    # ---- matplotlib: galleries (examples, tutorials, users_explain)
    Entry("matplotlib", "galleries/examples/showcase/anatomy.py", "anatomy", "Annotated anatomy of a figure."),
    Entry(
        "matplotlib",
        "galleries/users_explain/axes/arranging_axes.py",
        "arranging_axes",
        "GridSpec, subplot_mosaic and subfigures; 15 figure cells.",
    ),
    Entry(
        "matplotlib",
        "galleries/examples/scales/asinh_demo.py",
        "asinh_scale",
        "The asinh axis scale on unseeded Cauchy samples.",
    ),
    Entry(
        "matplotlib",
        "galleries/users_explain/customizing.py",
        "customizing",
        "Style sheets and rcParams, plots of unseeded random data.",
    ),
    Entry(
        "matplotlib",
        "galleries/examples/showcase/mandelbrot.py",
        "mandelbrot",
        "Shaded Mandelbrot set; the current year is drawn into the image.",
    ),
    Entry("matplotlib", "galleries/users_explain/text/mathtext.py", "mathtext", "Mathtext expressions in figures."),
    Entry(
        "matplotlib",
        "galleries/tutorials/pyplot.py",
        "pyplot_tutorial",
        "The pyplot tutorial: lines, scatter, subplots, text, log scales.",
    ),
    Entry(
        "matplotlib",
        "galleries/examples/showcase/stock_prices.py",
        "stock_prices",
        "32 years of stock prices from bundled sample data.",
    ),
    Entry(
        "matplotlib",
        "galleries/users_explain/text/text_intro.py",
        "text_intro",
        "Text, labels and date axes; warnings on stderr.",
    ),
    Entry(
        "matplotlib",
        "galleries/examples/statistics/time_series_histogram.py",
        "time_series_histogram",
        "Thousands of random walks as a 2D histogram; elapsed seconds printed.",
    ),
    Entry(
        "matplotlib",
        "galleries/users_explain/artists/transforms_tutorial.py",
        "transforms",
        "Coordinate transforms tutorial with unseeded random data.",
    ),
    # ---- seaborn: tutorial and docstring notebooks in doc/ (raw RST cells kept as raw cells)
    Entry(
        "seaborn",
        "doc/_tutorial/error_bars.ipynb",
        "error_bars",
        "Error bars: bootstrap confidence intervals drawn without a seed.",
        traits=("unseeded-rng",),
        notes=(
            "seaborn bootstraps confidence intervals with np.random.default_rng(None): fresh entropy, not numpy's "
            "global state"
        ),
    ),
    Entry(
        "seaborn",
        "doc/_tutorial/aesthetics.ipynb",
        "aesthetics",
        "Figure styles, contexts and despine, with RST text in raw cells.",
    ),
    Entry(
        "seaborn",
        "doc/_docstrings/color_palette.ipynb",
        "color_palette",
        "color_palette examples: palettes displayed as HTML swatches and colormaps.",
    ),
    # ---- lmfit: sphinx-gallery examples/
    Entry(
        "lmfit",
        "examples/example_Model_interface.py",
        "model_interface",
        "Curve fitting with lmfit's Model interface; printed fit reports.",
    ),
    Entry(
        "lmfit",
        "examples/example_fit_jacobian_benchmark.py",
        "jacobian_benchmark",
        "timeit benchmark of fits with and without analytic Jacobian; times in a figure.",
    ),
    Entry(
        "lmfit",
        "examples/example_detect_outliers.py",
        "detect_outliers",
        "Leave-one-out outlier detection with repeated fits.",
    ),
    Entry(
        "lmfit",
        "examples/example_fit_with_bounds.py",
        "fit_with_bounds",
        "Bounded parameters; data from numpy.random after random.seed(0).",
    ),
    # ---- emcee: tutorial notebooks in docs/tutorials
    Entry(
        "emcee",
        "docs/tutorials/quickstart.ipynb",
        "quickstart",
        "emcee quickstart: sampling a multivariate Gaussian, histograms of chains.",
    ),
    Entry(
        "emcee",
        "docs/tutorials/line.ipynb",
        "fit_line",
        "Fitting a line with MCMC: progress bars on stderr, corner plot, LaTeX display.",
    ),
    Entry(
        "emcee",
        "docs/tutorials/moves.ipynb",
        "moves",
        "Different ensemble moves on a multimodal density, autocorrelation times.",
    ),
    # ---- networkx: sphinx-gallery examples/
    Entry(
        "networkx",
        "examples/algorithms/plot_parallel_betweenness.py",
        "parallel_betweenness",
        "Betweenness centrality with a multiprocessing Pool vs serial; times printed.",
    ),
    Entry(
        "networkx",
        "examples/graph/plot_karate_club.py",
        "karate_club",
        "Zachary's karate club graph, degrees printed and drawn.",
    ),
    Entry(
        "networkx",
        "examples/algorithms/plot_girvan_newman.py",
        "girvan_newman",
        "Girvan-Newman community detection with modularity per step.",
    ),
    Entry(
        "networkx",
        "examples/basic/plot_read_write.py",
        "read_write",
        "Writing and reading an edge list file in the working folder.",
    ),
    Entry(
        "networkx",
        "examples/basic/plot_properties.py",
        "properties",
        "Path lengths, radius, diameter and density of a lollipop graph.",
    ),
    # ---- xarray: MyST-NB user guide pages (doc/user-guide) and example notebooks
    Entry(
        "xarray",
        "doc/examples/weather-data.ipynb",
        "weather_data",
        "Toy weather data: random temperatures on a date range, groupby and plots.",
    ),
    Entry(
        "xarray",
        "doc/user-guide/combining.md",
        "combining",
        "Combining datasets: concat, merge, combine; one cell raises (tagged raises-exception).",
    ),
    Entry(
        "xarray",
        "doc/user-guide/data-structures.md",
        "data_structures",
        "DataArray, Dataset and DataTree, HTML reprs; one cell raises (raises-exception).",
    ),
    Entry("xarray", "doc/user-guide/time-series.md", "time_series", "datetime64 indexes, resampling and date ranges."),
    Entry("xarray", "doc/user-guide/groupby.md", "groupby", "GroupBy, binning and grouper objects on labelled arrays."),
    Entry(
        "xarray",
        "doc/user-guide/computation.md",
        "computation",
        "Arithmetic, rolling windows, weighted reductions; raises-exception cell; 82 code cells.",
        known_causes=(
            (
                56,
                "hash-seed",
                "the two-peak curvefit converges to another optimum "
                "when PYTHONHASHSEED changes (checked: same seed, same result; the "
                "random draws are seeded and identical)",
            ),
        ),
    ),
    # ---- imbalanced-learn: sphinx-gallery examples/
    Entry(
        "imblearn",
        "examples/over-sampling/plot_comparison_over_sampling.py",
        "over_sampling",
        "Over-sampling methods compared on synthetic data; many large figures.",
    ),
    Entry(
        "imblearn",
        "examples/under-sampling/plot_comparison_under_sampling.py",
        "under_sampling",
        "Under-sampling methods compared; large figures and warnings.",
        known_causes=tuple(
            (
                cell,
                "ordering",
                "the samplers are iterated from a set of estimator objects, "
                "whose order follows their id(): the subplots swap places",
            )
            for cell in (6, 11)
        ),
    ),
    Entry(
        "imblearn",
        "examples/ensemble/plot_bagging_classifier.py",
        "bagging_classifier",
        "Balanced bagging classifiers, cross-validated scores printed.",
    ),
    # ---- ipympl: interactive matplotlib as widgets
    Entry(
        "ipympl",
        "docs/examples/full-example.ipynb",
        "widget_figures",
        "ipympl widget figures, widget layouts and sliders (ipywidgets outputs).",
    ),
    # ---- added after the first measurement (appended to keep the numbering stable)
    Entry(
        "networkx",
        "examples/3d_drawing/plot_3d_animation_walk.py",
        "animation_walk",
        "A FuncAnimation of a random walk on a 3D graph under the inline backend.",
        notes="imports stdlib random (unseeded random.choice), but only the animation's frame "
        "function draws, and the inline backend renders the init frame alone: the draw never "
        "runs and the output is deterministic",
    ),
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
