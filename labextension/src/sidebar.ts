/**
 * The "nbtrack runs" sidebar: runs of the current notebook (or all runs), refreshed every
 * few seconds while visible and whenever the current notebook changes.
 */
import { INotebookTracker } from '@jupyterlab/notebook';
import { LabIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { IMetricSummary, IRunSummary, IRunsPage, query, requestAPI } from './request';
import { el, formatValue } from './dom';

export const runsIcon = new LabIcon({
  name: 'nbtrack:runs',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M3 3h2v16h16v2H3zm4 12 4-5 3 3 5-7 1.6 1.2-6.4 9-3-3-2.6 3.3z"/>' +
    '</svg>'
});

/** Command ids the sidebar triggers; registered in index.ts. */
export const CommandIDs = {
  showRuns: 'nbtrack:show-runs',
  refreshRuns: 'nbtrack:refresh-runs',
  openSnapshot: 'nbtrack:open-snapshot',
  diffRun: 'nbtrack:diff-run',
  replayRun: 'nbtrack:replay-run',
  startTracking: 'nbtrack:start-tracking',
  stopTracking: 'nbtrack:stop-tracking',
  toggleTracking: 'nbtrack:toggle-tracking'
} as const;

const KNOWN_STATUS = ['running', 'finished', 'failed', 'crashed', 'killed'];
const REFRESH_MS = 4000;

/** Up to three metrics, losses and accuracies first. */
export function keyMetrics(metrics: Record<string, IMetricSummary>): [string, IMetricSummary][] {
  const rank = (name: string) => (/loss/i.test(name) ? 0 : /acc|score|f1|auc/i.test(name) ? 1 : 2);
  return Object.entries(metrics ?? {})
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .slice(0, 3);
}

function formatStart(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

export class RunsPanel extends Widget {
  constructor(
    private readonly tracker: INotebookTracker,
    private readonly commands: CommandRegistry
  ) {
    super();
    this.id = 'nbtrack-runs';
    this.addClass('nbtrack-runs-panel');
    this.title.icon = runsIcon;
    this.title.caption = 'nbtrack runs';

    const header = el('div', 'nbtrack-runs-header');
    header.appendChild(el('h2', 'nbtrack-runs-title', 'nbtrack runs'));
    const controls = el('div', 'nbtrack-runs-controls');
    const allLabel = el('label', 'nbtrack-check');
    this._all.type = 'checkbox';
    this._all.className = 'nbtrack-all-toggle';
    allLabel.append(this._all, document.createTextNode(' all runs'));
    this._all.addEventListener('change', () => void this.refresh());
    const refresh = el('button', 'nbtrack-button nbtrack-refresh', 'Refresh');
    refresh.addEventListener('click', () => void this.refresh());
    controls.append(allLabel, refresh);
    header.append(controls, this._scope);
    this.node.append(header, this._message, this._list);

    tracker.currentChanged.connect(this._onNotebookChanged, this);
    this._onNotebookChanged();
  }

  /** The selected run, or the first listed one. */
  get selectedRun(): IRunSummary | null {
    return this._runs.find(r => r.id === this._selected) ?? this._runs[0] ?? null;
  }

  /** Path of the current notebook, server-relative (as the contents API has it). */
  get notebookPath(): string | null {
    return this.tracker.currentWidget?.context.path ?? null;
  }

  dispose(): void {
    window.clearInterval(this._timer);
    super.dispose();
  }

  async refresh(): Promise<void> {
    const all = this._all.checked;
    const path = this.notebookPath;
    this._scope.textContent = all ? 'All runs in the store' : path ? `Runs of ${path}` : '';
    if (!all && !path) {
      this.show_([], 'Open a notebook to see its runs, or tick "all runs".');
      return;
    }
    const ticket = ++this._ticket;
    try {
      const page = await requestAPI<IRunsPage>(
        'runs' + query({ notebook: all ? null : path, sort: 'start', desc: 1, limit: 50 })
      );
      if (ticket === this._ticket) {
        const more = page.total > page.runs.length ? ` (showing ${page.runs.length} of ${page.total})` : '';
        this.show_(page.runs, page.runs.length ? `${page.total} run(s)${more}` : 'No runs yet.');
      }
    } catch (e) {
      if (ticket === this._ticket) {
        this.show_([], `Cannot list runs: ${(e as Error).message}`, true);
      }
    }
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    window.clearInterval(this._timer);
    this._timer = window.setInterval(() => {
      if (this.isVisible && !document.hidden) {
        void this.refresh();
      }
    }, REFRESH_MS);
  }

  protected onBeforeDetach(msg: Message): void {
    window.clearInterval(this._timer);
    super.onBeforeDetach(msg);
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this.refresh();
  }

  private _onNotebookChanged(): void {
    const panel = this.tracker.currentWidget;
    if (panel && !this._watched.has(panel.id)) {
      this._watched.add(panel.id);
      panel.context.pathChanged.connect(() => void this.refresh());
      panel.disposed.connect(() => this._watched.delete(panel.id));
    }
    void this.refresh();
  }

  private show_(runs: IRunSummary[], message: string, isError = false): void {
    this._message.textContent = message;
    this._message.classList.toggle('nbtrack-error', isError);
    const key = JSON.stringify(runs);
    if (key === this._key) {
      return;
    }
    this._key = key;
    this._runs = runs;
    this._list.textContent = '';
    for (const run of runs) {
      this._list.appendChild(this.row(run));
    }
  }

  private row(run: IRunSummary): HTMLElement {
    const li = el('li', 'nbtrack-run');
    li.dataset.runId = run.id;
    li.title = `${run.id}: open the read-only snapshot`;
    if (run.id === this._selected) {
      li.classList.add('nbtrack-selected');
    }
    const status = KNOWN_STATUS.includes(run.status) ? run.status : 'unknown';
    const top = el('div', 'nbtrack-run-top');
    top.append(
      el('span', `nbtrack-status nbtrack-status-${status}`, String(run.status)),
      el('span', 'nbtrack-run-name', run.name || run.id)
    );
    const meta = el('div', 'nbtrack-run-meta');
    meta.append(
      el('span', 'nbtrack-run-start', formatStart(run.start)),
      el('span', 'nbtrack-run-user', run.user ?? '')
    );
    if (run.replay_of) {
      meta.append(el('span', 'nbtrack-run-replay', `replay of ${run.replay_of}`));
    }
    const metrics = el('div', 'nbtrack-run-metrics');
    for (const [name, summary] of keyMetrics(run.metrics)) {
      const m = el('span', 'nbtrack-metric', `${name} ${formatValue(summary?.last)}`);
      m.dataset.metric = name;
      metrics.appendChild(m);
    }
    const actions = el('div', 'nbtrack-run-actions');
    const args = { id: run.id, name: run.name || run.id };
    for (const [label, command] of [
      ['Diff', CommandIDs.diffRun],
      ['Replay', CommandIDs.replayRun]
    ]) {
      const button = el('button', `nbtrack-button nbtrack-action-${label.toLowerCase()}`, label);
      button.title = label === 'Diff' ? 'Compare with the current notebook' : 'Re-run this snapshot';
      button.addEventListener('click', event => {
        event.stopPropagation();
        this.select(run.id);
        void this.commands.execute(command, args);
      });
      actions.appendChild(button);
    }
    li.append(top, meta, metrics, actions);
    li.addEventListener('click', () => {
      this.select(run.id);
      void this.commands.execute(CommandIDs.openSnapshot, args);
    });
    return li;
  }

  private select(id: string): void {
    this._selected = id;
    for (const node of Array.from(this._list.children) as HTMLElement[]) {
      node.classList.toggle('nbtrack-selected', node.dataset.runId === id);
    }
  }

  private _all = el('input');
  private _scope = el('div', 'nbtrack-runs-scope');
  private _message = el('div', 'nbtrack-runs-message');
  private _list = el('ul', 'nbtrack-runs-list');
  private _runs: IRunSummary[] = [];
  private _key = '';
  private _selected: string | null = null;
  private _ticket = 0;
  private _timer = 0;
  private _watched = new Set<string>();
}
