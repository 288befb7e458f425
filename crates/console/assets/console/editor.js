// Creating or editing a state machine: a code editor with line numbers, the
// validator's diagnostics (ValidateStateMachineDefinition) marked at their
// line as you type, and a live drawing of the definition.

import { call, graph as fetchGraph, toJson, isJson } from './api.js';
import { h, clear, routes, toast, errorBox, debounce } from './ui.js';
import { drawGraph } from './graph.js';

const TEMPLATE = `{
  "Comment": "A new state machine",
  "StartAt": "Hello",
  "States": {
    "Hello": {
      "Type": "Pass",
      "Result": "Hello, world",
      "Next": "Done"
    },
    "Done": {
      "Type": "Succeed"
    }
  }
}
`;

/**
 * JSON Pointer -> 1-based line of every member key and array element of a
 * JSON text. Tolerant: stops quietly where the text stops being JSON, since
 * it runs while the user types.
 */
export function pointerLines(text) {
  const lines = new Map();
  let i = 0;
  let line = 1;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) {
      if (text[i] === '\n') line += 1;
      i += 1;
    }
  };
  const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
  const string = () => {
    let out = '';
    i += 1;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const n = text[i + 1];
        if (n === 'u') {
          out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
          continue;
        }
        out += { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' }[n] ?? n;
        i += 2;
        continue;
      }
      if (text[i] === '\n') throw new Error('newline in string');
      out += text[i];
      i += 1;
    }
    if (i >= text.length) throw new Error('unterminated string');
    i += 1;
    return out;
  };
  const value = (ptr, depth) => {
    if (depth > 200) throw new Error('too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i += 1;
      ws();
      if (text[i] === '}') { i += 1; return; }
      for (;;) {
        ws();
        if (text[i] !== '"') throw new Error('key expected');
        const keyLine = line;
        const key = string();
        const p = `${ptr}/${esc(key)}`;
        if (!lines.has(p)) lines.set(p, keyLine);
        ws();
        if (text[i] !== ':') throw new Error(': expected');
        i += 1;
        value(p, depth + 1);
        ws();
        if (text[i] === ',') { i += 1; continue; }
        if (text[i] === '}') { i += 1; return; }
        throw new Error(', or } expected');
      }
    } else if (c === '[') {
      i += 1;
      ws();
      if (text[i] === ']') { i += 1; return; }
      for (let k = 0; ; k += 1) {
        ws();
        lines.set(`${ptr}/${k}`, line);
        value(`${ptr}/${k}`, depth + 1);
        ws();
        if (text[i] === ',') { i += 1; continue; }
        if (text[i] === ']') { i += 1; return; }
        throw new Error(', or ] expected');
      }
    } else if (c === '"') {
      string();
    } else {
      const m = /^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 64));
      if (!m) throw new Error('value expected');
      i += m[0].length;
    }
  };
  lines.set('', 1);
  try {
    value('', 0);
  } catch { /* keep what was located before the error */ }
  return lines;
}

/** The line of `location` (a JSON Pointer), or of its nearest located parent. */
export function lineOf(lines, location) {
  if (location === undefined || location === null) return null;
  let p = String(location);
  if (p && !p.startsWith('/')) p = `/${p}`;
  for (;;) {
    if (lines.has(p)) return lines.get(p);
    if (p === '') return null;
    p = p.slice(0, Math.max(0, p.lastIndexOf('/')));
  }
}

