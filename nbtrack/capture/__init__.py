"""What a run records from a live kernel (knows IPython; knows nothing of widgets or servers).

- ``hooks``: the ``pre_run_cell``/``post_run_cell`` hooks and ``outputs``: the output tee;
- ``session``: one run's capture (cell records, snapshots, params, warnings) in the writer thread;
- ``tracker``: start/stop/snapshot/status for the ``%nbtrack`` magic (``nbtrack.ipython``);
- ``notebook``: which notebook the kernel runs (server session, VS Code, Colab, env) and reading it;
- ``params``: the ``parameters`` cell; ``environment`` and ``git``: the run's environment;
- ``colab``: Colab's notebook API and widget manager; ``cli``: ``show --notebook``, ``diff`` sections.
"""
