/**
 * The DOM and formatting helpers every view uses. User text goes in through textContent only.
 */

/** Create an element with optional class and text (set as text, never parsed). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** A short, human form of any JSON value. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) {
    return '—';
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  }
  if (typeof value === 'string') {
    return value;
  }
  if (Array.isArray(value) && value.every(v => typeof v === 'string')) {
    return value.join(', ');
  }
  return JSON.stringify(value);
}

/** The first 10 characters of a run id (its creation time to the millisecond): what tells
 * runs apart in titles and lists, and a prefix the CLI and API accept. */
export function shortId(id: string): string {
  return id.slice(0, 10);
}

/** `folder/train.ipynb` -> `train.ipynb`. */
export function baseName(path: string | null | undefined): string {
  if (!path) {
    return '';
  }
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1];
}

/** What a person calls a run: its name, else its short id and its notebook's name. */
export function runLabel(run: { id: string; name?: string | null; notebook?: string | null }): string {
  if (run.name) {
    return run.name;
  }
  const notebook = baseName(run.notebook).replace(/\.ipynb$/, '');
  return notebook ? `${shortId(run.id)} · ${notebook}` : shortId(run.id);
}

/** A date as the user's locale writes it (the ISO text when it is not a date). */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) {
    return '—';
  }
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** "just now", "5 min ago", "3 h ago", "2 d ago", else the date. */
export function timeAgo(iso: string | null | undefined, now: number = Date.now()): string {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) {
    return iso ?? '';
  }
  const seconds = Math.max(0, (now - date.getTime()) / 1000);
  if (seconds < 45) {
    return 'just now';
  }
  if (seconds < 3600) {
    return `${Math.round(seconds / 60)} min ago`;
  }
  if (seconds < 86400) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  if (seconds < 7 * 86400) {
    return `${Math.round(seconds / 86400)} d ago`;
  }
  return date.toLocaleDateString();
}

/** 4.2 s, 3 min 20 s, 2 h 5 min. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) {
    return '—';
  }
  if (seconds < 60) {
    return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return `${minutes} min ${Math.round(seconds % 60)} s`;
  }
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "1 cell" / "3 cells". */
export function plural(count: number, word: string, many = `${word}s`): string {
  return `${count} ${count === 1 ? word : many}`;
}

/** A small "key value" chip, both parts as text. */
export function chip(key: string, value?: string, className = 'nbtrack-chip'): HTMLElement {
  const node = el('span', className);
  node.appendChild(el('span', 'nbtrack-chip-key', key));
  if (value !== undefined) {
    node.appendChild(el('span', 'nbtrack-chip-value', value));
  }
  return node;
}
