"""Writes the example notebooks of this folder from the cell lists below.

The .ipynb files are committed (with outputs cleared); edit the cells here and run
``python example_notebooks/generate.py`` so the notebooks and this source never drift apart.
Cell ids are derived from the notebook's name and the cell's position, so regenerating an
unchanged notebook gives the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

Cell = tuple[str, str] | tuple[str, str, list[str]]


def md(text: str) -> Cell:
    return ("markdown", text.strip("\n"))


def code(text: str, *tags: str) -> Cell:
    return ("code", text.strip("\n"), list(tags))


QUICKSTART: list[Cell] = [
    md("""
# Quick start: a tracked scikit-learn classifier

A random forest learns to read handwritten digits (scikit-learn's bundled `load_digits`, nothing
is downloaded). Two lines turn tracking on; from then on nbtrack records every cell you run, the
parameters, the metrics you log, a confusion matrix, the environment and a snapshot of this
notebook when the run stops.

Runs go to the store: the nearest `.nbtrack/` folder above this notebook (created here on first
use), or `$NBTRACK_STORE`.
"""),
    md("""
The cell below is tagged `parameters` (papermill's convention): its values become the run's
params, and `nbtrack replay RUN -p max_depth 4` can change them later.
"""),
    code("""
n_estimators = 60
max_depth = 12
seed = 0
""", "parameters"),
    code("""
%load_ext nbtrack
%nbtrack start "digits forest" --tag quickstart --note "how deep must a forest be for digits?"
"""),
    code("""
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

digits = load_digits()
X_train, X_test, y_train, y_test = train_test_split(
    digits.data, digits.target, test_size=0.25, stratify=digits.target, random_state=seed
)
print(f"{len(X_train)} training images, {len(X_test)} test images, {len(digits.target_names)} classes")
"""),
    md("""
The run's live curves: every `nbtrack.log()` below adds a point while the training cell runs.
(Without this cell they appear by themselves at the first `log()` of a run.)
"""),
    code("""
import nbtrack

nbtrack.show_live()
"""),
    md("""
Grow the forest five trees at a time, logging train and test accuracy; every 20 trees a
confusion matrix is logged too.
"""),
    code("""
from sklearn.ensemble import RandomForestClassifier

model = RandomForestClassifier(max_depth=max_depth, warm_start=True, random_state=seed, n_jobs=1)
for trees in range(5, n_estimators + 1, 5):
    model.set_params(n_estimators=trees)
    model.fit(X_train, y_train)
    nbtrack.log(step=trees, train_acc=model.score(X_train, y_train), test_acc=model.score(X_test, y_test))
    if trees % 20 == 0:
        nbtrack.log_confusion_matrix(y_test, model.predict(X_test), labels=list(digits.target_names))
"""),
    code("""
from sklearn.metrics import accuracy_score, f1_score

y_pred = model.predict(X_test)
accuracy = accuracy_score(y_test, y_pred)
f1_macro = f1_score(y_test, y_pred, average="macro")
nbtrack.log(step=n_estimators, accuracy=accuracy, f1_macro=f1_macro)
print(f"accuracy {accuracy:.3f}, macro F1 {f1_macro:.3f}")
"""),
    md("""
The confusion matrices logged above, with counts, row-normalised rates, per-class precision and
recall, and a slider over the steps they were logged at:
"""),
    code("""
nbtrack.show_confusion_matrix()
"""),
    code("""
%nbtrack status
"""),
    code("""
%nbtrack stop
"""),
    md("""
Every run in the store, as a pandas DataFrame (params and metric summaries are columns):
"""),
    code(r"""
runs = nbtrack.runs("tag=quickstart")
runs.filter(regex=r"^(id|name|status|params\.|metrics\.(accuracy|f1_macro)\.last)")
"""),
    md("""
Next: change `max_depth` above and run the notebook again, then compare the runs with
`nbtrack.table()` or `nbtrack.compare(...)` (see `03_compare_and_leaderboard.ipynb`), or from a
terminal: `nbtrack runs tag=quickstart`, `nbtrack show RUN`, `nbtrack diff RUN_A RUN_B`.
"""),
]

PYTORCH: list[Cell] = [
    md("""
# PyTorch on the CPU: live loss curve, model artifact, data version

A small multilayer perceptron learns the 8×8 digits of scikit-learn's bundled `load_digits`
(nothing is downloaded). It needs `torch` (`pip install "nbtrack[examples-torch]"`); the CPU build
is enough and one run takes well under a minute on two cores.
"""),
    code("""
epochs = 25
lr = 0.05
hidden = 64
batch_size = 64
seed = 0
data_path = "data/digits.npz"
""", "parameters"),
    code("""
%load_ext nbtrack
%nbtrack start "digits mlp (torch)" --tag torch --note "a 1-hidden-layer MLP on 8x8 digits"
"""),
    md("""
The data set is written once to `data/digits.npz`; `nbtrack.track_data` stores its content as a
numbered data version (`digits@1`), so a replay (or a colleague) can tell whether they trained on
the same bytes, and `nbtrack replay RUN --data recorded` can train on exactly those bytes again.
"""),
    code("""
import os

import numpy as np
from sklearn.datasets import load_digits

import nbtrack

if not os.path.exists(data_path):
    os.makedirs(os.path.dirname(data_path) or ".", exist_ok=True)
    X, y = load_digits(return_X_y=True)
    np.savez_compressed(data_path, X=(X / 16.0).astype("float32"), y=y.astype("int64"))
version = nbtrack.track_data(data_path)
data = np.load(data_path)
print(f"{len(data['y'])} images from {data_path}")
"""),
    code("""
import torch
from torch import nn

torch.manual_seed(seed)
torch.set_num_threads(1)  # a model this small trains fastest on one thread (more threads only wait on each other)
X = torch.from_numpy(data["X"])
y = torch.from_numpy(data["y"])
order = torch.randperm(len(y))
train_idx, val_idx = order[: int(0.8 * len(y))], order[int(0.8 * len(y)) :]


def make_model() -> nn.Module:
    return nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 10))


