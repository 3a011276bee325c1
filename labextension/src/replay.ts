/**
 * The view that follows a replay job (`replay/JOB`) and shows its reproducibility report in
 * plain words: the verdict, where the executed notebook went, each differing cell expandable.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import { el, formatValue, plural, runLabel, shortId } from './dom';
import { ICellComparison, IReplayJob, IReplayPlan, IReport, requestAPI, seg } from './request';

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

/** Why a cell or metric differs, in plain words (the causes of `nbtrack.core.causes`). */
const CAUSE_WORDS: Record<string, string> = {
  randomness: 'Randomness',
  timing: 'Timing',
  environment: 'Environment',
  data: 'Data',
  order: 'Order',
  parameters: 'Parameters',
  'original incomplete': 'Original incomplete',
  'secret removed': 'Secret removed',
  unknown: 'Unknown'
};

function causeText(cause?: string | null, detail?: string | null): string {
  if (!cause) {
    return '';
  }
  const word = CAUSE_WORDS[cause] ?? cause;
  return detail ? `${word}: ${detail}` : word;
}

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
  if (cell.cause) {
    const pill = el('span', 'nbtrack-pill nbtrack-cause', CAUSE_WORDS[cell.cause] ?? cell.cause);
    pill.dataset.cause = cell.cause.replace(/\s+/g, '-');
    summary.insertBefore(pill, summary.lastChild);
  }
  item.appendChild(summary);
  if (cell.cause) {
    item.appendChild(el('p', 'nbtrack-report-cause', `Cause: ${causeText(cell.cause, cell.cause_detail)}`));
  }
  if (cell.nondeterministic) {
    item.appendChild(el('p', 'nbtrack-report-cause', 'It differed between two replays of the same notebook.'));
  }
  const variables = (cell.secrets ?? []).filter((v): v is string => !!v);
  if ((cell.secrets ?? []).length) {
    const how = variables.length ? ` (set ${variables.map(v => `$${v}`).join(', ')} to supply it to a replay)` : '';
    item.appendChild(el('p', 'nbtrack-report-cause', `A secret was removed from this cell's source${how}.`));
  }
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
    if (report.rng) {
      fact('Random state', report.rng === 'fresh' ? 'fresh (not restored)' : "the original's, before each cell");
    }
    if (report.hash_seed) {
      fact('PYTHONHASHSEED', report.hash_seed);
    }
    if (report.determinism_checked) {
      fact('Determinism', 'replayed twice; cells that differed between the two are marked');
    }
    const causes = Object.entries(report.causes ?? {});
    if (causes.length) {
      fact('Causes', causes.map(([c, n]) => `${n} ${CAUSE_WORDS[c] ?? c}`).join(', '));
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

    const section = (title: string, headers: string[], rows: string[][], none: string, statuses?: string[]) => {
      const box = block(title);
      box.appendChild(rows.length ? table(headers, rows, statuses) : el('p', 'nbtrack-none', none));
      this._body.appendChild(box);
    };
    const metrics = report.metrics ?? [];
    section(
      'Metrics (final values)',
      ['Metric', 'Original', 'Replay', 'Agreement', 'Cause'],
      metrics.map(m => [
        m.key,
        formatValue(m.original),
        formatValue(m.replay),
        STATUS_WORDS[m.status] ?? m.status,
        causeText(m.cause, m.cause_detail)
      ]),
      'No metrics were logged.',
      metrics.map(m => m.status)
    );
    section(
      'Environment',
      ['Package', 'Original', 'Replay', 'Note'],
      (report.environment ?? []).map(e => [String(e.package ?? ''), formatValue(e.original), formatValue(e.replay), String(e.note ?? e.kind ?? '')]),
      'No differences: the same Python and package versions.'
    );
    const data = report.data ?? [];
    section(
      'Data',
      ['Path', 'Status', 'Note'],
      data.map(d => [String(d.path ?? ''), String(d.status ?? ''), String(d.note ?? '')]),
      'No datasets were tracked.',
      data.map(d => String(d.status ?? ''))
    );
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
