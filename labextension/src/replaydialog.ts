/**
 * The replay dialog: whose code runs (owner, host, date, run id; an explicit confirmation for
 * someone else's run), parameter overrides, cell order and the folder for the executed notebook.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { el, formatDate, runLabel, shortId } from './dom';
import { IReplayPlan, IReplayRequest } from './request';

/** Parse `name = value` lines; values are JSON or Python literals, else plain strings. */
export function parseParameters(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) {
      return;
    }
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new Error(`Line ${i + 1}: expected "name = value", got "${line}"`);
    }
    out[name] = parseValue(line.slice(eq + 1).trim());
  });
  return out;
}

function parseValue(raw: string): unknown {
  const python: Record<string, unknown> = { True: true, False: false, None: null };
  if (raw in python) {
    return python[raw];
  }
  if (/^'.*'$/.test(raw)) {
    return raw.slice(1, -1);
  }
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

interface IFormValue {
  parameters: string;
  order: 'notebook' | 'executed';
  folder: string;
  confirmed: boolean;
}

class ReplayBody extends Widget implements Dialog.IBodyWidget<IFormValue> {
  constructor(
    private readonly plan: IReplayPlan,
    initial: IFormValue,
    error?: string
  ) {
    super();
    this.addClass('nbtrack-replay-form');
    const who = el('div', 'nbtrack-replay-owner');
    who.append(
      el('div', 'nbtrack-replay-owner-line', `Runs the code of run ${shortId(plan.run)} (${plan.run})`),
      el('div', 'nbtrack-replay-owner-line', `Recorded by ${plan.owner || 'an unknown user'}${plan.host ? ` on ${plan.host}` : ''}, ${formatDate(plan.start)}`)
    );
    this.node.appendChild(who);
    if (plan.warning) {
      const warn = el('div', 'nbtrack-warning nbtrack-replay-warning');
      const said = plan.warning.charAt(0).toUpperCase() + plan.warning.slice(1);
      warn.append(
        el('strong', undefined, `This is not your run: you are ${plan.you}. `),
        el('span', undefined, `${said}, with your permissions. Open its snapshot to read the code first.`)
      );
      const label = el('label', 'nbtrack-check nbtrack-confirm');
      this._confirm.type = 'checkbox';
      this._confirm.className = 'nbtrack-confirm-box';
      this._confirm.checked = initial.confirmed;
      this._confirm.addEventListener('change', () => this.syncAccept());
      label.append(this._confirm, document.createTextNode(` I trust this code: run ${plan.owner || 'this user'}’s notebook`));
      warn.appendChild(label);
      this.node.appendChild(warn);
    }
    if (error) {
      this.node.appendChild(el('div', 'nbtrack-error nbtrack-form-error', error));
    }
    this.node.appendChild(el('label', 'nbtrack-form-label', 'Parameter overrides, one “name = value” per line'));
    this._params.className = 'nbtrack-params jp-mod-styled';
    this._params.rows = Math.min(Math.max(Object.keys(plan.params ?? {}).length, 3), 8);
    this._params.spellcheck = false;
    this._params.value = initial.parameters;
    this.node.appendChild(this._params);
    this.node.appendChild(el('label', 'nbtrack-form-label', 'Run the cells in'));
    this._order.className = 'nbtrack-order jp-mod-styled';
    for (const [value, label] of [
      ['notebook', 'notebook order (top to bottom)'],
      ['executed', 'the order they were executed in']
    ]) {
      const option = el('option', undefined, label);
      option.value = value;
      this._order.appendChild(option);
    }
    this._order.value = initial.order;
    this.node.appendChild(this._order);
    this.node.appendChild(el('label', 'nbtrack-form-label', 'Save the executed notebook in the folder'));
    this._folder.className = 'nbtrack-folder jp-mod-styled';
    this._folder.value = initial.folder;
    this._folder.spellcheck = false;
    this.node.appendChild(this._folder);
    this.node.appendChild(
      el('div', 'nbtrack-hint', 'Relative to the Jupyter root, created if missing; the replay is also tracked as a new run.')
    );
  }

  getValue(): IFormValue {
    return {
      parameters: this._params.value,
      order: this._order.value === 'executed' ? 'executed' : 'notebook',
      folder: this._folder.value.trim(),
      confirmed: this._confirm.checked
    };
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    this.syncAccept();
  }

  /** Someone else's run: the Replay button works only once the box is ticked. */
  private syncAccept(): void {
    const accept = this.node.closest('.jp-Dialog-content')?.querySelector<HTMLButtonElement>('.jp-mod-accept');
    if (accept && this.plan.warning) {
      accept.disabled = !this._confirm.checked;
      accept.title = this._confirm.checked ? '' : 'Tick “I trust this code” to replay someone else’s run';
    }
  }

  private _params = el('textarea');
  private _order = el('select');
  private _folder = el('input');
  private _confirm = el('input');
}

/** Ask how to replay the run; null when cancelled. Re-asks on bad input. */
export async function askReplay(plan: IReplayPlan): Promise<IReplayRequest | null> {
  let value: IFormValue = {
    parameters: Object.entries(plan.params ?? {})
      .map(([k, v]) => `${k} = ${JSON.stringify(v)}`)
      .join('\n'),
    order: 'notebook',
    folder: plan.folder,
    confirmed: false
  };
  let error: string | undefined;
  for (;;) {
    const result = await showDialog({
      title: `Replay “${runLabel({ id: plan.run, name: plan.name })}”`,
      body: new ReplayBody(plan, value, error),
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Replay' })]
    });
    if (!result.button.accept || result.value === null) {
      return null;
    }
    value = result.value;
    try {
      if (plan.warning && !value.confirmed) {
        throw new Error('Tick “I trust this code” to replay someone else’s run.');
      }
      if (!value.folder) {
        throw new Error('Give a folder for the executed notebook.');
      }
      return {
        run: plan.run,
        parameters: parseParameters(value.parameters),
        order: value.order,
        folder: value.folder,
        confirm: value.confirmed
      };
    } catch (e) {
      error = (e as Error).message;
    }
  }
}
