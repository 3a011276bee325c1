/**
 * Replay: the dialog (whose code runs, parameter overrides, cell order, where the executed
 * notebook goes; an explicit confirmation for someone else's run) and the view that follows
 * the replay job and shows its reproducibility report in plain words.
 */
import { Dialog, MainAreaWidget, showDialog } from '@jupyterlab/apputils';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { el, formatDate, formatValue, plural, runLabel, shortId } from './dom';
import { ICellComparison, IReplayJob, IReplayPlan, IReplayRequest, IReport, requestAPI, seg } from './request';

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

interface IFormValue {
  parameters: string;
  order: 'notebook' | 'executed';
  folder: string;
  confirmed: boolean;
}

class ReplayBody extends Widget implements Dialog.IBodyWidget<IFormValue> {
  constructor(
    private readonly plan: IReplayPlan,
    initial: IFormValue,
    error?: string
  ) {
    super();
    this.addClass('nbtrack-replay-form');
    const who = el('div', 'nbtrack-replay-owner');
    who.append(
      el('div', 'nbtrack-replay-owner-line', `Runs the code of run ${shortId(plan.run)} (${plan.run})`),
      el('div', 'nbtrack-replay-owner-line', `Recorded by ${plan.owner || 'an unknown user'}${plan.host ? ` on ${plan.host}` : ''}, ${formatDate(plan.start)}`)
    );
    this.node.appendChild(who);
    if (plan.warning) {
      const warn = el('div', 'nbtrack-warning nbtrack-replay-warning');
      const said = plan.warning.charAt(0).toUpperCase() + plan.warning.slice(1);
      warn.append(
        el('strong', undefined, `This is not your run: you are ${plan.you}. `),
        el('span', undefined, `${said}, with your permissions. Open its snapshot to read the code first.`)
      );
      const label = el('label', 'nbtrack-check nbtrack-confirm');
      this._confirm.type = 'checkbox';
      this._confirm.className = 'nbtrack-confirm-box';
      this._confirm.checked = initial.confirmed;
      this._confirm.addEventListener('change', () => this.syncAccept());
      label.append(this._confirm, document.createTextNode(` I trust this code: run ${plan.owner || 'this user'}’s notebook`));
      warn.appendChild(label);
      this.node.appendChild(warn);
    }
    if (error) {
      this.node.appendChild(el('div', 'nbtrack-error nbtrack-form-error', error));
    }
    this.node.appendChild(el('label', 'nbtrack-form-label', 'Parameter overrides, one “name = value” per line'));
    this._params.className = 'nbtrack-params jp-mod-styled';
    this._params.rows = Math.min(Math.max(Object.keys(plan.params ?? {}).length, 3), 8);
    this._params.spellcheck = false;
    this._params.value = initial.parameters;
    this.node.appendChild(this._params);
    this.node.appendChild(el('label', 'nbtrack-form-label', 'Run the cells in'));
    this._order.className = 'nbtrack-order jp-mod-styled';
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
    this.node.appendChild(el('label', 'nbtrack-form-label', 'Save the executed notebook in the folder'));
    this._folder.className = 'nbtrack-folder jp-mod-styled';
    this._folder.value = initial.folder;
    this._folder.spellcheck = false;
    this.node.appendChild(this._folder);
    this.node.appendChild(
      el('div', 'nbtrack-hint', 'Relative to the Jupyter root, created if missing; the replay is also tracked as a new run.')
    );
  }

  getValue(): IFormValue {
    return {
      parameters: this._params.value,
      order: this._order.value === 'executed' ? 'executed' : 'notebook',
      folder: this._folder.value.trim(),
      confirmed: this._confirm.checked
    };
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.syncAccept();
  }

  /** Someone else's run: the Replay button works only once the box is ticked. */
  private syncAccept(): void {
    const accept = this.node.closest('.jp-Dialog-content')?.querySelector<HTMLButtonElement>('.jp-mod-accept');
    if (accept && this.plan.warning) {
      accept.disabled = !this._confirm.checked;
      accept.title = this._confirm.checked ? '' : 'Tick “I trust this code” to replay someone else’s run';
    }
  }

  private _params = el('textarea');
  private _order = el('select');
  private _folder = el('input');
  private _confirm = el('input');
}

