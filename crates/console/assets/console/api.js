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

/** Calls one API operation, e.g. call('DescribeExecution', {executionArn}). */
export async function call(operation, body = {}) {
  let res;
  try {
    res = await fetch('/', {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.0',
        'X-Amz-Target': `AWSStepFunctions.${operation}`,
      },
      body: JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError('NetworkError', `The server cannot be reached (${e.message}).`, 0);
  }
  const data = await parseBody(res);
  if (!res.ok) {
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
    headers: { 'Content-Type': 'text/plain; charset=utf-8' },
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
