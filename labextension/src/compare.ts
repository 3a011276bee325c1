/**
 * Compare runs side by side: a table of what they recorded (overview, parameters, metrics;
 * rows that differ are marked and can be shown alone) and one chart per metric with a line per
 * run (uPlot: hover values, a legend naming the runs, drag to zoom), in the Lab's theme.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ToolbarButton } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import uPlot from 'uplot';

import { IRunDetail } from './request';
import { baseName, el, formatDate, formatDuration, formatValue, runLabel, shortId } from './dom';

/** Readable on light and dark backgrounds. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];

const STEP_INCREMENTS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000, 20_000, 50_000, 100_000, 1e6, 1e7];

export type MetricSeries = Record<string, { step: (number | null)[]; value: (number | null)[] }>;

/** Buckets of the envelope a compare chart asks for: the main area's width in device pixels. */
export function chartPoints(): number {
  return Math.max(200, Math.min(8000, Math.ceil(window.innerWidth * (window.devicePixelRatio || 1))));
}

interface IRow {
  group: string;
  label: string;
  values: string[];
  titles?: string[];
}

function rowsOf(runs: IRunDetail[]): IRow[] {
  const rows: IRow[] = [
    { group: 'Overview', label: 'Status', values: runs.map(r => r.status) },
    { group: 'Overview', label: 'User', values: runs.map(r => r.user || '—') },
    { group: 'Overview', label: 'Started', values: runs.map(r => formatDate(r.start)) },
    { group: 'Overview', label: 'Duration', values: runs.map(r => formatDuration(r.duration)) },
    { group: 'Overview', label: 'Notebook', values: runs.map(r => baseName(r.notebook) || '—'), titles: runs.map(r => r.notebook ?? '') },
    { group: 'Overview', label: 'Tags', values: runs.map(r => (r.tags?.length ? r.tags.join(', ') : '—')) }
  ];
  const keys = (pick: (r: IRunDetail) => Record<string, unknown>) =>
    [...new Set(runs.flatMap(r => Object.keys(pick(r) ?? {})))].sort((a, b) => a.localeCompare(b));
  for (const key of keys(r => r.params)) {
    rows.push({ group: 'Parameters', label: key, values: runs.map(r => (key in (r.params ?? {}) ? formatValue(r.params[key]) : '—')) });
  }
  for (const key of keys(r => r.metrics)) {
    rows.push({
      group: 'Metrics (last value)',
      label: key,
      values: runs.map(r => formatValue(r.metrics?.[key]?.last)),
      titles: runs.map(r => {
        const m = r.metrics?.[key];
        return m ? `min ${formatValue(m.min)} · max ${formatValue(m.max)} · last ${formatValue(m.last)}` : 'not logged';
      })
    });
  }
  return rows;
}

