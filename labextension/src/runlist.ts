/**
 * The list of runs in the sidebar: compact two-line rows and a multi-selection (click,
 * shift-click for a range, ctrl/cmd-click or the checkbox to add or remove one).
 */
import { ISignal, Signal } from '@lumino/signaling';

import { IMetricSummary, IRunSummary } from './request';
import { baseName, el, formatDate, formatValue, runLabel, shortId, timeAgo } from './dom';

/** Up to three metrics, losses and accuracies first. */
export function keyMetrics(metrics: Record<string, IMetricSummary>): [string, IMetricSummary][] {
  const rank = (name: string) => (/loss/i.test(name) ? 0 : /acc|score|f1|auc/i.test(name) ? 1 : 2);
  return Object.entries(metrics ?? {})
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b))
    .slice(0, 3);
}

const KNOWN_STATUS = ['running', 'finished', 'failed', 'crashed', 'killed'];

export class RunList {
  constructor(readonly node: HTMLUListElement) {
    node.classList.add('nbtrack-runs-list');
    node.setAttribute('role', 'listbox');
    node.setAttribute('aria-multiselectable', 'true');
    node.setAttribute('aria-label', 'nbtrack runs');
    node.tabIndex = 0;
    node.addEventListener('keydown', event => this.onKey(event));
  }

  /** Emitted when the selection changes. */
  get selectionChanged(): ISignal<this, void> {
    return this._selectionChanged;
  }

  /** Emitted with a run id when a run is opened (double-click or Enter). */
  get opened(): ISignal<this, string> {
    return this._opened;
  }

  get runs(): readonly IRunSummary[] {
    return this._runs;
  }

  /** The selected runs, in the order they were selected. */
  get selection(): IRunSummary[] {
    const byId = new Map(this._runs.map(r => [r.id, r]));
    return this._selected.map(id => byId.get(id)).filter((r): r is IRunSummary => !!r);
  }

  /** Show these runs (notebook names shown when `showNotebook`); the selection is kept. */
  show(runs: IRunSummary[], showNotebook: boolean): void {
    const key = JSON.stringify([runs, showNotebook]);
    const now = Math.floor(Date.now() / 30_000); // "5 min ago" texts age too
    if (key === this._key && now === this._drawnAt) {
      return;
    }
    this._key = key;
    this._drawnAt = now;
    this._runs = runs;
    const scroll = this.node.scrollTop;
    this.node.textContent = '';
    for (const run of runs) {
      this.node.appendChild(this.row(run, showNotebook));
    }
    this.node.scrollTop = scroll;
    const known = new Set(runs.map(r => r.id));
    const kept = this._selected.filter(id => known.has(id));
    if (kept.length !== this._selected.length) {
      this._selected = kept;
      this._selectionChanged.emit();
    }
  }

  /** Select exactly these runs (those listed) and scroll the first into view. */
  select(ids: string[]): void {
    this._selected = ids.filter(id => this._runs.some(r => r.id === id));
    this._anchor = this._selected[0] ?? null;
    this.paint();
    this.node.querySelector<HTMLElement>('.nbtrack-run[aria-selected="true"]')?.scrollIntoView({
      block: 'nearest'
    });
    this._selectionChanged.emit();
  }

