/**
 * Main-area views of a run: a read-only snapshot and a cell-by-cell diff. All user data is set
 * through textContent, never as HTML.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { el, formatValue } from './dom';
import { ICellDiff, IDiffResult, INotebookCell, INotebookJSON } from './request';

function joinSource(source: string | string[] | undefined | null): string {
  if (source === undefined || source === null) {
    return '';
  }
  return Array.isArray(source) ? source.join('') : source;
}

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/** The text form of one nbformat output. */
export function outputText(output: Record<string, unknown>): string {
  const type = output.output_type;
  if (type === 'stream') {
    return joinSource(output.text as string | string[]);
  }
  if (type === 'error') {
    const tb = (output.traceback as string[] | undefined) ?? [];
    const head = `${String(output.ename)}: ${String(output.evalue)}`;
    return tb.length ? tb.join('\n').replace(ANSI, '') : head;
  }
  const data = (output.data as Record<string, unknown> | undefined) ?? {};
  if ('text/plain' in data) {
    return joinSource(data['text/plain'] as string | string[]);
  }
  return `[${Object.keys(data).join(', ') || String(type)}]`;
}

/** Opens main-area views keyed by id; a view opened again replaces the old one. */
export class ViewOpener {
  constructor(private readonly add: (widget: Widget) => void) {}

  open(id: string, create: () => Widget): Widget {
    this._open.get(id)?.dispose();
    const widget = create();
    widget.id = id;
    this._open.set(id, widget);
    widget.disposed.connect(() => this._open.delete(id));
    this.add(widget);
    return widget;
  }

  private _open = new Map<string, Widget>();
}

export function mainArea(content: Widget, label: string, caption: string): MainAreaWidget {
  const widget = new MainAreaWidget({ content });
  widget.title.label = label;
  widget.title.caption = caption;
  widget.title.closable = true;
  return widget;
}

/** Render a snapshot notebook as read-only text. */
export function renderSnapshot(runName: string, runId: string, nb: INotebookJSON): Widget {
  const content = new Widget();
  content.addClass('nbtrack-view');
  content.addClass('nbtrack-snapshot');
  const root = content.node;
  root.appendChild(
    el('div', 'nbtrack-banner', `Read-only snapshot of run “${runName}” (${runId}). Nothing here is saved.`)
  );
  (nb.cells ?? []).forEach((cell: INotebookCell, index: number) => {
    const box = el('section', `nbtrack-cell nbtrack-cell-${cell.cell_type}`);
    const count =
      cell.cell_type === 'code' ? `In [${cell.execution_count ?? ' '}]` : cell.cell_type;
    box.appendChild(el('div', 'nbtrack-cell-head', `#${index + 1} · ${count}`));
    box.appendChild(el('pre', 'nbtrack-source', joinSource(cell.source)));
    for (const output of cell.outputs ?? []) {
      box.appendChild(el('pre', 'nbtrack-output', outputText(output)));
    }
    root.appendChild(box);
  });
  if (!nb.cells?.length) {
    root.appendChild(el('p', 'nbtrack-empty', 'The snapshot has no cells.'));
  }
  return mainArea(content, `Snapshot: ${runName}`, `nbtrack run ${runId} (read-only)`);
}

/**
 * Which lines of `a` and of `b` belong to their longest common subsequence (true = common).
 * Null when the sources are too large to compare line by line.
 */
export function commonLines(a: string, b: string): { a: boolean[]; b: boolean[] } | null {
  const x = a.split('\n');
  const y = b.split('\n');
  const n = x.length;
  const m = y.length;
  if (n * m > 250_000) {
    return null;
  }
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const inA = new Array<boolean>(n).fill(false);
  const inB = new Array<boolean>(m).fill(false);
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      inA[i++] = true;
      inB[j++] = true;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      i++;
    } else {
      j++;
    }
  }
  return { a: inA, b: inB };
}

function diffSide(
  label: string,
  source: string | null,
  index: number | null,
  common: boolean[] | null,
  mark: string
): HTMLElement {
  const side = el('div', 'nbtrack-diff-side');
  side.appendChild(
    el('div', 'nbtrack-diff-side-head', index === null ? `${label}: —` : `${label}: cell #${index + 1}`)
  );
  if (source === null) {
    side.appendChild(el('div', 'nbtrack-absent', `(not in the ${label})`));
    return side;
  }
  const pre = el('pre', 'nbtrack-source');
  if (common) {
    source.split('\n').forEach((line, k) => {
      pre.appendChild(el('span', common[k] ? 'nbtrack-line' : `nbtrack-line ${mark}`, line));
    });
  } else {
    pre.textContent = source;
  }
  side.appendChild(pre);
  return side;
}

/** Render a cell-by-cell diff of a run snapshot (left) against a notebook (right). */
export function renderDiff(
  runName: string,
  runId: string,
  path: string,
  diff: IDiffResult,
  note?: string
): Widget {
  const content = new Widget();
  content.addClass('nbtrack-view');
  content.addClass('nbtrack-diff');
  const root = content.node;
  root.appendChild(
    el('div', 'nbtrack-banner', `Run “${runName}” snapshot (left) against ${path} as saved (right).`)
  );
  if (note) {
    root.appendChild(el('div', 'nbtrack-warning', note));
  }
  const counts: Record<string, number> = { same: 0, changed: 0, added: 0, removed: 0 };
  for (const cell of diff.cells) {
    counts[cell.status] = (counts[cell.status] ?? 0) + 1;
  }
  const summary = el('div', 'nbtrack-diff-summary');
  const parts = Object.entries(counts).map(([k, v]) => `${v} ${k}`);
  for (const [k, v] of Object.entries(diff.summary ?? {})) {
    if (!(k in counts)) {
      parts.push(`${k}: ${formatValue(v)}`);
    }
  }
  summary.textContent = parts.join(' · ');
  root.appendChild(summary);

  const showSame = el('label', 'nbtrack-check');
  const box = el('input');
  box.type = 'checkbox';
  showSame.append(box, document.createTextNode(' show unchanged cells'));
  root.appendChild(showSame);

  const list = el('div', 'nbtrack-diff-list');
  diff.cells.forEach((cell: ICellDiff) => {
    const row = el('section', `nbtrack-diff-cell nbtrack-diff-${cell.status}`);
    row.dataset.status = cell.status;
    const head = cell.outputs_changed ? `${cell.status} (outputs changed)` : cell.status;
    row.appendChild(el('div', 'nbtrack-diff-head', head));
    const lines =
      cell.status === 'changed' && cell.source_a !== null && cell.source_b !== null
        ? commonLines(cell.source_a, cell.source_b)
        : null;
    const sides = el('div', 'nbtrack-diff-sides');
    sides.append(
      diffSide('run', cell.source_a, cell.index_a, lines?.a ?? null, 'nbtrack-line-removed'),
      diffSide('notebook', cell.source_b, cell.index_b, lines?.b ?? null, 'nbtrack-line-added')
    );
    row.appendChild(sides);
    list.appendChild(row);
  });
  root.appendChild(list);
  const applyFilter = () => list.classList.toggle('nbtrack-hide-same', !box.checked);
  box.addEventListener('change', applyFilter);
  applyFilter();
  if (!diff.cells.length) {
    root.appendChild(el('p', 'nbtrack-empty', 'Both notebooks are empty.'));
  }
  return mainArea(content, `Diff: ${runName}`, `nbtrack run ${runId} against ${path}`);
}
