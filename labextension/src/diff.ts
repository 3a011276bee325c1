/**
 * A cell-aware notebook diff (sources and outputs), rendered by nbdime's diff widgets from the
 * diff the server computes with nbdime, under a one-line human summary.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import * as nbformat from '@jupyterlab/nbformat';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { Panel, Widget } from '@lumino/widgets';
import type { IDiffEntry } from 'nbdime/lib/diff/diffentries';
import { NotebookDiffModel } from 'nbdime/lib/diff/model';
import { CELLDIFF_CLASS, NotebookDiffWidget } from 'nbdime/lib/diff/widget';
import { CHUNK_PANEL_CLASS, UNCHANGED_DIFF_CLASS } from 'nbdime/lib/diff/widget/common';

import { IDiffPayload, IDiffSide, IDiffSummary } from './request';
import { baseName, el, formatDate, plural, runLabel, shortId } from './dom';

/** "3 cells changed, 1 added; outputs differ in 2" (or "no differences ..."). */
export function summaryText(summary: IDiffSummary): string {
  const parts: string[] = [];
  if (summary.changed) {
    parts.push(`${plural(summary.changed, 'cell')} changed`);
  }
  if (summary.added) {
    parts.push(parts.length ? `${summary.added} added` : `${plural(summary.added, 'cell')} added`);
  }
  if (summary.removed) {
    parts.push(parts.length ? `${summary.removed} removed` : `${plural(summary.removed, 'cell')} removed`);
  }
  let text = parts.join(', ');
  if (summary.outputs_changed) {
    const outputs = `outputs differ in ${plural(summary.outputs_changed, 'cell')}`;
    text = text ? `${text}; ${outputs}` : outputs.charAt(0).toUpperCase() + outputs.slice(1);
  }
  if (summary.metadata_changed) {
    text = text ? `${text}; the kernel differs` : 'The kernel differs';
  }
  if (!text) {
    return `No differences in sources or outputs (${plural(summary.unchanged, 'cell')})`;
  }
  return `${text.charAt(0).toUpperCase()}${text.slice(1)} (${summary.unchanged} unchanged)`;
}

/** How a side of the diff is named: a run's snapshot, or the notebook as saved. */
export function sideLabel(side: IDiffSide | null, path: string | null): string {
  if (!side) {
    return `${path ?? 'the notebook'} as saved`;
  }
  const label = runLabel({ id: side.run, name: side.name });
  return `run “${label}” (${shortId(side.run)}), snapshot of ${formatDate(side.time)}`;
}

/** Marks the cells shown after a stretch of hidden unchanged ones, for the "N hidden" notes. */
function markHiddenRanges(root: HTMLElement): void {
  const cells = Array.from(root.querySelectorAll(`.${CELLDIFF_CLASS}, .${CHUNK_PANEL_CLASS}`)).filter(
    node => !node.parentElement?.closest(`.${CHUNK_PANEL_CLASS}`)
  );
  let hidden = 0;
  let lastShown: Element | null = null;
  for (const node of cells) {
    node.removeAttribute('data-nbtrack-hidden-before');
    node.removeAttribute('data-nbtrack-hidden-after');
    if (node.classList.contains(UNCHANGED_DIFF_CLASS)) {
      hidden++;
      continue;
    }
    if (hidden) {
      node.setAttribute('data-nbtrack-hidden-before', plural(hidden, 'unchanged cell'));
    }
    hidden = 0;
    lastShown = node;
  }
  if (hidden && lastShown) {
    lastShown.setAttribute('data-nbtrack-hidden-after', plural(hidden, 'unchanged cell'));
  }
}

export interface IDiffViewOptions {
  payload: IDiffPayload;
  /** The notebook on the right (when it is not a run). */
  path: string | null;
  rendermime: IRenderMimeRegistry;
  /** Shown above the diff, e.g. "the notebook has unsaved changes". */
  note?: string;
}

export class DiffView extends MainAreaWidget<Panel> {
  constructor(options: IDiffViewOptions) {
    const content = new Panel();
    super({ content });
    const { payload, path } = options;
    this.addClass('nbtrack-diff-view');
    content.addClass('nbtrack-view');
    content.addClass('nbtrack-diff');
    const left = runLabel({ id: payload.a.run, name: payload.a.name });
    const right = payload.b ? runLabel({ id: payload.b.run, name: payload.b.name }) : baseName(path);
    this.title.label = `Diff: ${left} · ${shortId(payload.a.run)} ↔ ${right}${payload.b ? ` · ${shortId(payload.b.run)}` : ''}`;
    this.title.caption = `${sideLabel(payload.a, null)} against ${sideLabel(payload.b, path)}`;
    this.title.closable = true;

    const head = el('div', 'nbtrack-diff-header');
    const summary = el('div', 'nbtrack-diff-summary', summaryText(payload.summary));
    summary.dataset.unchanged = String(payload.summary.unchanged);
    head.appendChild(summary);
    if (options.note) {
      head.appendChild(el('div', 'nbtrack-warning', options.note));
    }
    const sides = el('div', 'nbtrack-diff-sides');
    sides.append(
      el('div', 'nbtrack-diff-side nbtrack-diff-base', sideLabel(payload.a, null)),
      el('div', 'nbtrack-diff-side nbtrack-diff-remote', sideLabel(payload.b, path))
    );
    head.appendChild(sides);
    content.addWidget(new Widget({ node: head }));

    const scroller = new Panel();
    scroller.addClass('nbtrack-diff-root');
    scroller.addClass('nbdime-root'); // nbdime's own styles are scoped to it
    content.addWidget(scroller);
    this._scroller = scroller;
    const empty = !payload.diff.length;
    if (empty) {
      scroller.node.classList.add('nbtrack-no-differences');
    }

    const toggle = new ToolbarButton({
      label: 'Show unchanged cells',
      tooltip: 'Show or hide the cells that are the same on both sides',
      onClick: () => this.setShowUnchanged(!this._showUnchanged),
      pressed: false
    });
    toggle.addClass('nbtrack-show-unchanged');
    this._toggle = toggle;
    this.toolbar.addItem('show-unchanged', toggle);

    const model = new NotebookDiffModel(
      payload.base as unknown as nbformat.INotebookContent,
      payload.diff as IDiffEntry[]
    );
    const widget = new NotebookDiffWidget({ model, rendermime: options.rendermime });
    scroller.addWidget(widget);
    this.ready = widget.init().then(() => {
      markHiddenRanges(scroller.node);
      this.setShowUnchanged(false);
    });
  }

  /** Resolves once every cell of the diff is rendered. */
  readonly ready: Promise<void>;

  private setShowUnchanged(show: boolean): void {
    this._showUnchanged = show;
    this._scroller.node.classList.toggle('nbtrack-hide-unchanged', !show);
    this._toggle.pressed = show;
  }

  private _scroller: Panel;
  private _toggle: ToolbarButton;
  private _showUnchanged = false;
}
