/**
 * nbtrack's icons, drawn like JupyterLab's own (`jp-icon3` paths follow the theme).
 */
import { LabIcon } from '@jupyterlab/ui-components';

const svg = (body: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">${body}</svg>`;

/** A chart line: the runs sidebar tab. */
export const runsIcon = new LabIcon({
  name: 'nbtrack:runs',
  svgstr: svg(
    '<path class="jp-icon3" fill="#616161" d="M3 3h2v16h16v2H3zm4 12 4-5 3 3 5-7 1.6 1.2-6.4 9-3-3-2.6 3.3z"/>'
  )
});

/** A record dot: start a tracked run. */
export const recordIcon = new LabIcon({
  name: 'nbtrack:record',
  svgstr: svg(
    '<circle class="jp-icon-warn0" fill="#d32f2f" cx="12" cy="12" r="6"/>' +
      '<circle class="jp-icon3" fill="none" stroke="#616161" stroke-width="2" cx="12" cy="12" r="9"/>'
  )
});

/** Two sheets with plus and minus: a notebook diff. */
export const diffIcon = new LabIcon({
  name: 'nbtrack:diff',
  svgstr: svg(
    '<path class="jp-icon3" fill="#616161" d="M5 3h9l5 5v13H5zm2 2v14h10V9h-4V5zm4 3h2v2h2v2h-2v2h-2v-2H9v-2h2zm-2 8h6v2H9z"/>'
  )
});

/** Columns side by side: compare runs. */
export const compareIcon = new LabIcon({
  name: 'nbtrack:compare',
  svgstr: svg(
    '<path class="jp-icon3" fill="#616161" d="M3 4h8v16H3zm2 2v12h4V6zm8-2h8v16h-8zm2 2v12h4V6z"/>'
  )
});

/** A circular arrow around a play mark: replay a run. */
export const replayIcon = new LabIcon({
  name: 'nbtrack:replay',
  svgstr: svg(
    '<path class="jp-icon3" fill="#616161" d="M12 4a8 8 0 1 1-7.4 5H7a6 6 0 1 0 5-3v3L7.5 5 12 1z"/>' +
      '<path class="jp-icon3" fill="#616161" d="M10 9.5v5l4.5-2.5z"/>'
  )
});

/** A page with an eye: view a run's notebook snapshot. */
export const snapshotIcon = new LabIcon({
  name: 'nbtrack:snapshot',
  svgstr: svg(
    '<path class="jp-icon3" fill="#616161" d="M6 2h8l5 5v6h-2V8h-4V4H6v16h5v2H4V2zm11 13c2.8 0 5 2.5 5 3s-2.2 3-5 3-5-2.5-5-3 2.2-3 5-3zm0 1.5a1.5 1.5 0 1 0 0 3 1.5 1.5 0 0 0 0-3z"/>'
  )
});

/** A page with an arrow out of it: export runs as an HTML report. */
export const reportIcon = new LabIcon({
  name: 'nbtrack:report',
  svgstr: svg(
    '<path class="jp-icon3" fill="#616161" d="M6 2h8l5 5v15H6zm2 2v16h9V8h-4V4zm3.5 5 3.5 3.5-1.4 1.4-1.1-1.1V17h-2v-4.2l-1.1 1.1-1.4-1.4z"/>'
  )
});