model = make_model()
optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
loss_fn = nn.CrossEntropyLoss()
"""),
    md("""
`nbtrack.show_live()` shows the run's curves and follows them while the next cell trains (they
would also appear on their own at the first `log()`; asking explicitly picks the charts: both
losses on one, accuracy on another).
"""),
    code("""
nbtrack.show_live(metrics=[["train_loss", "val_loss"], ["val_acc"]])
"""),
    code("""
def evaluate() -> tuple[float, float]:
    model.eval()
    with torch.no_grad():
        logits = model(X[val_idx])
        return loss_fn(logits, y[val_idx]).item(), (logits.argmax(1) == y[val_idx]).float().mean().item()


for epoch in range(1, epochs + 1):
    model.train()
    shuffled = train_idx[torch.randperm(len(train_idx))]
    total = 0.0
    for start in range(0, len(shuffled), batch_size):
        batch = shuffled[start : start + batch_size]
        optimizer.zero_grad()
        loss = loss_fn(model(X[batch]), y[batch])
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    val_loss, val_acc = evaluate()
    nbtrack.log(step=epoch, train_loss=total / len(shuffled), val_loss=val_loss, val_acc=val_acc)
print(f"validation accuracy after {epochs} epochs: {val_acc:.3f}")
"""),
    md("""
The trained weights become an artifact of the run (stored once by content hash), and the last
validation predictions a confusion matrix.
"""),
    code("""
torch.save(model.state_dict(), "model.pt")
nbtrack.log_artifact("model.pt")
with torch.no_grad():
    nbtrack.log_confusion_matrix(y[val_idx].tolist(), model(X[val_idx]).argmax(1).tolist())
run_id = nbtrack.active_run().id
"""),
    code("""
%nbtrack stop
"""),
    md("""
Anyone with access to the store can get the model back from the run, without the notebook:
"""),
    code("""
run = nbtrack.get_run(run_id)
restored = make_model()
restored.load_state_dict(torch.load(run.artifact_path("model.pt"), weights_only=True))
restored.eval()
with torch.no_grad():
    restored_acc = (restored(X[val_idx]).argmax(1) == y[val_idx]).float().mean().item()