/** Steps as the x axis: the union of every run's steps (a point's index when it has none). */
export function alignSeries(series: Array<{ step: (number | null)[]; value: (number | null)[] } | undefined>): uPlot.AlignedData {
  const points = series.map(s => {
    const map = new Map<number, number | null>();
    (s?.value ?? []).forEach((v, i) => map.set(s?.step[i] ?? i, v));
    return map;
  });
  const xs = [...new Set(points.flatMap(m => [...m.keys()]))].sort((a, b) => a - b);
  return [xs, ...points.map(m => xs.map(x => (m.has(x) ? (m.get(x) as number | null) : null)))] as uPlot.AlignedData;
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

export class CompareView extends Widget {
  constructor(
    readonly runs: IRunDetail[],
    readonly series: MetricSeries[]
  ) {
    super();
    this.addClass('nbtrack-view');
    this.addClass('nbtrack-compare');
    this.node.appendChild(this.table());
    this.node.appendChild(this._charts);
    this._charts.className = 'nbtrack-compare-charts';
    // Redraw the charts in the colors of a new theme.
    this._themeWatch = new MutationObserver(() => this.drawCharts());
    this._themeWatch.observe(document.body, { attributes: true, attributeFilter: ['data-jp-theme-name'] });
    this._resize = new ResizeObserver(() => this.fitCharts());
    this._resize.observe(this._charts);
  }

  /** Show only the table rows where the runs differ. */
  set onlyDifferences(value: boolean) {
    this.node.classList.toggle('nbtrack-only-differences', value);
  }

  dispose(): void {
    this._themeWatch.disconnect();
    this._resize.disconnect();
    this._plots.forEach(p => p.destroy());
    super.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.drawCharts();
  }

  private table(): HTMLElement {
    const table = el('table', 'nbtrack-table nbtrack-compare-table');
    const head = el('tr');
    head.appendChild(el('th', 'nbtrack-compare-corner', ''));
    this.runs.forEach((run, i) => {
      const th = el('th', 'nbtrack-compare-run');
      const swatch = el('span', 'nbtrack-swatch');
      swatch.style.background = PALETTE[i % PALETTE.length];
      th.append(swatch, el('span', 'nbtrack-compare-name', runLabel(run)), el('span', 'nbtrack-id', shortId(run.id)));
      th.title = run.id;
      head.appendChild(th);
    });
    const thead = el('thead');
    thead.appendChild(head);
    table.appendChild(thead);
    const body = el('tbody');
    let group = '';
    for (const row of rowsOf(this.runs)) {
      if (row.group !== group) {
        group = row.group;
        const tr = el('tr', 'nbtrack-group');
        const th = el('th', undefined, group);
        th.colSpan = this.runs.length + 1;
        tr.appendChild(th);
        body.appendChild(tr);
      }
      const tr = el('tr');
      const differs = new Set(row.values).size > 1;
      tr.classList.toggle('nbtrack-differs', differs);
      tr.dataset.row = row.label;
      tr.appendChild(el('th', 'nbtrack-row-label', row.label));
      row.values.forEach((value, i) => {
        const td = el('td', undefined, value);
        if (row.titles) {
          td.title = row.titles[i];
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    }
    table.appendChild(body);
    return table;
  }

  private drawCharts(): void {
    this._plots.forEach(p => p.destroy());
    this._plots = [];
    this._charts.textContent = '';
    const keys = [...new Set(this.series.flatMap(s => Object.keys(s)))].sort((a, b) => a.localeCompare(b));
    const charted = keys.filter(key => this.series.some(s => (s[key]?.value.length ?? 0) > 1));
    if (!charted.length) {
      this._charts.appendChild(
        el('p', 'nbtrack-none', 'No metric was logged more than once: the table above has every value.')
      );
      return;
    }
    const axis = cssVar('--jp-ui-font-color2', '#888');
    const grid = cssVar('--jp-border-color2', '#ccc');
    const font = `11px ${cssVar('--jp-ui-font-family', 'sans-serif')}`;
    for (const key of charted) {
      const card = el('div', 'nbtrack-chart');
      card.dataset.metric = key;
      card.appendChild(el('div', 'nbtrack-chart-title', key));
      this._charts.appendChild(card);
      const data = alignSeries(this.series.map(s => s[key]));
      const opts: uPlot.Options = {
        width: Math.max(card.clientWidth - 16, 280),
        height: 220,
        scales: { x: { time: false } },
        legend: { live: true },
        axes: [
          // steps are whole numbers: no tick at 0.2
          { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, font, label: 'step', labelFont: font, incrs: STEP_INCREMENTS },
          { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, font, size: 56 }
        ],
        series: [
          { label: 'step' },
          ...this.runs.map((run, i) => ({
            label: `${runLabel(run)} (${shortId(run.id)})`,
            stroke: PALETTE[i % PALETTE.length],
            width: 2,
            spanGaps: true,
            points: { show: false }
          }))
        ]
      };
      this._plots.push(new uPlot(opts, data, card));
    }
  }

  private fitCharts(): void {
    for (const plot of this._plots) {
      const card = plot.root.parentElement;
      if (card && card.clientWidth > 0) {
        plot.setSize({ width: Math.max(card.clientWidth - 16, 280), height: 220 });
      }
    }
  }

  private _charts = el('div');
  private _plots: uPlot[] = [];
  private _themeWatch: MutationObserver;
  private _resize: ResizeObserver;
}

export function compareWidget(runs: IRunDetail[], series: MetricSeries[]): MainAreaWidget<CompareView> {
  const content = new CompareView(runs, series);
  const widget = new MainAreaWidget({ content });
  widget.addClass('nbtrack-compare-view');
  widget.title.label = `Compare ${runs.length} runs`;
  widget.title.caption = runs.map(r => `${runLabel(r)} (${r.id})`).join('\n');
  widget.title.closable = true;
  const toggle = new ToolbarButton({
    label: 'Only differences',
    tooltip: 'Show only the rows where the runs differ',
    onClick: () => (content.onlyDifferences = toggle.pressed)
  });
  toggle.addClass('nbtrack-only-differences-toggle');
  widget.toolbar.addItem('only-differences', toggle);
  return widget;
}
