/**
 * The extension's commands. Those acting on runs take an explicit `id` (and `against` for a
 * second run), else they act on the sidebar's selection; when they cannot work they are
 * disabled and their caption (the button's tooltip) says why.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, MainAreaWidget, Notification, showErrorMessage } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { PathExt } from '@jupyterlab/coreutils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ToolbarButton, downloadIcon, notebookIcon, stopIcon } from '@jupyterlab/ui-components';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { chartPoints, compareWidget, MetricSeries } from './compare';
import { DiffView } from './diff';
import { runLabel } from './dom';
import { downloadFile, downloadNotebook, reportFileName, saveAsNotebook, snapshotFileName } from './files';
import { compareIcon, diffIcon, recordIcon, replayIcon, reportIcon, snapshotIcon } from './icons';
import { replayWidget } from './replay';
import { askReplay } from './replaydialog';
import { IDiffPayload, INotebookJSON, IReplayPlan, IRunDetail, IRunSummary, query, requestAPI, seg } from './request';
import { CommandIDs, RunsPanel } from './sidebar';
import { SnapshotView } from './snapshot';
import { ActiveRunModel, askRunName, kernelOf, setTracking } from './status';

export interface ICommandContext {
  app: JupyterFrontEnd;
  tracker: INotebookTracker;
  panel: RunsPanel;
  model: ActiveRunModel;
  rendermime: IRenderMimeRegistry;
  editorServices: IEditorServices;
}

const quoted = (run: IRunSummary) => `“${runLabel(run)}”`;
const NO_SNAPSHOT = (run: IRunSummary) =>
  `${quoted(run)} has no notebook snapshot (it was not recorded from a notebook)`;

export function registerCommands(ctx: ICommandContext): void {
  const { app, tracker, panel, model } = ctx;
  const { commands, shell } = app;
  const open = new Map<string, Widget>();

  /** Show a main-area view, or the one already open under this key. */
  const show = (key: string, create: () => Widget | Promise<Widget>) => async () => {
    const existing = open.get(key);
    if (existing && !existing.isDisposed) {
      shell.activateById(existing.id);
      return;
    }
    const widget = await create();
    widget.id = `nbtrack-${key}`.replace(/[^\w-]/g, '_');
    open.set(key, widget);
    widget.disposed.connect(() => open.delete(key));
    shell.add(widget, 'main');
    shell.activateById(widget.id);
  };
  const fail = (what: string) => (e: unknown) =>
    void showErrorMessage(`nbtrack: ${what}`, (e as Error).message ?? String(e));
  const explicit = (args: ReadonlyPartialJSONObject) => (typeof args.id === 'string' ? args.id : null);
  const selection = () => panel.selection;
  /** The runs a command acts on: its `ids` argument, else the selection, oldest first. */
  const idsOf = (args: ReadonlyPartialJSONObject): string[] =>
    Array.isArray(args.ids)
      ? (args.ids as string[])
      : [...selection()].sort((x, y) => x.start.localeCompare(y.start)).map(r => r.id);
  const notebookPath = () => tracker.currentWidget?.context.path ?? null;

  /** Why a run-with-snapshot command cannot act on the selection (null: it can). */
  const oneSnapshotReason = (verb: string): string | null => {
    const runs = selection();
    if (runs.length !== 1) {
      return runs.length ? `Select one run to ${verb} (${runs.length} selected)` : `Select a run to ${verb}`;
    }
    const state = panel.snapshotState(runs[0]);
    return state === false ? NO_SNAPSHOT(runs[0]) : state === 'unknown' ? `Checking ${quoted(runs[0])}…` : null;
  };
  const diffReason = (): string | null => {
    const runs = selection();
    if (runs.length === 0) {
      return 'Select a run to diff against the open notebook, or two runs to diff them';
    }
    if (runs.length > 2) {
      return `Select one or two runs to diff (${runs.length} selected)`;
    }
    for (const run of runs) {
      const state = panel.snapshotState(run);
      if (state !== true) {
        return state === false ? NO_SNAPSHOT(run) : `Checking ${quoted(run)}…`;
      }
    }
    return runs.length === 1 && !notebookPath() ? `Open a notebook to diff ${quoted(runs[0])} against it` : null;
  };

  commands.addCommand(CommandIDs.showRuns, {
    label: 'Show nbtrack Runs',
    execute: async args => {
      shell.activateById(panel.id);
      const id = explicit(args);
      if (id) {
        await panel.reveal(id);
      }
    }
  });
  commands.addCommand(CommandIDs.refreshRuns, { label: 'Refresh nbtrack Runs', execute: () => panel.refresh() });

  /** A run and its latest notebook snapshot. */
  const fetchSnapshot = (id: string) =>
    Promise.all([
      requestAPI<IRunDetail>(`runs/${seg(id)}`),
      requestAPI<INotebookJSON>(`runs/${seg(id)}/notebook`)
    ]);

  const openSnapshot = async (id: string) => {
    const [run, nb] = await fetchSnapshot(id);
    const view = new SnapshotView({
      run, notebook: nb, snapshotIndex: run.snapshots.length - 1, rendermime: ctx.rendermime, editorServices: ctx.editorServices
    });
    const button = (name: string, props: ConstructorParameters<typeof ToolbarButton>[0]) => {
      const widget = new ToolbarButton(props);
      widget.addClass(`nbtrack-snapshot-${name}`);
      view.toolbar.addItem(name, widget);
    };
    button('open-as-notebook', {
      icon: notebookIcon, label: 'Open as notebook', tooltip: 'Save an editable copy next to the current notebook and open it',
      onClick: () => void commands.execute(CommandIDs.openAsNotebook, { id: run.id })
    });
    button('download', {
      icon: downloadIcon, label: 'Download', tooltip: 'Download the snapshot as an .ipynb file',
      onClick: () => downloadNotebook(snapshotFileName(run), nb)
    });
    button('replay', {
      icon: replayIcon, label: 'Replay…', tooltip: 'Run this snapshot again and compare the results',
      onClick: () => void commands.execute(CommandIDs.replayRun, { id: run.id })
    });
    button('diff', {
      icon: diffIcon, label: 'Compare with current notebook',
      tooltip: 'Cell-by-cell diff of this snapshot against the notebook open now (as saved)',
      onClick: () => void commands.execute(CommandIDs.diffRun, { id: run.id })
    });
    return view;
  };
  commands.addCommand(CommandIDs.openSnapshot, {
    label: 'Open Snapshot',
    caption: args => (explicit(args) ? 'Open the run’s notebook snapshot' : (oneSnapshotReason('open its notebook snapshot') ?? `Open the notebook snapshot of ${quoted(selection()[0])} (read-only)`)),
    icon: snapshotIcon,
    isEnabled: args => !!explicit(args) || oneSnapshotReason('open') === null,
    execute: async args => {
      const id = explicit(args) ?? selection()[0]?.id;
      if (id) {
        await show(`snapshot-${id}`, () => openSnapshot(id))().catch(fail('open snapshot'));
      }
    }
  });

  commands.addCommand(CommandIDs.diffRun, {
    label: args => (explicit(args) ? 'Diff with Current Notebook' : 'Diff'),
    caption: args => {
      if (explicit(args)) {
        return 'Cell-by-cell diff of the run’s snapshot against the notebook open now';
      }
      const reason = diffReason();
      const runs = selection();
      return reason ?? (runs.length === 2
        ? `Diff the notebooks of ${quoted(runs[0])} and ${quoted(runs[1])} cell by cell`
        : `Diff the snapshot of ${quoted(runs[0])} against ${PathExt.basename(notebookPath() ?? '')}`);
    },
    icon: diffIcon,
    isEnabled: args => !!explicit(args) || diffReason() === null,
    execute: async args => {
      const runs = selection();
      let a = explicit(args);
      let against = typeof args.against === 'string' ? args.against : null;
      if (!a && runs.length === 2) {
        const [older, newer] = [...runs].sort((x, y) => x.start.localeCompare(y.start));
        [a, against] = [older.id, newer.id];
      }
      a = a ?? runs[0]?.id ?? null;
      const notebook = tracker.currentWidget;
      if (!a || (!against && !notebook)) {
        return;
      }
      const path = against ? null : notebook!.context.path;
      const note = !against && notebook?.context.model.dirty
        ? 'The notebook has unsaved changes: the diff uses the saved file.'
        : undefined;
      const key = `diff-${a}-${against ?? path}`;
      open.get(key)?.dispose(); // a diff against a notebook is stale once it changes
      await show(key, async () => {
        const payload = await requestAPI<IDiffPayload>(`runs/${seg(a!)}/diff` + query(against ? { against } : { path }));
        return new DiffView({ payload, path, rendermime: ctx.rendermime, note });
      })().catch(fail('diff'));
    }
  });

  const compareReason = () => {
    const n = selection().length;
    return n < 2 ? `Select two or more runs to compare (${n} selected): ctrl/shift-click or tick their boxes` : null;
  };
  commands.addCommand(CommandIDs.compareRuns, {
    label: 'Compare',
    caption: () => compareReason() ?? `Compare ${selection().length} runs: parameters, metrics and charts`,
    icon: compareIcon,
    isEnabled: args => Array.isArray(args.ids) || compareReason() === null,
    execute: async args => {
      const ids = idsOf(args);
      if (ids.length < 2) {
        return;
      }
      await show(`compare-${ids.join('-')}`, async () => {
        const runs = await Promise.all(ids.map(id => requestAPI<IRunDetail>(`runs/${seg(id)}`)));
        // each run's min/max envelope at the width the charts draw (a few thousand points, whatever the run logged)
        const points = chartPoints();
        const series = await Promise.all(ids.map(id => requestAPI<MetricSeries>(`runs/${seg(id)}/metrics?points=${points}`)));
        return compareWidget(runs, series) as MainAreaWidget;
      })().catch(fail('compare'));
    }
  });

  const reportReason = () => (selection().length ? null : 'Select one or more runs to export as an HTML report');
  commands.addCommand(CommandIDs.exportReport, {
    label: 'Export Report',
    caption: () => {
      const runs = selection();
      return reportReason() ?? (runs.length === 1
        ? `Save ${quoted(runs[0])} as one HTML file that opens anywhere, offline`
        : `Save ${runs.length} runs and their comparison as one HTML file that opens anywhere, offline`);
    },
    icon: reportIcon,
    isEnabled: args => Array.isArray(args.ids) || reportReason() === null,
    execute: async args => {
      const ids = idsOf(args);
      if (!ids.length) {
        return;
      }
      try {
        const page = await requestAPI<string>('report' + query({ runs: ids.join(',') }));
        downloadFile(reportFileName(ids), new Blob([page], { type: 'text/html' }));
        Notification.success(`Saved the report of ${ids.length === 1 ? 'the run' : `${ids.length} runs`} (${reportFileName(ids)})`, { autoClose: 4000 });
      } catch (e) {
        fail('export report')(e);
      }
    }
  });

  commands.addCommand(CommandIDs.replayRun, {
    label: 'Replay…',
    caption: args => (explicit(args) ? 'Replay the run' : (oneSnapshotReason('replay') ?? `Run ${quoted(selection()[0])} again and compare the results`)),
    icon: replayIcon,
    isEnabled: args => !!explicit(args) || oneSnapshotReason('replay') === null,
    execute: async args => {
      const id = explicit(args) ?? selection()[0]?.id;
      if (!id) {
        return;
      }
      try {
        const plan = await requestAPI<IReplayPlan>(`runs/${seg(id)}/replay`);
        if (!plan.snapshots) {
          throw new Error(NO_SNAPSHOT({ ...plan, id: plan.run } as unknown as IRunSummary));
        }
        const request = await askReplay(plan);
        if (!request) {
          return;
        }
        const { job } = await requestAPI<{ job: string }>('replay', { method: 'POST', body: JSON.stringify(request) });
        await show(`replay-${job}`, () => replayWidget(plan, job, commands))();
        window.setTimeout(() => void panel.refresh(), 1500);
      } catch (e) {
        fail('replay')(e);
      }
    }
  });

  commands.addCommand(CommandIDs.openAsNotebook, {
    label: 'Open Snapshot as Notebook',
    caption: 'Save the snapshot as a new notebook next to the current one and open it',
    isEnabled: args => !!explicit(args) || oneSnapshotReason('open') === null,
    execute: async args => {
      const id = explicit(args) ?? selection()[0]?.id;
      if (!id) {
        return;
      }
      try {
        const [run, nb] = await fetchSnapshot(id);
        const folder = PathExt.dirname(notebookPath() ?? '');
        const path = await saveAsNotebook(app.serviceManager.contents, folder, snapshotFileName(run), nb);
        await commands.execute('docmanager:open', { path });
      } catch (e) {
        fail('open as notebook')(e);
      }
    }
  });

  commands.addCommand(CommandIDs.copyRunId, {
    label: 'Copy Run Id',
    isEnabled: args => !!explicit(args) || selection().length === 1,
    execute: args => Clipboard.copyToSystem(explicit(args) ?? selection()[0]?.id ?? '')
  });

  const panelOf = (args: ReadonlyPartialJSONObject) =>
    (typeof args.panel === 'string' ? tracker.find(p => p.id === args.panel) : null) ?? tracker.currentWidget;
  const activeOf = (args: ReadonlyPartialJSONObject) => model.get(kernelOf(panelOf(args)));
  const start = async (args: ReadonlyPartialJSONObject) => {
    const notebook = panelOf(args);
    const name = notebook ? await askRunName() : undefined;
    if (notebook && name !== undefined) {
      await setTracking(notebook, model, true, name);
    }
  };
  const stop = async (args: ReadonlyPartialJSONObject) => {
    const notebook = panelOf(args);
    if (notebook) {
      await setTracking(notebook, model, false);
    }
  };
  commands.addCommand(CommandIDs.startTracking, {
    label: 'Start nbtrack Run in Current Notebook…',
    isEnabled: args => kernelOf(panelOf(args)) !== null && activeOf(args) === null,
    execute: start
  });
  commands.addCommand(CommandIDs.stopTracking, {
    label: 'Stop nbtrack Run in Current Notebook',
    isEnabled: args => activeOf(args) !== null,
    execute: stop
  });
  commands.addCommand(CommandIDs.toggleTracking, {
    label: args => (activeOf(args) ? 'Stop run' : 'Start run'),
    caption: args => {
      const active = activeOf(args);
      if (active?.run) {
        return `Stop the nbtrack run “${runLabel(active.run)}” (${active.run.id})`;
      }
      return kernelOf(panelOf(args))
        ? 'Start a tracked nbtrack run in this notebook’s kernel (asks for an optional name)'
        : 'Start the notebook’s kernel to track a run';
    },
    icon: args => (activeOf(args) ? stopIcon : recordIcon),
    isToggled: args => activeOf(args) !== null,
    isEnabled: args => kernelOf(panelOf(args)) !== null,
    execute: args => (activeOf(args) ? stop(args) : start(args))
  });

  model.changed.connect(() => commands.notifyCommandChanged());
  panel.selectionChanged.connect(() => commands.notifyCommandChanged());
  panel.opened.connect((_, id) => {
    const run = panel.selection.find(r => r.id === id);
    if (run && panel.snapshotState(run) === false) {
      Notification.warning(NO_SNAPSHOT(run), { autoClose: 6000 }); // known: no request, no modal
      return;
    }
    void commands.execute(CommandIDs.openSnapshot, { id });
  });
}
