/**
 * nbtrack JupyterLab / Notebook 7 extension: the runs sidebar, the run views (snapshot, diff,
 * compare, replay), the notebook toolbar's Start/Stop run button and the status bar item.
 */
import {
  ILabShell,
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IStatusBar } from '@jupyterlab/statusbar';
import { CommandToolbarButton } from '@jupyterlab/ui-components';
import { IDisposable } from '@lumino/disposable';

import { registerCommands } from './commands';
import { CommandIDs, RunsPanel } from './sidebar';
import { ActiveRunModel, ActiveRunStatus } from './status';

const PALETTE_CATEGORY = 'nbtrack';

/** The Start/Stop run button of each notebook's toolbar. */
class TrackingButtonExtension implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  constructor(private readonly app: JupyterFrontEnd) {}

  createNew(panel: NotebookPanel): IDisposable {
    const button = new CommandToolbarButton({
      commands: this.app.commands,
      id: CommandIDs.toggleTracking,
      args: { panel: panel.id },
      noFocusOnClick: false
    });
    button.addClass('nbtrack-toggle');
    if (!panel.toolbar.insertAfter('cellType', 'nbtrack-tracking', button)) {
      panel.toolbar.addItem('nbtrack-tracking', button);
    }
    // The button's label follows the kernel (a new kernel has no run yet).
    panel.sessionContext.kernelChanged.connect(() => this.app.commands.notifyCommandChanged(CommandIDs.toggleTracking));
    return button;
  }
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbtrack:plugin',
  description: 'Runs sidebar, run views, active-run status and Start/Stop run button for nbtrack.',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry, IEditorServices],
  optional: [ILabShell, IStatusBar, ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    editorServices: IEditorServices,
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

    registerCommands({ app, tracker, panel, model, rendermime, editorServices });
    app.docRegistry.addWidgetExtension('Notebook', new TrackingButtonExtension(app));

    if (statusBar) {
      const item = new ActiveRunStatus(model, id => void commands.execute(CommandIDs.showRuns, { id }));
      statusBar.registerStatusItem('nbtrack:active-run', {
        item,
        align: 'left',
        rank: 4,
        isActive: () => model.current !== null,
        activeStateChanged: model.changed
      });
    }

    const selector = '#nbtrack-runs .nbtrack-run';
    [
      CommandIDs.openSnapshot,
      CommandIDs.diffRun,
      CommandIDs.compareRuns,
      CommandIDs.exportReport,
      CommandIDs.replayRun,
      CommandIDs.openAsNotebook,
      CommandIDs.copyRunId
    ].forEach((command, rank) => app.contextMenu.addItem({ command, selector, rank }));

    if (palette) {
      for (const command of [
        CommandIDs.showRuns,
        CommandIDs.refreshRuns,
        CommandIDs.startTracking,
        CommandIDs.stopTracking
      ]) {
        palette.addItem({ command, category: PALETTE_CATEGORY });
      }
    }
    console.log('nbtrack extension activated');
  }
};

export default plugin;
