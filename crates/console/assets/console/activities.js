// Activities: every activity with its ARN and age. The Step Functions API
// has no call for pending tasks or polling workers; the columns say so
// until the server offers one.

import { collect } from './api.js';
import { h, clear, fmtDate, ago } from './ui.js';

export async function activitiesPage(ctx) {
  const load = async () => {
    const { items, more } = await collect('ListActivities', {}, 'activities', 1000);
    return h('table', { class: 'grid' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'ARN'), h('th', {}, 'Created'))),
      h('tbody', {}, items.length
        ? items.map((a) => h('tr', {},
          h('td', {}, a.name),
          h('td', { class: 'mono small' }, a.activityArn),
          h('td', { title: fmtDate(a.creationDate) }, ago(a.creationDate))))
        : h('tr', {}, h('td', { colspan: 3, class: 'muted' }, 'No activities.'))),
      more ? h('caption', {}, 'Showing the first 1000 activities.') : null);
  };
  const box = h('div', {}, await load());
  clear(ctx.main, h('div', { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Activities')),
    h('p', { class: 'muted' }, 'Workers poll an activity with GetActivityTask and answer with SendTaskSuccess or SendTaskFailure.'),
    h('section', { class: 'card' }, box)));
  ctx.every(10000, async () => clear(box, await load()));
}
