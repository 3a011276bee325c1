"""What a run records from a live kernel (knows IPython's data; knows nothing of widgets or servers).

- ``session``: one run's capture (cell records, snapshots, params, warnings) in the writer thread;
- ``notebook``: which notebook the kernel runs (server session, VS Code, Colab, env) and reading it;
- ``outputs``: a cell's outputs as nbformat outputs; ``params``: the ``parameters`` cell;
- ``environment`` and ``git``: the run's environment; ``colab``: Colab's notebook API and widgets.

The IPython event hooks and the ``%nbtrack`` magic that drive it live in ``nbtrack.ipython``.
"""
