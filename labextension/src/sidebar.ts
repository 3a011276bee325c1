/**
 * The "nbtrack runs" sidebar: the runs of the current notebook (or of the whole store), a
 * filter box speaking nbtrack's filter language, pages loaded as the list scrolls, and a
 * selection the toolbar's commands act on (open, diff, compare, replay, export a report).
 */
import { INotebookTracker } from '@jupyterlab/notebook';
import {
  CommandToolbarButton,
  SidePanel,
  Toolbar,
  ToolbarButton,
  refreshIcon,
  searchIcon
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Panel, Widget } from '@lumino/widgets';

import { IRunDetail, IRunSummary, IRunsPage, query, requestAPI, seg } from './request';
import { baseName, el, plural } from './dom';
import { runsIcon } from './icons';
import { RunList } from './runlist';

/** Command ids; registered in index.ts. */
export const CommandIDs = {
  showRuns: 'nbtrack:show-runs',
  refreshRuns: 'nbtrack:refresh-runs',
  openSnapshot: 'nbtrack:open-snapshot',
  diffRun: 'nbtrack:diff-run',
  compareRuns: 'nbtrack:compare-runs',
  exportReport: 'nbtrack:export-report',
  replayRun: 'nbtrack:replay-run',
  openAsNotebook: 'nbtrack:open-as-notebook',
  downloadSnapshot: 'nbtrack:download-snapshot',
  copyRunId: 'nbtrack:copy-run-id',
  startTracking: 'nbtrack:start-tracking',
  stopTracking: 'nbtrack:stop-tracking',
  toggleTracking: 'nbtrack:toggle-tracking'
} as const;

const PAGE = 50;
const MAX_PAGE = 1000; // the server's largest page
const REFRESH_MS = 4000;
const FILTER_EXAMPLES = 'loss<0.3 · tag=sweep · lr>=0.01 · status=finished · name~aug';

/** Whether a run has a notebook snapshot: known (true/false) or still being asked. */
export type SnapshotState = boolean | 'unknown';

export class RunsPanel extends SidePanel {
  constructor(
    private readonly tracker: INotebookTracker,
    private readonly commands: CommandRegistry
  ) {
    super({ content: new Panel() });
    this.id = 'nbtrack-runs';
    this.addClass('nbtrack-runs-panel');
    this.title.icon = runsIcon;
    this.title.caption = 'nbtrack runs';
    this.header.addWidget(new Widget({ node: el('h2', 'nbtrack-runs-title', 'nbtrack runs') }));

    const toolbar = this.toolbar;
    for (const [name, id, label] of [
      ['compare', CommandIDs.compareRuns, 'Compare'],
      ['diff', CommandIDs.diffRun, 'Diff'],
      ['replay', CommandIDs.replayRun, ''],
      ['open', CommandIDs.openSnapshot, ''],
      ['report', CommandIDs.exportReport, '']
    ]) {
      const widget = new CommandToolbarButton({ commands, id, label, noFocusOnClick: true });
      widget.addClass(`nbtrack-action-${name}`);
      toolbar.addItem(`nbtrack-${name}`, widget);
    }
    toolbar.addItem('spacer', Toolbar.createSpacerItem());
    const refresh = new ToolbarButton({
      icon: refreshIcon,
      tooltip: 'Refresh the list of runs',
      onClick: () => void this.refresh()
    });
    refresh.addClass('nbtrack-refresh');
    toolbar.addItem('nbtrack-refresh', refresh);

    const body = new Widget({ node: this.buildBody() });
    body.addClass('nbtrack-runs-body');
    (this.content as Panel).addWidget(body);

    this._list.selectionChanged.connect(this.onSelection, this);
    tracker.currentChanged.connect(this.onNotebookChanged, this);
    this.onNotebookChanged();
  }

  /** Emitted when the selection, or what is known about it, changes. */
  get selectionChanged(): ISignal<this, void> {
    return this._selectionChanged;
  }

  /** Emitted with a run id when a row is opened (double-click, Enter). */
  get opened(): ISignal<RunList, string> {
    return this._list.opened;
  }

  get selection(): IRunSummary[] {
    return this._list.selection;
  }

  /** Whether the run has a notebook snapshot (asked once per run when it is selected). */
  snapshotState(run: IRunSummary): SnapshotState {
    return this._snapshots.get(`${run.id}:${run.status}`) ?? 'unknown';
  }

  /** Path of the current notebook, server-relative (as the contents API has it). */
  get notebookPath(): string | null {
    return this.tracker.currentWidget?.context.path ?? null;
  }

  get allRuns(): boolean {
    return this._scope === 'all';
  }

