/**
 * The active run of each notebook's kernel (`active?kernel=`): a small polling model, the
 * status bar item that shows it, and the notebook toolbar button that starts/stops tracking.
 */
import { showErrorMessage } from '@jupyterlab/apputils';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { IActiveRun, query, requestAPI } from './request';
import { el, formatValue } from './dom';

const POLL_MS = 3000;

export function kernelOf(panel: NotebookPanel | null | undefined): string | null {
  return panel?.sessionContext.session?.kernel?.id ?? null;
}

/** Active runs keyed by kernel id; polls the current notebook's kernel. */
export class ActiveRunModel implements IDisposable {
  constructor(private readonly tracker: INotebookTracker) {
    tracker.currentChanged.connect(() => void this.refresh(), this);
    this._timer = window.setInterval(() => {
      if (!document.hidden) {
        void this.refresh();
      }
    }, POLL_MS);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  dispose(): void {
    this._disposed = true;
    window.clearInterval(this._timer);
    Signal.clearData(this);
  }

  /** The active run of a kernel, null when none (or not known yet). */
  get(kernelId: string | null): IActiveRun | null {
    return kernelId ? (this._runs.get(kernelId) ?? null) : null;
  }

  /** The active run of the current notebook's kernel. */
  get current(): IActiveRun | null {
    return this.get(kernelOf(this.tracker.currentWidget));
  }

  /** Ask the server again for one kernel (the current notebook's by default). */
  async refresh(kernelId: string | null = kernelOf(this.tracker.currentWidget)): Promise<void> {
    if (!kernelId || this._disposed) {
      return;
    }
    let next: IActiveRun | null = null;
    try {
      const answer = await requestAPI<IActiveRun>('active' + query({ kernel: kernelId }));
      next = answer.run ? answer : null;
    } catch {
      next = null; // no server extension or kernel gone: show nothing
    }
    const before = JSON.stringify(this._runs.get(kernelId) ?? null);
    if (next) {
      this._runs.set(kernelId, next);
    } else {
      this._runs.delete(kernelId);
    }
    if (before !== JSON.stringify(next)) {
      this._changed.emit();
    }
  }

  private _runs = new Map<string, IActiveRun>();
  private _changed = new Signal<this, void>(this);
  private _timer: number;
  private _disposed = false;
}

/** "name · status · loss 0.12 · acc 0.9" for an active run. */
export function describeActive(active: IActiveRun): string {
  const run = active.run;
  if (!run) {
    return '';
  }
  const latest = Object.entries(active.latest ?? {})
    .slice(0, 3)
    .map(([k, v]) => `${k} ${formatValue(v)}`);
  return [run.name || run.id, run.status, ...latest].join(' · ');
}

/** Status bar item; empty (and inactive) when the current kernel has no active run. */
export class ActiveRunStatus extends Widget {
  constructor(private readonly model: ActiveRunModel) {
    super();
    this.addClass('nbtrack-statusbar');
    this.node.append(el('span', 'nbtrack-statusbar-dot'), this._text);
    model.changed.connect(this.render, this);
    this.render();
  }

  private render(): void {
    const active = this.model.current;
    this._text.textContent = active ? describeActive(active) : '';
    this.node.title = active?.run ? `nbtrack run ${active.run.id}` : '';
    this.node.dataset.status = active?.run?.status ?? '';
  }

  private _text = el('span', 'nbtrack-statusbar-text');
}

/**
 * Start (`%nbtrack start`) or stop tracking in a notebook's kernel, silently.
 * `start` undefined toggles according to the known active run.
 */
export async function setTracking(
  panel: NotebookPanel,
  model: ActiveRunModel,
  start?: boolean
): Promise<void> {
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel) {
    await showErrorMessage('nbtrack', 'This notebook has no running kernel.');
    return;
  }
  const wantStart = start ?? !model.get(kernel.id);
  const code = `%load_ext nbtrack\n%nbtrack ${wantStart ? 'start' : 'stop'}`;
  const future = kernel.requestExecute({ code, silent: true, store_history: false });
  const reply = await future.done;
  const content = reply.content;
  if (content.status === 'error') {
    await showErrorMessage(
      'nbtrack',
      `%nbtrack ${wantStart ? 'start' : 'stop'} failed: ${content.ename}: ${content.evalue}`
    );
  }
  await model.refresh(kernel.id);
  // The run may reach the store a moment later than the magic returns.
  window.setTimeout(() => void model.refresh(kernel.id), 1000);
}

/** Toolbar button of one notebook: "Start tracking" / "Stop tracking". */
export class TrackingButton extends Widget {
  constructor(
    private readonly panel: NotebookPanel,
    private readonly model: ActiveRunModel
  ) {
    super({ node: el('button', 'jp-ToolbarButtonComponent nbtrack-toggle') });
    const button = this.node as HTMLButtonElement;
    button.type = 'button';
    button.addEventListener('click', () => void this.toggle());
    model.changed.connect(this.render, this);
    panel.sessionContext.kernelChanged.connect(() => void model.refresh(kernelOf(panel)), this);
    this.render();
    void model.refresh(kernelOf(panel));
  }

  private async toggle(): Promise<void> {
    if (this._busy) {
      return;
    }
    this._busy = true;
    const active = this.model.get(kernelOf(this.panel)) !== null;
    this.node.textContent = active ? 'Stopping…' : 'Starting…';
    try {
      await setTracking(this.panel, this.model, !active);
    } finally {
      this._busy = false;
      this.render();
    }
  }

  private render(): void {
    if (this._busy) {
      return;
    }
    const active = this.model.get(kernelOf(this.panel));
    this.node.textContent = active ? 'Stop tracking' : 'Start tracking';
    this.node.dataset.active = active ? 'true' : 'false';
    this.node.title = active?.run
      ? `nbtrack: stop run “${active.run.name}”`
      : 'nbtrack: start a tracked run in this kernel';
  }

  private _busy = false;
}

export class TrackingButtonExtension
  implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel>
{
  constructor(private readonly model: ActiveRunModel) {}

  createNew(panel: NotebookPanel): IDisposable {
    const button = new TrackingButton(panel, this.model);
    if (!panel.toolbar.insertAfter('cellType', 'nbtrack-tracking', button)) {
      panel.toolbar.addItem('nbtrack-tracking', button);
    }
    return button;
  }
}
