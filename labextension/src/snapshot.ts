/**
 * A run's notebook snapshot, rendered read-only by JupyterLab's own notebook widget (markdown
 * rendered, code highlighted, outputs through the rendermime registry), under a header with
 * what the run recorded: name, id, status, user, date, params, metrics, tags and notes.
 */
import { IEditorServices } from '@jupyterlab/codeeditor';
import { MainAreaWidget } from '@jupyterlab/apputils';
import * as nbformat from '@jupyterlab/nbformat';
import { NotebookModel, NotebookPanel, StaticNotebook } from '@jupyterlab/notebook';
import { IRenderMime, IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Panel, Widget } from '@lumino/widgets';

import { IMetricSummary, INotebookJSON, IRunDetail } from './request';
import {
  chip,
  el,
  formatDate,
  formatDuration,
  formatValue,
  plural,
  runLabel,
  shortId
} from './dom';

/** Outputs of nbtrack's widgets (their state is never kept in a snapshot) are shown as this. */
export const PLACEHOLDER_MIME = 'application/vnd.nbtrack.widget-placeholder+json';
const WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json';
/** The text a widget leaves behind when its view is stripped: `<module.Class object at 0x..>`. */
const OBJECT_REPR = /^<([\w.]+) object at 0x[0-9a-f]+>$/;

/** What stands in for a widget output that cannot be shown from a snapshot (null: keep it). */
export function widgetPlaceholder(output: Record<string, any>): { widget: string; nbtrack: boolean } | null {
  const data = output.data as Record<string, unknown> | undefined;
  if (!data) {
    return null;
  }
  const plain = data['text/plain'];
  const text = (Array.isArray(plain) ? plain.join('') : String(plain ?? '')).trim();
  const match = OBJECT_REPR.exec(text);
  if (WIDGET_VIEW in data) {
    const name = match?.[1] ?? 'widget';
    return { widget: name, nbtrack: name.startsWith('nbtrack.') };
  }
  if (match && match[1].startsWith('nbtrack.') && Object.keys(data).length === 1) {
    return { widget: match[1], nbtrack: true };
  }
  return null;
}

/** The snapshot made ready for the static view: read-only cells, widget placeholders. */
export function prepareSnapshot(nb: INotebookJSON): nbformat.INotebookContent {
  const metadata = { ...(nb.metadata ?? {}) };
  if (!metadata.language_info) {
    metadata.language_info = { name: metadata.kernelspec?.language ?? 'python' };
  }
  const cells = (nb.cells ?? []).map(cell => {
    const outputs = (cell.outputs ?? []).map(output => {
      const stand = widgetPlaceholder(output);
      return stand
        ? { output_type: 'display_data', data: { [PLACEHOLDER_MIME]: stand }, metadata: {} }
        : output;
    });
    const copy: Record<string, any> = {
      ...cell,
      metadata: { ...(cell.metadata ?? {}), editable: false, deletable: false, trusted: false }
    };
    if (cell.cell_type === 'code') {
      copy.outputs = outputs;
    }
    return copy;
  });
  return {
    nbformat: 4,
    nbformat_minor: nb.nbformat_minor ?? 5,
    metadata: metadata as nbformat.INotebookMetadata,
    cells: cells as unknown as nbformat.ICell[]
  };
}

/** Renders the placeholder of a widget output. */
class PlaceholderRenderer extends Widget implements IRenderMime.IRenderer {
  constructor() {
    super();
    this.addClass('nbtrack-widget-placeholder');
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const found = model.data[PLACEHOLDER_MIME] as { widget?: string; nbtrack?: boolean } | undefined;
    this.node.textContent = found?.nbtrack
      ? 'live chart (nbtrack): widgets are not kept in snapshots; the run’s metrics are in the header above and in Compare'
      : `interactive widget (${found?.widget ?? 'widget'}): not kept in the snapshot`;
  }
}

/** A rendermime registry that also renders the widget placeholders. */
export function snapshotRendermime(rendermime: IRenderMimeRegistry): IRenderMimeRegistry {
  const clone = rendermime.clone();
  clone.addFactory(
    { safe: true, mimeTypes: [PLACEHOLDER_MIME], createRenderer: () => new PlaceholderRenderer() },
    0
  );
  return clone;
}

function section(title: string, className: string): HTMLElement {
  const node = el('section', `nbtrack-header-section ${className}`);
  node.appendChild(el('h3', 'nbtrack-header-label', title));
  return node;
}

