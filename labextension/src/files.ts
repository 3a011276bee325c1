/**
 * A snapshot as a file: saved as a new notebook next to the current one (through the contents
 * API, never over an existing file), or downloaded.
 */
import { PathExt } from '@jupyterlab/coreutils';
import { Contents } from '@jupyterlab/services';

import { INotebookJSON } from './request';
import { shortId } from './dom';

/** `name-abcdefgh.ipynb`: the run's name (or its notebook's) made safe for a file name. */
export function snapshotFileName(run: { id: string; name?: string | null; notebook?: string | null }): string {
  const stem =
    (run.name || PathExt.basename(run.notebook ?? '', '.ipynb') || 'run')
      .replace(/[^\w.-]+/g, '-')
      .replace(/^[-.]+|-+$/g, '')
      .slice(0, 60) || 'run';
  return `${stem}-${shortId(run.id)}.ipynb`;
}

/** Save the snapshot as a new notebook in `folder` ('' = the root); returns its path. */
export async function saveAsNotebook(
  contents: Contents.IManager,
  folder: string,
  fileName: string,
  nb: INotebookJSON
): Promise<string> {
  const stem = fileName.replace(/\.ipynb$/, '');
  const listing = await contents.get(folder, { content: true, type: 'directory' });
  const taken = new Set((listing.content as Contents.IModel[]).map(item => item.name));
  for (let n = 1; n < 1000; n++) {
    const name = n === 1 ? fileName : `${stem}-${n}.ipynb`;
    if (!taken.has(name)) {
      const path = PathExt.join(folder, name);
      await contents.save(path, { type: 'notebook', format: 'json', content: nb });
      return path;
    }
  }
  throw new Error(`no free file name for ${fileName} in ${folder || 'the root folder'}`);
}

/** Let the browser download the snapshot as a .ipynb file. */
export function downloadNotebook(fileName: string, nb: INotebookJSON): void {
  downloadFile(fileName, new Blob([JSON.stringify(nb, null, 1)], { type: 'application/x-ipynb+json' }));
}

/** `nbtrack-report-<first id>[-and-N-more].html`: the name an exported report is saved under. */
export function reportFileName(ids: string[]): string {
  const first = ids[0].replace(/[^\w-]+/g, '').slice(0, 16) || 'runs';
  return `nbtrack-report-${first}${ids.length > 1 ? `-and-${ids.length - 1}-more` : ''}.html`;
}

/** Let the browser download `blob` as a file named `fileName`. */
export function downloadFile(fileName: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
