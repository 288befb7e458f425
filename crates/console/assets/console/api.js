// The AWS Step Functions API (AWS JSON 1.0) as the console calls it, plus
// the console's own layout endpoint. Every request goes to this origin.

export class ApiError extends Error {
  constructor(type, message, status) {
    super(message || type);
    this.type = type;
    this.status = status;
  }
}

async function parseBody(res) {
  const text = await res.text();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    return { message: text };
  }
}

/**
 * The CSRF token of the signed-in session (a readable cookie; the session
 * cookie itself is HttpOnly), sent on every state-changing call.
 */
export function csrfHeaders() {
  const m = document.cookie.match(/(?:^|;\s*)statecraft_csrf=([^;]+)/);
  return m ? { 'X-Csrf-Token': m[1] } : {};
}

/** Without a session (when the server has credentials), to the sign-in page. */
function signInAgain(res, data) {
  if (res.status === 401 || data.__type === 'MissingAuthenticationTokenException') {
    window.location.assign('/console/signin');
    return true;
  }
  return false;
}

/** Who is signed in: { auth, name, role } (role admin when the server checks nothing). */
export async function session() {
  const res = await fetch('/console/api/session', { headers: { Accept: 'application/json' } });
  const data = await parseBody(res);
  if (!res.ok) {
    signInAgain(res, data);
    throw new ApiError(data.__type || `HTTP ${res.status}`, data.message, res.status);
  }
  return data;
}

/** Signs out and goes to the sign-in page. */
export async function signOut() {
  await fetch('/console/api/session', { method: 'DELETE', headers: csrfHeaders() });
  window.location.assign('/console/signin');
}

/** Calls one API operation, e.g. call('DescribeExecution', {executionArn}). */
export async function call(operation, body = {}) {
  return send(`AWSStepFunctions.${operation}`, body);
}

/**
 * Calls one of Statecraft's own operations (PauseExecution,
 * ResumeExecution, RestartExecution, FailExecution): the same endpoint and
 * protocol under the `Statecraft.` target prefix.
 */
export async function operate(operation, body = {}) {
  return send(`Statecraft.${operation}`, body);
}

async function send(target, body) {
  let res;
  try {
    res = await fetch('/', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': target,
        ...csrfHeaders(),
      },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError('NetworkError', `The server cannot be reached (${e.message}).`, 0);
  }
  const data = await parseBody(res);
  if (!res.ok) {
    signInAgain(res, data);
    // AWS puts the error name in __type, sometimes prefixed by a namespace.
    const type = String(data.__type || `HTTP ${res.status}`).split('#').pop();
    throw new ApiError(type, data.message || data.Message || res.statusText, res.status);
  }
  return data;
}

/**
 * Follows nextToken until `max` items of `key` are collected (lists page
 * through the store; never ask for everything).
 */
export async function collect(operation, body, key, max = 1000) {
  const items = [];
  let nextToken;
  do {
    const page = await call(operation, { ...body, maxResults: Math.min(1000, max - items.length), nextToken });
    items.push(...(page[key] || []));
    nextToken = page.nextToken;
  } while (nextToken && items.length < max);
  return { items, more: Boolean(nextToken) };
}

/** The graph of a definition: format 'svg' (text) or 'json' (a Layout). */
export async function graph(definition, format = 'svg') {
  const res = await fetch(`/console/api/layout?format=${format}`, {
    method: 'POST',
    headers: { 'Content-Type': 'text/plain; charset=utf-8', ...csrfHeaders() },
    body: definition,
  });
  if (!res.ok) {
    const data = await parseBody(res);
    const err = new ApiError(data.__type || `HTTP ${res.status}`, data.message, res.status);
    err.diagnostics = data.diagnostics || [];
    throw err;
  }
  return format === 'svg' ? res.text() : res.json();
}

/**
 * The JSON form of a definition written in JSON or YAML (the API takes JSON
 * only), read by the server with the language crate's parser, and the line
 * in `definition` of each of `pointers`: { definition, format, lines }.
 */
export async function toJson(definition, pointers = []) {
  const res = await fetch('/console/api/definition/json', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...csrfHeaders() },
    body: JSON.stringify({ definition, pointers }),
  });
  const data = await parseBody(res);
  if (!res.ok) {
    const err = new ApiError(data.__type || `HTTP ${res.status}`, data.message, res.status);
    err.diagnostics = data.diagnostics || [];
    throw err;
  }
  return data;
}

/** Whether `text` is JSON (then it goes to the API as written). */
export function isJson(text) {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
export async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        out[i] = e;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Follows a server-sent event stream of the console's data endpoints.
 * `handlers` maps event names to functions of the parsed data; `onFail` is
 * called once if the stream cannot be opened or breaks for good (the
 * caller then falls back to polling). Returns a function that closes it.
 */
export function follow(url, handlers, onFail) {
  if (typeof EventSource === 'undefined') {
    onFail?.();
    return () => {};
  }
  const source = new EventSource(url);
  let closed = false;
  const close = () => {
    closed = true;
    source.close();
  };
  for (const [name, fn] of Object.entries(handlers)) {
    source.addEventListener(name, (ev) => {
      let data = ev.data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        // Plain-text data (the `end` event's last id) is passed as is.
      }
      fn(data, ev);
    });
  }
  source.onerror = () => {
    // EventSource reconnects by itself (resuming with Last-Event-ID) while
    // its readyState is CONNECTING; CLOSED means it gave up (an HTTP error).
    if (!closed && source.readyState === EventSource.CLOSED) {
      closed = true;
      onFail?.();
    }
  };
  return close;
}

/** The URL of an execution's live history stream, after event `after`. */
export function historyStreamUrl(arn, after) {
  return `/console/api/executions/${encodeURIComponent(arn)}/events?after=${after}`;
}

/** The server's overview numbers (see crates/console/src/live.rs). */
export async function overview(params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null));
  const res = await fetch(`/console/api/overview?${q}`);
  const data = await parseBody(res);
  if (!res.ok) throw new ApiError(data.__type || `HTTP ${res.status}`, data.message, res.status);
  return data;
}

/** The URL of the overview's live stream. */
export function overviewStreamUrl(params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null));
  return `/console/api/overview/stream?${q}`;
}
