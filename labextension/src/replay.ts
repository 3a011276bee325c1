/**
 * Replay: the dialog asking for parameter overrides and order, and the view that follows a
 * replay job (`replay/JOB`) and shows its reproducibility report.
 */
import { Dialog, MainAreaWidget, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { el, formatValue } from './dom';
import { IReplayJob, IReport, requestAPI, seg } from './request';
import { mainArea } from './views';

/** Parse `name = value` lines; values are JSON or Python literals, else plain strings. */
export function parseParameters(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) {
      return;
    }
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new Error(`Line ${i + 1}: expected "name = value", got "${line}"`);
    }
    out[name] = parseValue(line.slice(eq + 1).trim());
  });
  return out;
}

function parseValue(raw: string): unknown {
  const python: Record<string, unknown> = { True: true, False: false, None: null };
  if (raw in python) {
    return python[raw];
  }
  if (/^'.*'$/.test(raw)) {
    return raw.slice(1, -1);
  }
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

export interface IReplayChoice {
  parameters: string;
  order: 'notebook' | 'executed';
}

class ReplayBody extends Widget implements Dialog.IBodyWidget<IReplayChoice> {
  constructor(initial: IReplayChoice, error?: string) {
    super();
    this.addClass('nbtrack-replay-form');
    if (error) {
      this.node.appendChild(el('div', 'nbtrack-warning', error));
    }
    this.node.appendChild(
      el('label', 'nbtrack-form-label', 'Parameter overrides, one "name = value" per line:')
    );
    this._params.className = 'nbtrack-params';
    this._params.rows = 6;
    this._params.spellcheck = false;
    this._params.value = initial.parameters;
    this.node.appendChild(this._params);
    this.node.appendChild(el('label', 'nbtrack-form-label', 'Run the cells in:'));
    this._order.className = 'nbtrack-order';
    for (const [value, label] of [
      ['notebook', 'notebook order (top to bottom)'],
      ['executed', 'the order they were executed in']
    ]) {
      const option = el('option', undefined, label);
      option.value = value;
      this._order.appendChild(option);
    }
    this._order.value = initial.order;
    this.node.appendChild(this._order);
  }

  getValue(): IReplayChoice {
    return {
      parameters: this._params.value,
      order: this._order.value === 'executed' ? 'executed' : 'notebook'
    };
  }

  private _params = el('textarea');
  private _order = el('select');
}

/** Ask for parameter overrides and order; null when cancelled. Re-asks on bad input. */
export async function askReplay(
  runName: string,
  params: Record<string, unknown>
): Promise<{ parameters: Record<string, unknown>; order: 'notebook' | 'executed' } | null> {
  let choice: IReplayChoice = {
    parameters: Object.entries(params)
      .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
      .join('\n'),
    order: 'notebook'
  };
  let error: string | undefined;
  for (;;) {
    const result = await showDialog({
      title: `Replay “${runName}”`,
      body: new ReplayBody(choice, error),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Replay' })]
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    choice = result.value;
    try {
      return { parameters: parseParameters(choice.parameters), order: choice.order };
    } catch (e) {
      error = (e as Error).message;
    }
  }
}

function renderTable(title: string, items: unknown[]): HTMLElement {
  const section = el('section', 'nbtrack-report-section');
  section.appendChild(el('h3', undefined, `${title} (${items.length})`));
  if (!items.length) {
    return section;
  }
  const isObject = (x: unknown): x is Record<string, unknown> =>
    x !== null && typeof x === 'object' && !Array.isArray(x);
  const columns: string[] = [];
  for (const item of items) {
    if (isObject(item)) {
      for (const key of Object.keys(item)) {
        if (!columns.includes(key)) {
          columns.push(key);
        }
      }
    }
  }
  const table = el('table', 'nbtrack-table');
  const head = el('tr');
  for (const col of columns.length ? columns : ['value']) {
    head.appendChild(el('th', undefined, col));
  }
  table.appendChild(head);
  for (const item of items) {
    const row = el('tr');
    if (isObject(item)) {
      if (typeof item.status === 'string') {
        row.dataset.status = item.status.replace(/\s+/g, '-');
      }
      for (const col of columns) {
        row.appendChild(el('td', undefined, formatValue(item[col])));
      }
    } else {
      row.appendChild(el('td', undefined, formatValue(item)));
    }
    table.appendChild(row);
  }
  section.appendChild(table);
  return section;
}

/** Follows one replay job (`replay/JOB`) until it is done, then shows its report. */
export class ReplayView extends Widget {
  constructor(
    readonly runName: string,
    readonly job: string
  ) {
    super();
    this.addClass('nbtrack-view');
    this.addClass('nbtrack-replay');
    this.node.appendChild(
      el('div', 'nbtrack-banner', `Replay of run “${runName}” (job ${job})`)
    );
    this._progress.max = 1;
    this._progress.value = 0;
    this.node.append(this._state, this._progress, this._body);
    void this.poll();
    this._timer = window.setInterval(() => void this.poll(), 1000);
  }

  dispose(): void {
    window.clearInterval(this._timer);
    super.dispose();
  }

  private async poll(): Promise<void> {
    if (this._busy || this.isDisposed) {
      return;
    }
    this._busy = true;
    try {
      const job = await requestAPI<IReplayJob>(`replay/${seg(this.job)}`);
      this.render(job);
      if (job.state !== 'running') {
        window.clearInterval(this._timer);
      }
    } catch (e) {
      this._state.textContent = `Could not read the replay job: ${(e as Error).message}`;
      this._state.className = 'nbtrack-replay-state nbtrack-error';
    } finally {
      this._busy = false;
    }
  }

  private render(job: IReplayJob): void {
    const done = job.progress?.done ?? 0;
    const total = job.progress?.total ?? 0;
    this._progress.max = Math.max(total, 1);
    this._progress.value = job.state === 'running' ? done : this._progress.max;
    this._state.className = `nbtrack-replay-state nbtrack-state-${job.state}`;
    this._state.textContent =
      job.state === 'running'
        ? `Running: ${done} / ${total} cells`
        : job.state === 'done'
          ? `Done: ${done} / ${total} cells`
          : `Failed${job.error ? `: ${job.error}` : ''}`;
    this.node.dataset.state = job.state;
    if (job.state === 'running') {
      return;
    }
    this._body.textContent = '';
    if (job.replay_run) {
      this._body.appendChild(el('div', 'nbtrack-replay-run', `Replay run: ${job.replay_run}`));
    }
    for (const note of job.notes ?? []) {
      this._body.appendChild(el('div', 'nbtrack-warning', note));
    }
    if (job.report) {
      this.renderReport(job.report);
    }
  }

  private renderReport(report: IReport): void {
    const verdict = String(report.verdict);
    const badge = el('div', 'nbtrack-verdict', verdict);
    badge.dataset.verdict = verdict;
    this._body.appendChild(badge);
    const facts = (['order', 'tolerance', 'parameters', 'error'] as const)
      .filter(key => report[key] !== undefined && report[key] !== null)
      .map(key => `${key}: ${formatValue(report[key])}`);
    if (facts.length) {
      this._body.appendChild(el('div', 'nbtrack-report-facts', facts.join(' · ')));
    }
    this._body.appendChild(renderTable('Cells', report.cells ?? []));
    this._body.appendChild(renderTable('Metrics', report.metrics ?? []));
    this._body.appendChild(renderTable('Environment', report.environment ?? []));
    this._body.appendChild(renderTable('Data', report.data ?? []));
  }

  private _busy = false;
  private _timer: number;
  private _state = el('div', 'nbtrack-replay-state', 'Starting…');
  private _progress = el('progress', 'nbtrack-progress');
  private _body = el('div', 'nbtrack-report');
}

export function replayWidget(runName: string, job: string): MainAreaWidget {
  return mainArea(new ReplayView(runName, job), `Replay: ${runName}`, `nbtrack replay job ${job}`);
}
