// Small DOM and formatting helpers shared by the pages.

/** Builds an element: h('a', {href, class: 'x', onclick}, 'text', child…). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** AWS timestamps arrive as epoch seconds (numbers) or ISO strings. */
export function toDate(ts) {
  if (ts === undefined || ts === null || ts === '') return null;
  const d = typeof ts === 'number' ? new Date(ts * 1000) : new Date(ts);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtDate(ts) {
  const d = toDate(ts);
  if (!d) return '—';
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min`;
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

export function ago(ts) {
  const d = toDate(ts);
  return d ? `${fmtDuration(Date.now() - d.getTime())} ago` : '—';
}

/** The last part of an ARN: the machine or execution name. */
export function arnName(arn) {
  if (!arn) return '';
  const parts = String(arn).split(':');
  return parts[parts.length - 1];
}

export const STATUS_CLASS = {
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  TIMED_OUT: 'failed',
  ABORTED: 'aborted',
  PENDING_REDRIVE: 'running',
};

export function badge(status) {
  return h('span', { class: `badge ${STATUS_CLASS[status] || status?.toLowerCase?.() || ''}` }, status || '—');
}

export function link(href, text, attrs = {}) {
  return h('a', { href, ...attrs }, text);
}

export const routes = {
  machine: (arn) => `#/machine/${encodeURIComponent(arn)}`,
  execution: (arn) => `#/execution/${encodeURIComponent(arn)}`,
  mapRun: (arn) => `#/maprun/${encodeURIComponent(arn)}`,
  edit: (arn) => `#/edit/${encodeURIComponent(arn)}`,
};

/** A payload (often a JSON string) as indented JSON when it parses. */
export function pretty(value) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

export function codeBlock(value, empty = '—') {
  const text = pretty(value);
  return h('pre', { class: 'code' }, text === '' ? empty : text);
}

export function toast(message, kind = 'info') {
  const root = document.getElementById('toasts');
  if (!root) return;
  const t = h('div', { class: `toast ${kind}` }, message);
  root.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

// The open dialogs' close functions: a navigation closes them all, since a
// modal dialog left open would make the next page inert.
const openDialogs = new Set();

/** Closes every open dialog (each resolves as cancelled). */
export function closeDialogs() {
  for (const close of [...openDialogs]) close();
}

/** A dialog; `build(close)` returns its body. Resolves when closed. */
export function modal(title, build) {
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'modal' });
    const close = (result) => {
      if (!openDialogs.delete(close)) return;
      dialog.close();
      dialog.remove();
      resolve(result);
    };
    openDialogs.add(close);
    dialog.append(
      h('header', {}, h('h2', {}, title), h('button', { class: 'ghost', 'aria-label': 'Close', onclick: () => close() }, '×')),
      build(close),
    );
    dialog.addEventListener('cancel', () => close());
    document.body.append(dialog);
    dialog.showModal();
  });
}

/**
 * A JSON text editor: a textarea that says where the JSON is broken as you
 * type. `editor.value()` is the parsed value, or throws.
 */
export function jsonEditor(initial = '{}', { rows = 12, onChange } = {}) {
  const area = h('textarea', { class: 'code-input', rows, spellcheck: 'false', value: initial });
  const status = h('div', { class: 'hint' });
  const check = () => {
    try {
      if (area.value.trim()) JSON.parse(area.value);
      status.textContent = 'Valid JSON';
      status.className = 'hint ok';
      area.classList.remove('invalid');
      return true;
    } catch (e) {
      status.textContent = e.message;
      status.className = 'hint bad';
      area.classList.add('invalid');
      return false;
    } finally {
      onChange?.(area.value);
    }
  };
  area.addEventListener('input', check);
  area.addEventListener('keydown', (e) => {
    if (e.key === 'Tab') {
      e.preventDefault();
      area.setRangeText('  ', area.selectionStart, area.selectionEnd, 'end');
      check();
    }
  });
  const format = h('button', {
    class: 'small', type: 'button',
    onclick: () => {
      try {
        area.value = JSON.stringify(JSON.parse(area.value || '{}'), null, 2);
        check();
      } catch { /* the status line already says why */ }
    },
  }, 'Format');
  check();
  return {
    el: h('div', { class: 'json-editor' }, area, h('div', { class: 'row' }, status, h('span', { class: 'spacer' }), format)),
    text: () => area.value,
    valid: check,
  };
}

/** Copies `text` to the clipboard; says so in a toast. */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    toast('Copied', 'ok');
  } catch {
    // No clipboard (an insecure origin): select the text for Ctrl+C instead.
    toast('Cannot reach the clipboard: select the text and copy it', 'error');
  }
}

/** A button that copies `text`. */
export function copyButton(text, label = 'Copy') {
  return h('button', { class: 'small', type: 'button', title: 'Copy to the clipboard', onclick: () => copyText(text) }, label);
}

export function errorBox(e, retry) {
  return h('div', { class: 'error-box' },
    h('strong', {}, e.type || 'Error'), ' ', e.message || String(e),
    retry ? h('div', {}, h('button', { class: 'small', onclick: retry }, 'Retry')) : null);
}

export function debounce(fn, ms) {
  let t;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), ms);
  };
}