/** Ask how to replay the run; null when cancelled. Re-asks on bad input. */
export async function askReplay(plan: IReplayPlan): Promise<IReplayRequest | null> {
  let value: IFormValue = {
    parameters: Object.entries(plan.params ?? {})
      .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
      .join('\n'),
    order: 'notebook',
    folder: plan.folder,
    confirmed: false
  };
  let error: string | undefined;
  for (;;) {
    const result = await showDialog({
      title: `Replay “${runLabel({ id: plan.run, name: plan.name })}”`,
      body: new ReplayBody(plan, value, error),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Replay' })]
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    value = result.value;
    try {
      if (plan.warning && !value.confirmed) {
        throw new Error('Tick “I trust this code” to replay someone else’s run.');
      }
      if (!value.folder) {
        throw new Error('Give a folder for the executed notebook.');
      }
      return {
        run: plan.run,
        parameters: parseParameters(value.parameters),
        order: value.order,
        folder: value.folder,
        confirm: value.confirmed
      };
    } catch (e) {
      error = (e as Error).message;
    }
  }
}

const STATUS_WORDS: Record<string, string> = {
  identical: 'same',
  'within tolerance': 'within tolerance',
  different: 'different',
  'not run': 'not run',
  'no original': 'no original to compare with'
};

const VERDICT_WORDS: Record<string, string> = {
  reproduced: 'every compared output and metric is the same.',
  'reproduced within tolerance': 'numbers differ, but only within the tolerance.',
  differs: 'some outputs or metrics are not the same (below).',
  failed: 'the replay stopped with an error.'
};

function block(title: string, count?: string): HTMLElement {
  const section = el('section', 'nbtrack-report-section');
  const head = el('h3', 'nbtrack-report-title', title);
  if (count) {
    head.appendChild(el('span', 'nbtrack-report-count', ` · ${count}`));
  }
  section.appendChild(head);
  return section;
}

function table(headers: string[], rows: string[][], statuses?: string[]): HTMLTableElement {
  const node = el('table', 'nbtrack-table');
  const head = el('tr');
  headers.forEach(h => head.appendChild(el('th', undefined, h)));
  node.appendChild(head);
  rows.forEach((cells, i) => {
    const tr = el('tr');
    if (statuses) {
      tr.dataset.status = statuses[i].replace(/\s+/g, '-');
    }
    cells.forEach(text => tr.appendChild(el('td', undefined, text)));
    node.appendChild(tr);
  });
  return node;
}

function cellItem(cell: ICellComparison, onFullDiff: () => void): HTMLElement {
  const item = el('details', 'nbtrack-report-cell');
  item.dataset.status = cell.status.replace(/\s+/g, '-');
  const first = cell.source.trim().split('\n')[0] ?? '';
  const summary = el('summary');
  summary.append(
    el('span', 'nbtrack-report-cell-name', `Cell ${cell.index + 1}${cell.execution_count !== null ? ` · In [${cell.execution_count}]` : ''}`),
    el('span', `nbtrack-pill nbtrack-pill-${item.dataset.status}`, STATUS_WORDS[cell.status] ?? cell.status),
    el('code', 'nbtrack-report-cell-source', first)
  );
  item.appendChild(summary);
  item.appendChild(el('pre', 'nbtrack-report-source', cell.source));
  for (const difference of cell.differences) {
    item.appendChild(el('pre', 'nbtrack-report-difference', difference));
    if (/\.\.\. \(\d+ more lines\)$/.test(difference)) {
      const more = el('button', 'nbtrack-link', 'This difference is long: open the full diff of both notebooks');
      more.type = 'button';
      more.addEventListener('click', onFullDiff);
      item.appendChild(more);
    }
  }
  return item;
}

/** Follows one replay job (`replay/JOB`) until it is done, then shows its report. */
export class ReplayView extends Widget {
  constructor(
    readonly plan: IReplayPlan,
    readonly job: string,
    private readonly commands: CommandRegistry
  ) {
    super();
    this.addClass('nbtrack-view');
    this.addClass('nbtrack-replay');
    this.node.appendChild(el('h2', 'nbtrack-replay-title', `Replay of “${runLabel({ id: plan.run, name: plan.name })}” (${shortId(plan.run)})`));
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
    this._progress.hidden = job.state !== 'running';
    this._state.className = `nbtrack-replay-state nbtrack-state-${job.state}`;
    this._state.textContent =
      job.state === 'running'
        ? `Running: ${done} of ${plural(total, 'cell')}`
        : job.state === 'done'
          ? `Done: ${done} of ${plural(total, 'cell')} ran`
          : `Failed${job.error ? `: ${job.error}` : ''}`;
    this.node.dataset.state = job.state;
    if (job.state === 'running' && !job.output) {
      return;
    }
    this._body.textContent = '';
    this._body.appendChild(this.where(job));
    if (job.state === 'running') {
      return;
    }
    for (const note of job.notes ?? []) {
      this._body.appendChild(el('div', 'nbtrack-warning', note));
    }
    if (job.report) {
      this.renderReport(job.report, job);
    }
  }

  /** Where the replay went: the executed notebook and the replay run, with ways to open them. */
  private where(job: IReplayJob): HTMLElement {
    const box = el('div', 'nbtrack-replay-where');
    if (job.output) {
      const line = el('div', 'nbtrack-replay-output');
      line.append(el('span', undefined, 'Executed notebook: '), el('code', undefined, job.output), document.createTextNode(' '));
      if (job.state !== 'running') {
        const open = el('button', 'nbtrack-link', 'Open');
        open.type = 'button';
        open.addEventListener('click', () => void this.commands.execute('docmanager:open', { path: job.output ?? '' }));
        line.appendChild(open);
      }
      box.appendChild(line);
    }
    if (job.replay_run) {
      const line = el('div', 'nbtrack-replay-run');
      line.append(el('span', undefined, 'Tracked as run '), el('code', undefined, job.replay_run), document.createTextNode(' '));
      const diff = el('button', 'nbtrack-link nbtrack-replay-diff', 'Diff the original and the replay');
      diff.type = 'button';
      diff.addEventListener('click', () => this.fullDiff(job));
      line.appendChild(diff);
      box.appendChild(line);
    }
    return box;
  }

  private fullDiff(job: IReplayJob): void {
    if (job.replay_run) {
      void this.commands.execute('nbtrack:diff-run', { id: this.plan.run, against: job.replay_run });
    }
  }

  private renderReport(report: IReport, job: IReplayJob): void {
    const verdict = String(report.verdict);
    const badge = el('div', 'nbtrack-verdict');
    badge.dataset.verdict = verdict;
    badge.append(el('span', 'nbtrack-verdict-word', verdict), el('span', 'nbtrack-verdict-text', VERDICT_WORDS[verdict] ?? ''));
    this._body.appendChild(badge);
    const facts = el('dl', 'nbtrack-facts nbtrack-report-facts');
    const fact = (label: string, value: string) => {
      const item = el('div', 'nbtrack-fact');
      item.append(el('dt', undefined, label), el('dd', undefined, value));
      facts.appendChild(item);
    };
    const params = Object.entries(report.parameters ?? {});
    fact('Parameters', params.length ? params.map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join(', ') : 'as recorded');
    fact('Cell order', report.order === 'executed' ? 'as executed originally' : 'notebook order');
    if (report.tolerance !== undefined) {
      fact('Tolerance', `${report.tolerance} (relative)`);
    }
    if (report.error) {
      fact('Error', report.error);
    }
    this._body.appendChild(facts);

    const cells = report.cells ?? [];
    const counts = new Map<string, number>();
    cells.forEach(c => counts.set(c.status, (counts.get(c.status) ?? 0) + 1));
    const cellBox = block('Cells', [...counts].map(([s, n]) => `${n} ${STATUS_WORDS[s] ?? s}`).join(', ') || undefined);
    if (!cells.length) {
      cellBox.appendChild(el('p', 'nbtrack-none', 'No code cells were compared.'));
    }
    const same = cells.filter(c => c.status === 'identical');
    for (const cell of cells.filter(c => c.status !== 'identical')) {
      cellBox.appendChild(cellItem(cell, () => this.fullDiff(job)));
    }
    if (same.length) {
      const group = el('details', 'nbtrack-report-same');
      group.appendChild(el('summary', undefined, `${plural(same.length, 'cell')} with the same outputs`));
      same.forEach(cell => group.appendChild(cellItem(cell, () => this.fullDiff(job))));
      cellBox.appendChild(group);
    }
    this._body.appendChild(cellBox);

    const metrics = report.metrics ?? [];
    const metricBox = block('Metrics (final values)');
    metricBox.appendChild(
      metrics.length
        ? table(
            ['Metric', 'Original', 'Replay', 'Agreement'],
            metrics.map(m => [m.key, formatValue(m.original), formatValue(m.replay), STATUS_WORDS[m.status] ?? m.status]),
            metrics.map(m => m.status)
          )
        : el('p', 'nbtrack-none', 'No metrics were logged.')
    );
    this._body.appendChild(metricBox);

    const env = report.environment ?? [];
    const envBox = block('Environment');
    envBox.appendChild(
      env.length
        ? table(
            ['Package', 'Original', 'Replay', 'Note'],
            env.map(e => [String(e.package ?? ''), formatValue(e.original), formatValue(e.replay), String(e.note ?? e.kind ?? '')])
          )
        : el('p', 'nbtrack-none', 'No differences: the same Python and package versions.')
    );
    this._body.appendChild(envBox);

    const data = report.data ?? [];
    const dataBox = block('Data');
    dataBox.appendChild(
      data.length
        ? table(
            ['Path', 'Status', 'Note'],
            data.map(d => [String(d.path ?? ''), String(d.status ?? ''), String(d.note ?? '')]),
            data.map(d => String(d.status ?? ''))
          )
        : el('p', 'nbtrack-none', 'No datasets were tracked.')
    );
    this._body.appendChild(dataBox);
  }

  private _busy = false;
  private _timer: number;
  private _state = el('div', 'nbtrack-replay-state', 'Starting…');
  private _progress = el('progress', 'nbtrack-progress');
  private _body = el('div', 'nbtrack-report');
}

export function replayWidget(plan: IReplayPlan, job: string, commands: CommandRegistry): MainAreaWidget<ReplayView> {
  const widget = new MainAreaWidget({ content: new ReplayView(plan, job, commands) });
  widget.title.label = `Replay: ${runLabel({ id: plan.run, name: plan.name })} · ${shortId(plan.run)}`;
  widget.title.caption = `nbtrack replay of run ${plan.run} (job ${job})`;
  widget.title.closable = true;
  const refresh = new ToolbarButton({
    label: 'Replay again',
    tooltip: 'Replay this run again (asks for parameters)',
    onClick: () => void commands.execute('nbtrack:replay-run', { id: plan.run })
  });
  widget.toolbar.addItem('again', refresh);
  return widget;
}
