/**
 * The one door to the nbtrack server extension, plus the types of its REST contract
 * (docs/rest-api.md). Nothing else in the extension talks to the server.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

export type RunStatus = 'running' | 'finished' | 'failed' | 'crashed' | 'killed';

export interface IMetricSummary {
  last: number | null;
  min?: number | null;
  max?: number | null;
  step?: number | null;
}

export interface IRunSummary {
  id: string;
  name: string;
  status: RunStatus | string;
  user: string;
  host: string;
  start: string;
  duration: number | null;
  tags: string[];
  params: Record<string, unknown>;
  metrics: Record<string, IMetricSummary>;
  notebook: string | null;
  replay_of: string | null;
}

export interface IRunsPage {
  total: number;
  offset: number;
  runs: IRunSummary[];
}

export interface IActiveRun {
  run: IRunSummary | null;
  latest: Record<string, number | null>;
}

export interface ICellDiff {
  status: 'same' | 'changed' | 'added' | 'removed';
  index_a: number | null;
  index_b: number | null;
  source_a: string | null;
  source_b: string | null;
  outputs_changed: boolean;
}

export interface IDiffResult {
  cells: ICellDiff[];
  summary: Record<string, unknown>;
}

export interface IReplayRequest {
  run: string;
  parameters: Record<string, unknown>;
  order: 'notebook' | 'executed';
}

export interface IReport {
  verdict: string;
  cells: unknown[];
  metrics: unknown[];
  environment: unknown[];
  data: unknown[];
  order?: string;
  tolerance?: number;
  parameters?: Record<string, unknown>;
  error?: string | null;
}

export interface IReplayJob {
  state: 'running' | 'done' | 'failed';
  progress: { done: number; total: number } | null;
  replay_run: string | null;
  report: IReport | null;
  error: string | null;
  notes?: string[];
}

/** A minimal nbformat v4 notebook, as far as the snapshot view reads it. */
export interface INotebookJSON {
  cells: INotebookCell[];
  metadata?: Record<string, unknown>;
}

export interface INotebookCell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: Array<Record<string, unknown>>;
}

/** Error raised for a non-2xx answer, carrying the server's `message`. */
export class APIError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
    this.name = 'APIError';
  }
}

/** Build a query string from defined values, encoding every part. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Encode one path segment (a run or job id). */
export function seg(value: string): string {
  return encodeURIComponent(value);
}

/**
 * Call `<base_url>nbtrack/api/<path>` and return its JSON answer.
 *
 * `path` may carry a query string (build it with `query()`); it is kept out of
 * URL path normalisation.
 */
export async function requestAPI<T>(path: string, init: RequestInit = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const cut = path.indexOf('?');
  const route = cut < 0 ? path : path.slice(0, cut);
  const search = cut < 0 ? '' : path.slice(cut);
  const url = URLExt.join(settings.baseUrl, 'nbtrack/api', route) + search;

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!response.ok) {
    const message =
      data !== null && typeof data === 'object' && 'message' in data
        ? String((data as { message: unknown }).message)
        : `${response.status} ${response.statusText}`;
    throw new APIError(response.status, message);
  }
  return data as T;
}
