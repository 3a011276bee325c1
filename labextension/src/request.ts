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
  notes: string[];
}

export interface IRunsPage {
  total: number;
  offset: number;
  runs: IRunSummary[];
}

/** `GET runs/ID`: the summary plus what was recorded with it. */
export interface IRunDetail extends Omit<IRunSummary, 'notes'> {
  notes: Array<{ time: string | null; text: string }>;
  snapshots: Array<{ index: number; time: string | null; reason: string }>;
  artifacts: Array<{ name: string; size: number; sha256: string; kind: string }>;
  error: string | null;
  cell_count: number;
}

export interface IActiveRun {
  run: IRunSummary | null;
  latest: Record<string, number | null>;
}

/** One side of a diff: a run's snapshot (null: the notebook open now). */
export interface IDiffSide {
  run: string;
  name: string;
  snapshot: number;
  time: string | null;
}

export interface IDiffSummary {
  changed: number;
  added: number;
  removed: number;
  outputs_changed: number;
  unchanged: number;
  metadata_changed: number;
}

/** `GET runs/ID/diff`: nbdime's diff of two notebooks (base + diff entries). */
export interface IDiffPayload {
  a: IDiffSide;
  b: IDiffSide | null;
  base: INotebookJSON;
  diff: unknown[];
  summary: IDiffSummary;
}

/** `GET runs/ID/replay`: what a replay would run, whose code it is, where it writes. */
export interface IReplayPlan {
  run: string;
  name: string;
  owner: string;
  host: string;
  start: string | null;
  notebook: string | null;
  params: Record<string, unknown>;
  snapshots: number;
  you: string;
  warning: string | null;
  folder: string;
}

export interface IReplayRequest {
  run: string;
  parameters: Record<string, unknown>;
  order: 'notebook' | 'executed';
  folder: string;
  confirm: boolean;
}

export interface ICellComparison {
  index: number;
  cell_id: string | null;
  execution_count: number | null;
  source: string;
  status: string;
  differences: string[];
  cause?: string | null;
  cause_detail?: string | null;
  nondeterministic?: boolean | null;
  secrets?: Array<string | null>;
}

export interface IReport {
  verdict: string;
  original: string;
  replay: string | null;
  cells: ICellComparison[];
  metrics: Array<{
    key: string;
    original: number | null;
    replay: number | null;
    status: string;
    cause?: string | null;
    cause_detail?: string | null;
  }>;
  environment: Array<Record<string, unknown>>;
  data: Array<Record<string, unknown>>;
  order?: string;
  tolerance?: number;
  parameters?: Record<string, unknown>;
  error?: string | null;
  rng?: string;
  hash_seed?: string | null;
  determinism_checked?: boolean;
  causes?: Record<string, number>;
}

export interface IReplayJob {
  state: 'running' | 'done' | 'failed';
  progress: { done: number; total: number } | null;
  replay_run: string | null;
  report: IReport | null;
  error: string | null;
  run: string;
  notes?: string[];
  output?: string | null;
}

/** A minimal nbformat v4 notebook, as far as the views read it. */
export interface INotebookJSON {
  nbformat?: number;
  nbformat_minor?: number;
  cells: INotebookCell[];
  metadata?: Record<string, any>;
}

export interface INotebookCell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: Array<Record<string, any>>;
  metadata?: Record<string, any>;
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
