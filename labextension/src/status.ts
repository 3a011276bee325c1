/**
 * The active run of each notebook's kernel (`active?kernel=`): a model that asks every second
 * and as soon as the kernel goes idle, the status bar item that shows it (a click opens the
 * sidebar on that run), and starting/stopping a run in a kernel.
 */
import { InputDialog, showErrorMessage } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { IActiveRun, query, requestAPI } from './request';
import { el, formatValue, runLabel } from './dom';

const POLL_MS = 1000; // while the kernel is busy or a run is active
const IDLE_POLLS = 5; // otherwise every 5th tick (a finished cell also asks at once)

export function kernelOf(panel: NotebookPanel | null | undefined): string | null {
  return panel?.sessionContext.session?.kernel?.id ?? null;
}

/** Active runs keyed by kernel id; follows the current notebook's kernel. */
export class ActiveRunModel implements IDisposable {
  constructor(private readonly tracker: INotebookTracker) {
    tracker.currentChanged.connect(() => void this.refresh(), this);
    tracker.widgetAdded.connect((_, panel) => {
      // A cell that just finished may have started, stopped or logged to a run: ask now.
      panel.sessionContext.statusChanged.connect((_, status) => {
        if (status === 'idle') {
          void this.refresh(kernelOf(panel));
        }
      }, this);
    }, this);
    this._timer = window.setInterval(() => {
      const panel = this.tracker.currentWidget;
      const busy = panel?.sessionContext.session?.kernel?.status === 'busy';
      if (!document.hidden && (busy || this.current !== null || ++this._ticks % IDLE_POLLS === 0)) {
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
    if (!kernelId || this._disposed || this._asking.has(kernelId)) {
      return;
    }
    this._asking.add(kernelId);
    let next: IActiveRun | null = null;
    try {
      const answer = await requestAPI<IActiveRun>('active' + query({ kernel: kernelId }));
      next = answer.run ? answer : null;
    } catch {
      next = null; // no server extension or kernel gone: show nothing
    } finally {
      this._asking.delete(kernelId);
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
  private _asking = new Set<string>();
  private _changed = new Signal<this, void>(this);
  private _timer: number;
  private _ticks = 0;
  private _disposed = false;
}

/** "name · running · loss 0.12 · acc 0.9" for an active run. */
export function describeActive(active: IActiveRun): string {
  const run = active.run;
  if (!run) {
    return '';
  }
  const latest = Object.entries(active.latest ?? {})
    .slice(0, 3)
    .map(([k, v]) => `${k} ${formatValue(v)}`);
  return [runLabel(run), run.status, ...latest].join(' · ');
}

/** Status bar item; empty (and inactive) when the current kernel has no active run. */
export class ActiveRunStatus extends Widget {
  constructor(
    private readonly model: ActiveRunModel,
    private readonly onClick: (runId: string) => void
  ) {
    super();
    this.addClass('nbtrack-statusbar');
    this.node.setAttribute('role', 'button');
    this.node.tabIndex = 0;
    this.node.append(el('span', 'nbtrack-statusbar-dot'), this._text);
    const open = () => {
      const id = this.model.current?.run?.id;
      if (id) {
        this.onClick(id);
      }
    };
    this.node.addEventListener('click', open);
    this.node.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        open();
      }
    });
    model.changed.connect(this.render, this);
    this.render();
  }

  private render(): void {
    const active = this.model.current;
    this._text.textContent = active ? describeActive(active) : '';
    this.node.title = active?.run ? `nbtrack run ${active.run.id}: click to show it in the runs sidebar` : '';
    this.node.dataset.status = active?.run?.status ?? '';
  }

  private _text = el('span', 'nbtrack-statusbar-text');
}

/** Python that starts a tracked run named `name` (a JSON string is a Python literal too). */
export function startCode(name: string | null): string {
  return (
    '%load_ext nbtrack\n' +
    `__import__("nbtrack.ipython", fromlist=["tracker"]).tracker().start(${name ? JSON.stringify(name) : 'None'}, [], None, None)`
  );
}

/** Ask for an optional run name; undefined when cancelled. */
export async function askRunName(): Promise<string | null | undefined> {
  const result = await InputDialog.getText({
    title: 'Start a tracked run',
    label: 'Run name (optional: unnamed runs show their id and notebook)',
    placeholder: 'e.g. baseline lr=0.01',
    okLabel: 'Start'
  });
  if (!result.button.accept) {
    return undefined;
  }
  return (result.value ?? '').trim() || null;
}

/** Start (with an optional name) or stop tracking in a notebook's kernel, silently. */
export async function setTracking(
  panel: NotebookPanel,
  model: ActiveRunModel,
  start: boolean,
  name: string | null = null
): Promise<void> {
  const kernel = panel.sessionContext.session?.kernel;
  if (!kernel) {
    await showErrorMessage('nbtrack', 'This notebook has no running kernel.');
    return;
  }
  const code = start ? startCode(name) : '%load_ext nbtrack\n%nbtrack stop';
  const future = kernel.requestExecute({ code, silent: true, store_history: false });
  const reply = await future.done;
  const content = reply.content;
  if (content.status === 'error') {
    await showErrorMessage('nbtrack', `Could not ${start ? 'start' : 'stop'} the run: ${content.ename}: ${content.evalue}`);
  }
  await model.refresh(kernel.id);
}