print(f"run {run.id}: {run.status}; restored model accuracy {restored_acc:.3f}")
print("data:", [(d["path"], d["sha256"][:12]) for d in run.data])
"""),
]

COMPARE: list[Cell] = [
    md("""
# Compare runs: a small sweep, the leaderboard and the compare view

Nine runs of a linear classifier (scikit-learn's `SGDClassifier` on the bundled digits) with
different regularisation and learning rates, each a separate nbtrack run started from Python
with `nbtrack.start(...)`. Then the run table as a DataFrame, as a sortable and filterable
widget (`nbtrack.table`), and the best and worst runs side by side (`nbtrack.compare`).
"""),
    code("""
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import nbtrack

X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_val = scaler.transform(X_train), scaler.transform(X_val)
classes = np.unique(y)
"""),
    md("""
One run per setting. Live curves are switched off for this cell (nine charts would be noise);
the comparison below overlays the curves instead.
"""),
    code("""
nbtrack.auto_live(False)


def train(alpha: float, eta0: float, epochs: int = 15, seed: int = 0) -> str:
    params = {"alpha": alpha, "eta0": eta0, "epochs": epochs, "seed": seed}
    with nbtrack.start(f"sgd alpha={alpha:g} eta0={eta0:g}", tags=["sweep"], params=params) as run:
        model = SGDClassifier(loss="log_loss", alpha=alpha, learning_rate="constant", eta0=eta0, random_state=seed)
        for epoch in range(1, epochs + 1):
            model.partial_fit(X_train, y_train, classes=classes)
            nbtrack.log(
                step=epoch,
                train_loss=log_loss(y_train, model.predict_proba(X_train), labels=classes),
                val_loss=log_loss(y_val, model.predict_proba(X_val), labels=classes),
                val_acc=model.score(X_val, y_val),
            )
    return run.id


run_ids = [train(alpha, eta0) for alpha in (1e-4, 1e-3, 1e-2) for eta0 in (0.001, 0.01, 0.1)]
nbtrack.auto_live(None)  # back to the default
print(f"{len(run_ids)} runs recorded")
"""),
    md("""
The leaderboard as a DataFrame: params and metric summaries (`last`, `min`, `max`) are columns.
"""),
    code("""
sweep = nbtrack.runs("tag=sweep")
sweep = sweep[sweep["id"].isin(run_ids)].sort_values("metrics.val_acc.last", ascending=False)
sweep[["id", "name", "params.alpha", "params.eta0", "metrics.val_acc.last", "metrics.val_loss.min"]]
"""),
    md("""
The same runs as a live widget: click a header to sort, type a filter such as
`sweep val_acc>0.95 eta0<0.1`, select rows and press Compare. It pages through the kernel (10,000
runs stay fast) and picks up new runs as they arrive, anyone's.
"""),
    code("""
nbtrack.table("tag=sweep")
"""),
    md("""
The best and the worst run: curves overlaid, params with the differences highlighted,
environment differences and the cell-by-cell diff.
"""),
    code("""
best, worst = sweep["id"].iloc[0], sweep["id"].iloc[-1]
nbtrack.compare(best, worst)
"""),
    md("""
The same from a terminal (any unique prefix of a run id works):
"""),
    code("""
!nbtrack runs "tag=sweep val_acc>0.95"
"""),
    code("""
!nbtrack diff {best} {worst}
"""),
]

TRAIN_WINE: list[Cell] = [
    md("""
# Wine classifier (the run that `04_replay.ipynb` reproduces)

Reads the wine measurements from `data_path` (a CSV written by `04_replay.ipynb` from
scikit-learn's bundled `load_wine`), stores the file as a data version, and logs the 5-fold
cross-validated accuracy of a logistic regression. Deterministic: no random numbers.
"""),
    code("""
data_path = "data/wine.csv"
C = 1.0
""", "parameters"),
    code("""
%load_ext nbtrack
%nbtrack start "wine logistic regression" --tag wine --note "baseline on the lab's first batch"
"""),
    code("""
import pandas as pd

import nbtrack

data = pd.read_csv(data_path)
nbtrack.track_data(data_path)
X, y = data.drop(columns="target"), data["target"]
print(f"{len(data)} wines, {X.shape[1]} measurements each")
"""),
    code("""
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
scores = cross_val_score(model, X, y, cv=5)
nbtrack.log(cv_accuracy=scores.mean(), cv_accuracy_std=scores.std())
print(f"5-fold accuracy: {scores.mean():.4f} ± {scores.std():.4f}")
"""),
    code("""
%nbtrack stop
"""),
]

REPLAY: list[Cell] = [
    md("""
# Replay: reproduce a run, then re-target it on new data

`nbtrack.replay(run)` rebuilds the notebook from the run's snapshot, executes it with papermill
in a fresh kernel, records the replay as a new run linked to the original (`replay_of`) and
compares the two: every cell's outputs, every metric's final value, the environment and the data.
The verdict is one of *reproduced*, *reproduced within tolerance*, *differs* or *failed*.

The run replayed here comes from `train_wine.ipynb`; this notebook runs it once for you if the
store has no run of it yet.
"""),
    code("""
import os

import numpy as np
from sklearn.datasets import load_wine

import nbtrack

os.makedirs("data", exist_ok=True)
wine = load_wine(as_frame=True).frame
wine.to_csv("data/wine.csv", index=False)

# A "new batch" from the lab: a resample of the same wines with 5% measurement noise.
rng = np.random.default_rng(7)
batch = wine.sample(frac=1.0, replace=True, random_state=7).reset_index(drop=True)
measurements = batch.columns.drop("target")
batch[measurements] = batch[measurements] * rng.normal(1.0, 0.05, size=batch[measurements].shape)
batch.to_csv("data/wine_new_batch.csv", index=False)
print(f"data/wine.csv: {len(wine)} rows, data/wine_new_batch.csv: {len(batch)} rows")
"""),
    code("""
def wine_originals():
    runs = nbtrack.runs("tag=wine status=finished")
    return runs[runs["replay_of"].isna()].sort_values("start")


if wine_originals().empty:  # run train_wine.ipynb once, as a colleague would have
    import papermill

    os.makedirs("runs", exist_ok=True)
    papermill.execute_notebook(
        "train_wine.ipynb", "runs/train_wine.ipynb", parameters={"data_path": "data/wine.csv"}, progress_bar=False
    )
original = wine_originals().iloc[-1]
print(f"replaying run {original['id']} ({original['name']!r} by {original['user']}), "
      f"cv_accuracy {original['metrics.cv_accuracy.last']:.4f}")
"""),
    md("""
## 1. Reproduce

Same notebook, same parameters, same data: the verdict should be *reproduced*. The report lists
every cell whose outputs differ (numbers are compared with a relative tolerance of 1e-6; timings,
memory addresses, dates and run ids are ignored), each metric's final value in both runs, the
packages that differ from the original's environment and whether the data files are the same.
"""),
    code("""
from nbtrack.replay.report import render

result = nbtrack.replay(original["id"])
print("\\n".join(render(result.report)))
"""),
    md("""
## 2. Re-target on new data

The same notebook with one parameter changed. A different data set is reported as a
difference (not a failure): the report shows the data versions that changed and how the
metrics moved.
"""),
    code("""
retarget = nbtrack.replay(original["id"], parameters={"data_path": "data/wine_new_batch.csv"})
print("\\n".join(render(retarget.report)))
"""),
    md("""
## 3. Both replays are runs too

Each replay is a run of its own, tracked like an interactive one, linked to its original:
"""),
    code("""
replays = nbtrack.runs("tag=wine")
replays = replays[replays["replay_of"] == original["id"]]
replays[["id", "name", "status", "replay_of", "params.data_path", "metrics.cv_accuracy.last"]]
"""),
    md("""
## 4. From a terminal or CI

`nbtrack replay` prints the report and exits with 0 only when the run reproduced (within
tolerance), 1 when it differs and 3 when it failed, so it can guard a result in CI. `--yes` skips the confirmation asked before running
someone else's code.
"""),
    code("""
!nbtrack replay {original["id"]} --yes --no-progress
print(f"exit code {_exit_code}")  # IPython keeps the exit code of the last ! command
"""),
]

TEAM: list[Cell] = [
    md("""
# Team: one shared store, portable bundles

A store is just a URL, so a team shares one by pointing at the same place:

| store | URL |
|---|---|
| a folder (local, network mount, synced drive) | `/mnt/team/runs`, `/content/drive/MyDrive/team-runs` (Colab) |
| a bucket | `s3://bucket/runs`, `gs://bucket/runs` (`pip install "nbtrack[s3]"` / `"nbtrack[gcs]"`) |
| a Jupyter server running nbtrack | `https://host/nbtrack?token=...` |

Each run has its own append-only log written only by its own process, so everyone can write at
once without locks; every machine keeps its own index of the store. Here a local folder,
`team-store/`, plays the shared mount, and two people log runs into it.
"""),
    code("""
import os

from sklearn.datasets import load_iris
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

import nbtrack

team_store = "team-store"
X, y = load_iris(return_X_y=True)
nbtrack.auto_live(False)  # one number per run: no live charts


def knn_run(user: str, k: int) -> str:
    os.environ["NBTRACK_USER"] = user  # who a run belongs to (default: git user name, else the OS account)
    with nbtrack.start(f"iris knn k={k}", tags=["team"], params={"k": k}, store=team_store) as run:
        nbtrack.log(cv_accuracy=cross_val_score(KNeighborsClassifier(n_neighbors=k), X, y, cv=5).mean())
    return run.id


ana_runs = [knn_run("ana", k) for k in (1, 5)]
ben_runs = [knn_run("ben", k) for k in (15, 40)]
del os.environ["NBTRACK_USER"]
nbtrack.auto_live(None)
"""),
    md("""
Everyone sees everyone's runs; filter by `user=`:
"""),
    code("""
team = nbtrack.runs("tag=team", store=team_store)
team[team["id"].isin(ana_runs + ben_runs)][["id", "name", "user", "params.k", "metrics.cv_accuracy.last"]]
"""),
    code("""
nbtrack.runs("user=ben tag=team", store=team_store)[["id", "name", "user"]]
"""),
    md("""
The run table widget works on any store:
"""),
    code("""
nbtrack.table("tag=team", store=team_store)
"""),
    md("""
## Sending runs by mail: export and import

`nbtrack export` writes runs with every blob they need (cells, snapshot, environment, artifacts)
into one zip; `nbtrack import` checks every hash and adds what is missing, so importing twice
adds nothing.
"""),
    code("""
best = team[team["id"].isin(ana_runs + ben_runs)].sort_values("metrics.cv_accuracy.last").iloc[-1]["id"]
!nbtrack --store {team_store} export {best} -o best-knn.nbtrack.zip
"""),
    code("""
!nbtrack --store my-store import best-knn.nbtrack.zip
!nbtrack --store my-store import best-knn.nbtrack.zip
!nbtrack --store my-store runs
"""),
    md("""
## Keeping two stores in step

`nbtrack sync SRC DST` copies every run and blob that DST lacks (for example from a laptop's
store to the team bucket):
"""),
    code("""
!nbtrack sync {team_store} my-store
mine = nbtrack.runs(store="my-store")
print(f"my-store now holds {len(mine)} runs by {sorted(mine['user'].unique())}")
"""),
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_pytorch_training.ipynb": PYTORCH,
    "03_compare_and_leaderboard.ipynb": COMPARE,
    "04_replay.ipynb": REPLAY,
    "05_team_store.ipynb": TEAM,
    "train_wine.ipynb": TRAIN_WINE,
}


def build(name: str, cells: list[Cell]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    stem = Path(name).stem
    for position, (kind, source, *rest) in enumerate(cells):
        cell_id = f"{stem}-{position:02d}"[-64:]
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source, id=cell_id)
        else:
            cell = nbformat.v4.new_code_cell(source, id=cell_id)
            if rest and rest[0]:
                cell.metadata["tags"] = rest[0]
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else HERE
    for name, cells in NOTEBOOKS.items():
        nbformat.write(build(name, cells), folder / name)
        print(f"wrote {folder / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