  set allRuns(value: boolean) {
    this._scope = value ? 'all' : 'notebook';
    for (const b of Array.from(this._scopeBar.children) as HTMLElement[]) {
      b.setAttribute('aria-pressed', String(b.dataset.scope === this._scope));
    }
    this._loaded = PAGE;
    void this.refresh();
  }

  /** Show a run: list it (all runs when it is not the notebook's), select it, scroll to it. */
  async reveal(id: string): Promise<void> {
    await this.refresh();
    if (!this._list.runs.some(r => r.id === id) && (!this.allRuns || this._filter.value)) {
      this._filter.value = '';
      this.allRuns = true;
      await this.refresh();
    }
    this._list.select([id]);
  }

  dispose(): void {
    window.clearInterval(this._timer);
    super.dispose();
  }

  /** Fetch the listed pages again; failures are shown, and the next poll tries again. */
  async refresh(): Promise<void> {
    const path = this.notebookPath;
    const all = this.allRuns;
    this._context.textContent = all ? 'All runs in the store' : path ? `Runs of ${baseName(path)}` : '';
    this._context.title = all ? '' : (path ?? '');
    if (!all && !path) {
      this._list.show([], false);
      this.showEmpty([document.createTextNode('Open a notebook to see its runs, or choose “All runs”.')]);
      this._footer.textContent = '';
      return;
    }
    const filter = this._filter.value.trim();
    const ticket = ++this._ticket;
    try {
      const page = await requestAPI<IRunsPage>(
        'runs' +
          query({
            notebook: all ? null : path,
            filter: filter || null,
            sort: 'start',
            desc: 1,
            limit: Math.min(this._loaded, MAX_PAGE)
          })
      );
      if (ticket !== this._ticket) {
        return;
      }
      this._total = page.total;
      this.setFilterError(null);
      this.setRefreshError(null);
      this._list.show(page.runs, all);
      // what the list shows now (a filter typed since is still on its way)
      Object.assign(this._list.node.dataset, { filter, scope: this._scope });
      this.showEmpty(page.runs.length ? null : this.emptyText(all, path, filter));
      this.showFooter(page.runs.length);
    } catch (e) {
      if (ticket !== this._ticket) {
        return;
      }
      const message = (e as Error).message ?? String(e);
      if (filter && (e as { status?: number }).status === 400) {
        this._list.show([], all);
        this.showEmpty(null);
        this._footer.textContent = '';
        this.setFilterError(message);
      } else {
        this.setRefreshError(message);
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

  private buildBody(): HTMLElement {
    const body = el('div', 'nbtrack-runs-inner');
    this._scopeBar.setAttribute('role', 'group');
    this._scopeBar.setAttribute('aria-label', 'which runs');
    for (const [scope, label] of [
      ['notebook', 'This notebook'],
      ['all', 'All runs']
    ]) {
      const b = el('button', `nbtrack-scope-button nbtrack-scope-${scope}`, label);
      b.type = 'button';
      b.dataset.scope = scope;
      b.setAttribute('aria-pressed', String(scope === this._scope));
      b.addEventListener('click', () => (this.allRuns = scope === 'all'));
      this._scopeBar.appendChild(b);
    }

    const search = el('div', 'jp-InputGroup nbtrack-search');
    this._filter.type = 'search';
    this._filter.placeholder = 'Filter: loss<0.3 tag=sweep';
    this._filter.title = `nbtrack's filter language, e.g. ${FILTER_EXAMPLES}; free words match ids, names, users, tags and notes`;
    this._filter.setAttribute('aria-label', 'filter runs');
    this._filter.spellcheck = false;
    this._filter.addEventListener('input', () => {
      window.clearTimeout(this._debounce);
      this._debounce = window.setTimeout(() => {
        this._loaded = PAGE;
        void this.refresh();
      }, 300);
    });
    const action = el('span', 'jp-InputGroupAction');
    searchIcon.element({ container: action, elementPosition: 'center', height: '16px', width: '16px' });
    search.append(this._filter, action);

    this._filterError.setAttribute('role', 'alert');
    this._refreshError.setAttribute('role', 'alert');
    this.setFilterError(null);
    this.setRefreshError(null);
    this.showEmpty(null);
    const list = this._list.node;
    list.addEventListener('scroll', () => {
      if (list.scrollTop + list.clientHeight >= list.scrollHeight - 120) {
        this.loadMore();
      }
    });
    body.append(
      this._scopeBar,
      this._context,
      search,
      this._filterError,
      this._refreshError,
      this._empty,
      list,
      this._footer
    );
    return body;
  }

  private loadMore(): void {
    if (this._list.runs.length >= this._total || this._loaded > this._list.runs.length) {
      return; // everything is listed, or the next page is on its way
    }
    this._loaded = Math.min(this._loaded + PAGE, MAX_PAGE);
    void this.refresh();
  }

  /** What an empty list means, and (with no filter) how to start a run. */
  private emptyText(all: boolean, path: string | null, filter: string): Node[] {
    if (filter) {
      return [document.createTextNode(`No run matches “${filter}”.`)];
    }
    const start = el('button', 'nbtrack-link nbtrack-start-link', 'Start run');
    start.type = 'button';
    start.addEventListener('click', () => void this.commands.execute(CommandIDs.toggleTracking, {}));
    return [
      el('p', undefined, all ? 'The store has no runs yet.' : `No runs of ${baseName(path)} yet.`),
      el('p', undefined, 'To track one, click '),
      el('p', undefined, 'or run these in a cell:'),
      el('pre', 'nbtrack-code', '%load_ext nbtrack\n%nbtrack start'),
      el('p', undefined, 'then log metrics with nbtrack.log(loss=...).')
    ].map((node, i) => {
      if (i === 1) {
        node.append(start, document.createTextNode(' in the notebook toolbar,'));
      }
      return node;
    });
  }

  private showEmpty(content: Node[] | null): void {
    this._empty.textContent = '';
    this._empty.append(...(content ?? []));
    this._empty.hidden = content === null;
  }

  private showFooter(shown: number): void {
    this._footer.textContent = '';
    if (!shown) {
      return;
    }
    const text = shown < this._total ? `${shown} of ${plural(this._total, 'run')}` : plural(this._total, 'run');
    this._footer.appendChild(el('span', 'nbtrack-runs-count', text));
    if (shown < this._total && shown < MAX_PAGE) {
      const more = el('button', 'nbtrack-link nbtrack-load-more', 'Load more');
      more.type = 'button';
      more.addEventListener('click', () => this.loadMore());
      this._footer.appendChild(more);
    } else if (shown < this._total) {
      this._footer.appendChild(el('span', 'nbtrack-hint', ' · narrow the filter to see the rest'));
    }
  }

  private setFilterError(message: string | null): void {
    this._filterError.hidden = message === null;
    this._filterError.textContent = message === null ? '' : `Bad filter: ${message}. Examples: ${FILTER_EXAMPLES}`;
    this._filter.setAttribute('aria-invalid', String(message !== null));
  }

  private setRefreshError(message: string | null): void {
    this._refreshError.hidden = message === null;
    this._refreshError.textContent = '';
    if (message !== null) {
      const time = new Date().toLocaleTimeString();
      this._refreshError.append(
        el('span', undefined, `Could not refresh the runs (${time}): ${message}. Retrying every ${REFRESH_MS / 1000} s. `)
      );
      const retry = el('button', 'nbtrack-link', 'Retry now');
      retry.type = 'button';
      retry.addEventListener('click', () => void this.refresh());
      this._refreshError.appendChild(retry);
    }
  }

  private onNotebookChanged(): void {
    const panel = this.tracker.currentWidget;
    if (panel && !this._watched.has(panel.id)) {
      this._watched.add(panel.id);
      panel.context.pathChanged.connect(() => void this.refresh());
      panel.disposed.connect(() => this._watched.delete(panel.id));
    }
    this._loaded = PAGE;
    void this.refresh();
    this._selectionChanged.emit(); // "diff against the current notebook" changed
  }

  private onSelection(): void {
    this._selectionChanged.emit();
    for (const run of this._list.selection.slice(0, 10)) {
      const key = `${run.id}:${run.status}`; // a running run may get its snapshot when it ends
      if (!this._snapshots.has(key) && !this._asking.has(key)) {
        this._asking.add(key);
        requestAPI<IRunDetail>(`runs/${seg(run.id)}`)
          .then(detail => this._snapshots.set(key, detail.snapshots.length > 0))
          .catch(() => undefined) // unknown: the command answers with the server's reason
          .finally(() => {
            this._asking.delete(key);
            this._selectionChanged.emit();
          });
      }
    }
  }

  private _scope: 'notebook' | 'all' = 'notebook';
  private _scopeBar = el('div', 'nbtrack-scope');
  private _context = el('div', 'nbtrack-runs-context');
  private _filter = el('input', 'nbtrack-filter');
  private _filterError = el('div', 'nbtrack-filter-error nbtrack-error');
  private _refreshError = el('div', 'nbtrack-refresh-error nbtrack-error');
  private _list = new RunList(el('ul'));
  private _empty = el('div', 'nbtrack-runs-empty');
  private _footer = el('div', 'nbtrack-runs-footer');
  private _loaded = PAGE;
  private _total = 0;
  private _ticket = 0;
  private _timer = 0;
  private _debounce = 0;
  private _watched = new Set<string>();
  private _snapshots = new Map<string, boolean>();
  private _asking = new Set<string>();
  private _selectionChanged = new Signal<this, void>(this);
}