export async function editorPage(ctx, arn) {
  const editing = Boolean(arn);
  const machine = editing ? await call('DescribeStateMachine', { stateMachineArn: arn }) : null;
  const initial = machine?.definition ?? TEMPLATE;

  const area = h('textarea', { class: 'code-input editor-area', spellcheck: 'false', wrap: 'off', value: initial, 'aria-label': 'Definition' });
  const gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' });
  const diagBox = h('div', { class: 'diagnostics' });
  const graphBox = h('div');
  const status = h('span', { class: 'muted' });
  let marks = new Map(); // line -> severity

  const renderGutter = () => {
    const n = area.value.split('\n').length;
    const out = [];
    for (let k = 1; k <= n; k += 1) {
      const sev = marks.get(k);
      out.push(h('div', { class: sev ? `ln ${sev.toLowerCase()}` : 'ln' }, String(k)));
    }
    clear(gutter, out);
    gutter.scrollTop = area.scrollTop;
  };
  area.addEventListener('scroll', () => { gutter.scrollTop = area.scrollTop; });
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Tab') {
      e.preventDefault();
      area.setRangeText('  ', area.selectionStart, area.selectionEnd, 'end');
      area.dispatchEvent(new Event('input'));
    }
  });

  const goTo = (lineNo) => {
    const lines = area.value.split('\n');
    const start = lines.slice(0, lineNo - 1).reduce((a, l) => a + l.length + 1, 0);
    area.focus();
    area.setSelectionRange(start, start + (lines[lineNo - 1]?.length || 0));
    const lh = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (lineNo - 4) * lh);
  };

  const showDiagnostics = (list, note) => {
    marks = new Map();
    for (const d of list) if (d.line && !marks.has(d.line)) marks.set(d.line, d.severity || 'ERROR');
    renderGutter();
    if (!list.length) {
      clear(diagBox, h('p', { class: 'ok' }, note || 'No problems found.'));
      return;
    }
    clear(diagBox, h('ul', { class: 'plain' }, list.map((d) => h('li', { class: `diag ${(d.severity || 'ERROR').toLowerCase()}` },
      d.line ? h('a', { href: '#', onclick: (e) => { e.preventDefault(); goTo(d.line); } }, `line ${d.line}`) : h('span', { class: 'muted' }, d.location || 'definition'),
      ' ', h('span', { class: 'code-name' }, d.code || ''), ' ', d.message))));
  };

  let generation = 0;
  const check = debounce(async () => {
    const gen = ++generation;
    const text = area.value;
    status.textContent = 'Checking…';
    // Syntax first: the layout endpoint reads JSON and YAML with positions.
    try {
      await fetchGraph(text, 'json');
    } catch (e) {
      if (gen !== generation) return;
      if (e.diagnostics?.length) {
        showDiagnostics(e.diagnostics.map((d) => ({ ...d, location: d.pointer })));
        status.textContent = 'Syntax error';
        return;
      }
    }
    try {
      // YAML is validated in its JSON form, and its diagnostics located in
      // the YAML by the server, which knows where each node was written.
      const yaml = !isJson(text);
      const definition = yaml ? (await toJson(text)).definition : text;
      convert.hidden = !yaml;
      const res = await call('ValidateStateMachineDefinition', { definition, type: type?.value || machine?.type || 'STANDARD' });
      if (gen !== generation) return;
      const diagnostics = res.diagnostics || [];
      let lineFor;
      if (yaml) {
        const located = (await toJson(text, diagnostics.map((d) => d.location).filter((l) => typeof l === 'string' && l.startsWith('/')))).lines;
        lineFor = (loc) => located[loc] ?? null;
      } else {
        const lines = pointerLines(text);
        lineFor = (loc) => lineOf(lines, loc);
      }
      if (gen !== generation) return;
      const list = diagnostics.map((d) => ({ ...d, line: lineFor(d.location) }));
      showDiagnostics(list, res.result === 'OK' ? 'The definition is valid.' : undefined);
      status.textContent = res.result === 'OK' ? 'Valid' : `${list.length} problem${list.length === 1 ? '' : 's'}${res.truncated ? '+' : ''}`;
    } catch (e) {
      if (gen !== generation) return;
      clear(diagBox, errorBox(e));
      status.textContent = '';
    }
    if (gen === generation) await drawGraph(graphBox, text);
  }, 450);
  area.addEventListener('input', () => {
    renderGutter();
    check();
  });

  const name = editing ? null : h('input', { type: 'text', required: true, placeholder: 'MyStateMachine', pattern: '[A-Za-z0-9_-]{1,80}' });
  const type = editing ? null : h('select', {}, h('option', { value: 'STANDARD' }, 'Standard'), h('option', { value: 'EXPRESS' }, 'Express'));
  const role = editing ? null : h('input', { type: 'text', value: 'arn:aws:iam::123456789012:role/statecraft' });
  const publish = h('input', { type: 'checkbox' });
  const versionDescription = h('input', { type: 'text', placeholder: 'Version description (optional)' });
  const error = h('div');
  // Shown while the text is YAML: replaces it with its JSON form.
  const convert = h('button', {
    class: 'small', type: 'button', hidden: true, title: 'Replace the YAML with the JSON the API receives',
    onclick: async () => {
      try {
        area.value = (await toJson(area.value)).definition;
        area.dispatchEvent(new Event('input'));
      } catch (e) {
        clear(error, errorBox(e));
      }
    },
  }, 'Convert to JSON');

  // The API takes JSON, as AWS's does: YAML is sent in its JSON form.
  const jsonText = async () => (isJson(area.value) ? area.value : (await toJson(area.value)).definition);

  const save = h('button', {
    class: 'primary',
    onclick: async () => {
      save.disabled = true;
      clear(error);
      try {
        let target = arn;
        if (editing) {
          const body = { stateMachineArn: arn, definition: await jsonText(), publish: publish.checked };
          if (publish.checked && versionDescription.value) body.versionDescription = versionDescription.value;
          await call('UpdateStateMachine', body);
          toast('State machine updated', 'ok');
        } else {
          const body = { name: name.value.trim(), definition: await jsonText(), roleArn: role.value.trim(), type: type.value, publish: publish.checked };
          if (publish.checked && versionDescription.value) body.versionDescription = versionDescription.value;
          target = (await call('CreateStateMachine', body)).stateMachineArn;
          toast('State machine created', 'ok');
        }
        location.hash = routes.machine(target);
      } catch (e) {
        clear(error, errorBox(e));
      } finally {
        save.disabled = false;
      }
    },
  }, editing ? 'Save' : 'Create');

  clear(ctx.main, h('div', { class: 'page' },
    h('div', { class: 'crumbs' }, h('a', { href: '#/machines' }, 'State machines'), ' / ',
      editing ? [h('a', { href: routes.machine(arn) }, machine.name), ' / Edit'] : 'New'),
    h('div', { class: 'page-head' }, h('h1', {}, editing ? `Edit ${machine.name}` : 'New state machine'), h('span', { class: 'spacer' }), status),
    h('div', { class: 'form-row' },
      editing ? null : [h('label', {}, 'Name', name), h('label', {}, 'Type', type), h('label', { class: 'grow' }, 'Role ARN', role)],
      h('label', { class: 'inline' }, publish, 'Publish a version'),
      h('label', { class: 'grow' }, versionDescription),
      convert,
      save),
    error,
    h('div', { class: 'split editor' },
      h('section', { class: 'card grow' },
        h('div', { class: 'code-editor' }, gutter, area),
        h('h2', {}, 'Diagnostics'), diagBox),
      h('section', { class: 'card grow' }, h('h2', {}, 'Graph'), graphBox))));
  type?.addEventListener('change', check);
  renderGutter();
  check();
}
