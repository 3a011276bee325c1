/**
 * nbtrack JupyterLab / Notebook 7 extension: plugin wiring and commands.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { IDiffResult, INotebookJSON, IRunSummary, query, requestAPI, seg } from './request';
import { CommandIDs, RunsPanel } from './sidebar';
import {
  ActiveRunModel,
  ActiveRunStatus,
  TrackingButtonExtension,
  kernelOf,
  setTracking
} from './status';
import { askReplay, replayWidget } from './replay';
import { ViewOpener, renderDiff, renderSnapshot } from './views';

const PALETTE_CATEGORY = 'nbtrack';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbtrack:plugin',
  description: 'Runs sidebar, active-run status and start/stop button for nbtrack.',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILabShell, IStatusBar, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    labShell: ILabShell | null,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const { commands, shell } = app;
    const model = new ActiveRunModel(tracker);
    const panel = new RunsPanel(tracker, commands);
    if (labShell) {
      labShell.add(panel, 'left', { rank: 850, type: 'nbtrack Runs' });
    } else {
      shell.add(panel, 'left', { rank: 850 }); // Notebook 7 and other shells
    }
    restorer?.add(panel, panel.id);

    const views = new ViewOpener(widget => {
      if (!widget.isAttached) {
        shell.add(widget, 'main');
      }
      shell.activateById(widget.id);
    });

    app.docRegistry.addWidgetExtension('Notebook', new TrackingButtonExtension(model));

    if (statusBar) {
      const item = new ActiveRunStatus(model);
      statusBar.registerStatusItem('nbtrack:active-run', {
        item,
        align: 'left',
        rank: 4,
        isActive: () => model.current !== null,
        activeStateChanged: model.changed
      });
    }

    /** The run named by command args, else the one selected in the sidebar. */
    const runArgs = (args: ReadonlyPartialJSONObject): { id: string; name: string } | null => {
      if (typeof args.id === 'string') {
        return { id: args.id, name: typeof args.name === 'string' && args.name ? args.name : args.id };
      }
      const run = panel.selectedRun;
      return run ? { id: run.id, name: run.name || run.id } : null;
    };
    const fail = (what: string) => (e: unknown) =>
      void showErrorMessage(`nbtrack: ${what}`, (e as Error).message ?? String(e));
    const hasRun = (args: ReadonlyPartialJSONObject) => runArgs(args) !== null;

    commands.addCommand(CommandIDs.showRuns, {
      label: 'Show nbtrack Runs',
      execute: () => shell.activateById(panel.id)
    });
    commands.addCommand(CommandIDs.refreshRuns, {
      label: 'Refresh nbtrack Runs',
      execute: () => panel.refresh()
    });

    commands.addCommand(CommandIDs.openSnapshot, {
      label: 'Open Snapshot of nbtrack Run (read-only)',
      isEnabled: hasRun,
      execute: async args => {
        const run = runArgs(args);
        if (!run) {
          return;
        }
        try {
          const nb = await requestAPI<INotebookJSON>(`runs/${seg(run.id)}/notebook`);
          views.open(`nbtrack-snapshot-${run.id}`, () => renderSnapshot(run.name, run.id, nb));
        } catch (e) {
          fail('open snapshot')(e);
        }
      }
    });

    commands.addCommand(CommandIDs.diffRun, {
      label: 'Diff nbtrack Run Against Current Notebook',
      isEnabled: args => hasRun(args) && tracker.currentWidget !== null,
      execute: async args => {
        const run = runArgs(args);
        const notebook = tracker.currentWidget;
        if (!run || !notebook) {
          return;
        }
        const path = notebook.context.path;
        try {
          const diff = await requestAPI<IDiffResult>(
            `runs/${seg(run.id)}/diff` + query({ path })
          );
          const note = notebook.context.model.dirty
            ? 'The notebook has unsaved changes; the diff uses the saved file.'
            : undefined;
          views.open(`nbtrack-diff-${run.id}`, () => renderDiff(run.name, run.id, path, diff, note));
        } catch (e) {
          fail('diff')(e);
        }
      }
    });

    commands.addCommand(CommandIDs.replayRun, {
      label: 'Replay nbtrack Run…',
      isEnabled: hasRun,
      execute: async args => {
        const run = runArgs(args);
        if (!run) {
          return;
        }
        try {
          const detail = await requestAPI<IRunSummary>(`runs/${seg(run.id)}`);
          const choice = await askReplay(detail.name || run.name, detail.params ?? {});
          if (!choice) {
            return;
          }
          const { job } = await requestAPI<{ job: string }>('replay', {
            method: 'POST',
            body: JSON.stringify({ run: run.id, ...choice })
          });
          views.open(`nbtrack-replay-${job}`, () => replayWidget(detail.name || run.name, job));
          window.setTimeout(() => void panel.refresh(), 1500);
        } catch (e) {
          fail('replay')(e);
        }
      }
    });

    const currentHasKernel = () => kernelOf(tracker.currentWidget) !== null;
    commands.addCommand(CommandIDs.startTracking, {
      label: 'Start nbtrack Run in Current Notebook',
      isEnabled: () => currentHasKernel() && model.current === null,
      execute: () => tracker.currentWidget && setTracking(tracker.currentWidget, model, true)
    });
    commands.addCommand(CommandIDs.stopTracking, {
      label: 'Stop nbtrack Run in Current Notebook',
      isEnabled: () => currentHasKernel() && model.current !== null,
      execute: () => tracker.currentWidget && setTracking(tracker.currentWidget, model, false)
    });
    commands.addCommand(CommandIDs.toggleTracking, {
      label: () => (model.current ? 'Stop nbtrack Run' : 'Start nbtrack Run'),
      isEnabled: currentHasKernel,
      execute: () => tracker.currentWidget && setTracking(tracker.currentWidget, model)
    });
    model.changed.connect(() => commands.notifyCommandChanged());

    if (palette) {
      for (const command of Object.values(CommandIDs)) {
        palette.addItem({ command, category: PALETTE_CATEGORY });
      }
    }
    console.log('nbtrack extension activated');
  }
};

export default plugin;
