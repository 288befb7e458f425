// The console's entry point: a hash router (#/machines, #/execution/<arn>…)
// that renders one page at a time into <main>. Each page gets a context
// whose timers and listeners are torn down when the user navigates away, so
// live pages never keep polling in the background.

import { h, clear, errorBox, closeDialogs } from './ui.js';
import { overviewPage } from './overview.js';
import { machinesPage, machinePage } from './machines.js';
import { executionPage } from './execution.js';
import { mapRunPage } from './maprun.js';
import { activitiesPage } from './activities.js';
import { schedulesPage } from './schedules.js';
import { editorPage } from './editor.js';
import { session, signOut } from './api.js';

const ROUTES = [
  [/^\/?$/, 'overview', overviewPage],
  [/^\/machines$/, 'machines', machinesPage],
  [/^\/machine\/(.+)$/, 'machines', machinePage],
  [/^\/execution\/(.+)$/, 'machines', executionPage],
  [/^\/maprun\/(.+)$/, 'machines', mapRunPage],
  [/^\/activities$/, 'activities', activitiesPage],
  [/^\/schedules$/, 'schedules', schedulesPage],
  [/^\/create$/, 'machines', editorPage],
  [/^\/edit\/(.+)$/, 'machines', editorPage],
];

let current = null;

function live(on) {
  const dot = document.getElementById('live');
  if (!dot) return;
  dot.classList.toggle('on', on);
  dot.title = on ? 'Live: this page updates by itself' : 'Not live';
}

class Context {
  constructor(main) {
    this.main = main;
    this.cleanups = [];
    this.alive = true;
  }

  /**
   * Calls `fn` every `ms` while the page is shown (not overlapping runs).
   * `live: false` leaves the live indicator to the page (see setLive).
   */
  every(ms, fn, { live: showLive = true } = {}) {
    let busy = false;
    const id = setInterval(async () => {
      if (busy || document.hidden) return;
      busy = true;
      try {
        await fn();
      } finally {
        busy = false;
      }
    }, ms);
    if (showLive) live(true);
    this.cleanups.push(() => clearInterval(id));
    return () => clearInterval(id);
  }

  /** Whether the page shows something that is still changing. */
  setLive(on) {
    if (this.alive) live(on);
  }

  onLeave(fn) {
    this.cleanups.push(fn);
  }

  leave() {
    this.alive = false;
    for (const fn of this.cleanups.splice(0)) fn();
    live(false);
  }
}

async function render() {
  let path;
  try {
    path = decodeURIComponent(location.hash.replace(/^#/, '')).split('?')[0] || '/';
  } catch {
    path = '/not-found';
  }
  current?.leave();
  // A dialog of the page we leave (Start execution…) must not stay over the next.
  closeDialogs();
  const main = document.getElementById('main');
  const ctx = new Context(main);
  current = ctx;
  const route = ROUTES.find(([re]) => re.test(path));
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.nav === route?.[1]);
  if (!route) {
    clear(main, h('div', { class: 'pad' }, h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the overview'))));
    return;
  }
  const [re, , page] = route;
  const params = path.match(re).slice(1);
  clear(main, h('p', { class: 'muted pad' }, 'Loading…'));
  try {
    await page(ctx, ...params);
  } catch (e) {
    if (ctx.alive) clear(main, h('div', { class: 'pad' }, errorBox(e, render)));
    console.error(e);
  }
}

/**
 * What the signed-in role may do, as body classes: buttons marked
 * data-needs="edit|operate|answer" show only when the role allows it
 * (style.css). The server refuses the calls anyway; this only keeps the
 * console from offering them.
 */
const ABILITIES = {
  admin: ['edit', 'operate', 'answer'],
  operator: ['operate', 'answer'],
  reader: [],
  worker: ['answer'],
};

async function applySession() {
  try {
    const who = await session();
    for (const a of ABILITIES[who.role] || []) document.body.classList.add(`can-${a}`);
    if (who.auth) {
      const name = document.getElementById('who');
      if (name) {
        name.textContent = `${who.name} (${who.role})`;
        name.hidden = false;
      }
      const out = document.getElementById('signout');
      if (out) {
        out.hidden = false;
        out.addEventListener('click', () => signOut());
      }
    }
  } catch (e) {
    console.error(e);
  }
}

window.addEventListener('hashchange', render);
applySession();
render();