function metricText(summary: IMetricSummary): string {
  const extra = [
    summary.min !== undefined && summary.min !== null ? `min ${formatValue(summary.min)}` : '',
    summary.max !== undefined && summary.max !== null ? `max ${formatValue(summary.max)}` : ''
  ].filter(Boolean);
  return `${formatValue(summary.last)}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

/** The header of a run: what it is and what it recorded (every user text set as text). */
export function runHeader(run: IRunDetail, snapshotIndex: number | null): HTMLElement {
  const header = el('header', 'nbtrack-run-header');
  const title = el('div', 'nbtrack-run-header-title');
  const badge = el('span', 'nbtrack-status-badge', run.status);
  badge.dataset.status = run.status;
  title.append(el('h1', 'nbtrack-run-title', runLabel(run)), badge);
  header.appendChild(title);

  const facts = el('dl', 'nbtrack-facts');
  const fact = (label: string, value: string, className = '') => {
    const item = el('div', `nbtrack-fact ${className}`.trim());
    item.append(el('dt', undefined, label), el('dd', undefined, value));
    facts.appendChild(item);
  };
  fact('Run id', run.id, 'nbtrack-fact-id');
  fact('User', `${run.user || '—'}${run.host ? ` on ${run.host}` : ''}`);
  fact('Started', formatDate(run.start));
  fact('Duration', formatDuration(run.duration));
  if (run.notebook) {
    fact('Notebook', run.notebook);
  }
  if (run.replay_of) {
    fact('Replay of', shortId(run.replay_of));
  }
  if (run.snapshots.length && snapshotIndex !== null) {
    const snap = run.snapshots.find(s => s.index === snapshotIndex) ?? run.snapshots[run.snapshots.length - 1];
    fact('Snapshot', `${snap.index + 1} of ${run.snapshots.length} · ${snap.reason || 'taken'} · ${formatDate(snap.time)}`);
  }
  header.appendChild(facts);
  if (run.error) {
    header.appendChild(el('div', 'nbtrack-warning', `Error: ${run.error}`));
  }

  const params = Object.entries(run.params ?? {});
  const metrics = Object.entries(run.metrics ?? {});
  const grid = el('div', 'nbtrack-header-grid');
  const paramBox = section(`Parameters (${params.length})`, 'nbtrack-header-params');
  for (const [key, value] of params) {
    paramBox.appendChild(chip(key, formatValue(value)));
  }
  if (!params.length) {
    paramBox.appendChild(el('span', 'nbtrack-none', 'none recorded'));
  }
  const metricBox = section(`Metrics (${metrics.length})`, 'nbtrack-header-metrics');
  for (const [key, summary] of metrics) {
    const node = chip(key, metricText(summary));
    node.dataset.metric = key;
    metricBox.appendChild(node);
  }
  if (!metrics.length) {
    metricBox.appendChild(el('span', 'nbtrack-none', 'none logged'));
  }
  grid.append(paramBox, metricBox);
  if (run.tags?.length) {
    const tags = section('Tags', 'nbtrack-header-tags');
    for (const tag of run.tags) {
      tags.appendChild(el('span', 'nbtrack-tag', tag));
    }
    grid.appendChild(tags);
  }
  if (run.notes?.length) {
    const notes = section(plural(run.notes.length, 'Note'), 'nbtrack-header-notes');
    for (const note of run.notes) {
      const p = el('p', 'nbtrack-note', note.text);
      p.title = formatDate(note.time);
      notes.appendChild(p);
    }
    grid.appendChild(notes);
  }
  header.appendChild(grid);
  return header;
}

export interface ISnapshotOptions {
  run: IRunDetail;
  notebook: INotebookJSON;
  snapshotIndex: number | null;
  rendermime: IRenderMimeRegistry;
  editorServices: IEditorServices;
}

/** The main-area view of one snapshot (its toolbar is filled by the caller). */
export class SnapshotView extends MainAreaWidget<Panel> {
  constructor(options: ISnapshotOptions) {
    const content = new Panel();
    super({ content });
    const { run, notebook: nb, editorServices } = options;
    this.addClass('nbtrack-snapshot-view');
    content.addClass('nbtrack-view');
    content.addClass('nbtrack-snapshot');
    this.title.label = `${runLabel(run)} · ${shortId(run.id)}`;
    this.title.caption = `nbtrack run ${run.id}: notebook snapshot (read-only)`;
    this.title.closable = true;

    content.addWidget(new Widget({ node: runHeader(run, options.snapshotIndex) }));
    content.addWidget(
      new Widget({
        node: el(
          'div',
          'nbtrack-banner',
          'Read-only snapshot of the notebook as this run ran it. “Open as notebook” makes an editable copy.'
        )
      })
    );
    this._model = new NotebookModel();
    this._model.fromJSON(prepareSnapshot(nb));
    this._model.readOnly = true;
    const notebook = new StaticNotebook({
      rendermime: snapshotRendermime(options.rendermime),
      contentFactory: new NotebookPanel.ContentFactory({
        editorFactory: editorServices.factoryService.newInlineEditor
      }),
      mimeTypeService: editorServices.mimeTypeService,
      notebookConfig: { ...StaticNotebook.defaultNotebookConfig, windowingMode: 'none' }
    });
    notebook.addClass('nbtrack-snapshot-notebook');
    notebook.model = this._model;
    for (const cell of notebook.widgets) {
      cell.readOnly = true; // the editors highlight code but take no typing
    }
    content.addWidget(notebook);
    if (!nb.cells?.length) {
      content.addWidget(new Widget({ node: el('p', 'nbtrack-none', 'The snapshot has no cells.') }));
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    super.dispose();
    this._model.dispose();
  }

  private _model: NotebookModel;
}