  private row(run: IRunSummary, showNotebook: boolean): HTMLElement {
    const li = el('li', 'nbtrack-run');
    li.dataset.runId = run.id;
    li.setAttribute('role', 'option');
    const status = KNOWN_STATUS.includes(run.status) ? run.status : 'unknown';
    li.dataset.status = status;
    const selected = this._selected.includes(run.id);
    li.setAttribute('aria-selected', String(selected));
    li.title = `${runLabel(run)} (${run.id}) · ${run.status} · ${formatDate(run.start)}\nDouble-click to open its notebook snapshot`;

    const check = el('input', 'nbtrack-run-check');
    check.type = 'checkbox';
    check.checked = selected;
    check.tabIndex = -1;
    check.setAttribute('aria-label', `select ${runLabel(run)}`);
    check.addEventListener('click', event => {
      event.stopPropagation();
      this.toggle(run.id);
    });

    const dot = el('span', `nbtrack-status-dot nbtrack-status-${status}`);
    dot.title = run.status;
    dot.setAttribute('aria-label', run.status);

    const line1 = el('div', 'nbtrack-run-line');
    line1.append(
      el('span', 'nbtrack-run-name', runLabel(run)),
      el('span', 'nbtrack-run-when', timeAgo(run.start))
    );
    const line2 = el('div', 'nbtrack-run-line nbtrack-run-sub');
    const metrics = el('span', 'nbtrack-run-metrics');
    for (const [name, summary] of keyMetrics(run.metrics)) {
      const m = el('span', 'nbtrack-metric', `${name} ${formatValue(summary?.last)}`);
      m.dataset.metric = name;
      metrics.appendChild(m);
    }
    line2.appendChild(metrics);
    const where = el('span', 'nbtrack-run-where');
    if (run.replay_of) {
      where.appendChild(el('span', 'nbtrack-run-replay', `replay of ${shortId(run.replay_of)}`));
    }
    if (showNotebook && run.notebook) {
      const notebook = el('span', 'nbtrack-run-notebook', baseName(run.notebook));
      notebook.title = run.notebook;
      where.appendChild(notebook);
    }
    where.appendChild(el('span', 'nbtrack-run-user', run.user ?? ''));
    line2.appendChild(where);

    const main = el('div', 'nbtrack-run-main');
    main.append(line1, line2);
    li.append(check, dot, main);
    li.addEventListener('mousedown', event => {
      if (event.button === 2 && !this._selected.includes(run.id)) {
        this.select([run.id]); // a right-click acts on the run under the pointer
      }
    });
    li.addEventListener('click', event => this.onClick(run.id, event));
    li.addEventListener('dblclick', () => this._opened.emit(run.id));
    return li;
  }

  private onClick(id: string, event: MouseEvent): void {
    if (event.shiftKey && this._anchor) {
      const ids = this._runs.map(r => r.id);
      const [from, to] = [ids.indexOf(this._anchor), ids.indexOf(id)].sort((a, b) => a - b);
      if (from >= 0) {
        const range = ids.slice(from, to + 1);
        this._selected = [...this._selected.filter(s => !range.includes(s)), ...range];
        this.paint();
        this._selectionChanged.emit();
        return;
      }
    }
    if (event.ctrlKey || event.metaKey) {
      this.toggle(id);
      return;
    }
    this.select([id]);
  }

  private toggle(id: string): void {
    this._selected = this._selected.includes(id)
      ? this._selected.filter(s => s !== id)
      : [...this._selected, id];
    this._anchor = id;
    this.paint();
    this._selectionChanged.emit();
  }

  private onKey(event: KeyboardEvent): void {
    const ids = this._runs.map(r => r.id);
    const current = this._selected[this._selected.length - 1];
    const at = current ? ids.indexOf(current) : -1;
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      const next = ids[Math.min(Math.max(at + (event.key === 'ArrowDown' ? 1 : -1), 0), ids.length - 1)];
      if (next) {
        this.select([next]);
      }
      event.preventDefault();
    } else if (event.key === 'Enter' && current) {
      this._opened.emit(current);
    } else if (event.key === 'a' && (event.ctrlKey || event.metaKey)) {
      this._selected = [...ids];
      this.paint();
      this._selectionChanged.emit();
      event.preventDefault();
    }
  }

  private paint(): void {
    for (const li of Array.from(this.node.children) as HTMLElement[]) {
      const selected = this._selected.includes(li.dataset.runId ?? '');
      li.setAttribute('aria-selected', String(selected));
      const check = li.querySelector<HTMLInputElement>('.nbtrack-run-check');
      if (check) {
        check.checked = selected;
      }
    }
  }

  private _runs: IRunSummary[] = [];
  private _selected: string[] = [];
  private _anchor: string | null = null;
  private _key = '';
  private _drawnAt = 0;
  private _selectionChanged = new Signal<this, void>(this);
  private _opened = new Signal<this, string>(this);
}
