// Draws a definition as a graph: the server lays it out and renders SVG
// (the same renderer as `statecraft graph`), the page adds status colours,
// selection and zoom on top through the SVG's data-state attributes.

import { graph as fetchGraph } from './api.js';
import { h, clear } from './ui.js';

const STATUSES = ['succeeded', 'failed', 'caught', 'running', 'paused', 'aborted', 'none'];

export function legend() {
  const labels = { succeeded: 'Succeeded', failed: 'Failed', caught: 'Caught', running: 'In progress', paused: 'Paused', aborted: 'Aborted', none: 'Not reached' };
  return h('div', { class: 'legend' }, STATUSES.map((s) => h('span', { class: `legend-item status-${s}` }, h('i'), labels[s])));
}

/**
 * Renders into `container`. Returns a handle with setStatuses(Map name ->
 * status), select(name) and the list of state names; `onSelect(name)` is
 * called when a state is clicked.
 */
export async function drawGraph(container, definition, { onSelect } = {}) {
  const frame = h('div', { class: 'graph-frame' }, h('p', { class: 'muted pad' }, 'Drawing…'));
  let scale = 1;
  const zoom = (f) => {
    scale = f === 0 ? 1 : Math.min(3, Math.max(0.25, scale * f));
    const svg = frame.querySelector('svg');
    if (!svg) return;
    if (f === 0) {
      svg.style.width = '';
      svg.classList.add('fit');
    } else {
      svg.classList.remove('fit');
      svg.style.width = `${Number(svg.getAttribute('width')) * scale}px`;
    }
  };
  const tools = h('div', { class: 'graph-tools' },
    h('button', { class: 'small ghost', title: 'Zoom in', onclick: () => zoom(1.25) }, '+'),
    h('button', { class: 'small ghost', title: 'Zoom out', onclick: () => zoom(0.8) }, '−'),
    h('button', { class: 'small ghost', title: 'Fit to width', onclick: () => zoom(0) }, 'Fit'));
  clear(container, h('div', { class: 'graph' }, tools, frame));

  let svgText;
  try {
    svgText = await fetchGraph(definition, 'svg');
  } catch (e) {
    clear(frame, h('p', { class: 'error-box' }, `The graph cannot be drawn: ${e.message}`));
    return { setStatuses() {}, select() {}, names: [] };
  }
  // The SVG comes from our own renderer, which escapes every name.
  frame.innerHTML = svgText;
  const svg = frame.querySelector('svg');
  svg?.classList.add('fit');
  const nodes = new Map();
  for (const g of frame.querySelectorAll('[data-state]')) {
    const name = g.getAttribute('data-state');
    nodes.set(name, g);
    g.setAttribute('tabindex', '0');
    g.setAttribute('role', 'button');
    const pick = (e) => {
      e.stopPropagation();
      onSelect?.(name);
    };
    g.addEventListener('click', pick);
    g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') pick(e); });
  }
  return {
    names: [...nodes.keys()],
    setStatuses(statuses) {
      for (const [name, g] of nodes) {
        for (const s of STATUSES) g.classList.remove(`status-${s}`);
        g.classList.add(`status-${statuses.get(name) || 'none'}`);
      }
    },
    select(name) {
      for (const [n, g] of nodes) g.classList.toggle('selected', n === name);
    },
  };
}
