// The page's router: #/campaigns, #/campaign/3, #/entry/12, #/verify, #/audit, #/stats.
// Each view module exports render(main, ctx) and returns the page title; ctx.onCleanup() hooks
// run when the view is left (closing the live stream, destroying charts).
import { getJSON } from './api.js';
import { h, fill, notice } from './dom.js';
import * as campaigns from './views/campaigns.js';
import * as campaign from './views/campaign.js';
import * as entry from './views/entry.js';
import * as verify from './views/verify.js';
import * as audit from './views/audit.js';
import * as stats from './views/stats.js';

const ROUTES = [
  { pattern: /^\/campaigns$/, view: campaigns, nav: 'campaigns' },
  { pattern: /^\/campaign\/(\d{1,18})$/, view: campaign, nav: 'campaigns' },
  { pattern: /^\/entry\/(\d{1,18})$/, view: entry, nav: null },
  { pattern: /^\/verify$/, view: verify, nav: 'verify' },
  { pattern: /^\/audit$/, view: audit, nav: 'audit' },
  { pattern: /^\/stats$/, view: stats, nav: 'stats' },
];

const main = document.getElementById('view');
const announcer = document.getElementById('announcer');
let current = null; // { controller, cleanups }
let renders = 0;

/** Say `message` to screen readers (the polite live region in index.html). */
export function announce(message) {
  announcer.textContent = '';
  window.setTimeout(() => { announcer.textContent = message; }, 50);
}

export function parseHash(hash = window.location.hash) {
  const raw = hash.replace(/^#/, '') || '/campaigns';
  const [path, query = ''] = raw.split('?');
  return { path: path || '/campaigns', query: new URLSearchParams(query) };
}

function leave() {
  if (!current) return;
  current.controller.abort();
  for (const fn of current.cleanups.splice(0)) {
    try { fn(); } catch (error) { console.warn(error); } // eslint-disable-line no-console
  }
  current = null;
}

function setNav(name) {
  for (const link of document.querySelectorAll('[data-nav]')) {
    if (link.dataset.nav === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function route() {
  const { path, query } = parseHash();
  if (!window.location.hash || window.location.hash === '#' || window.location.hash === '#/') {
    window.history.replaceState(null, '', '#/campaigns');
  }
  leave();
  const controller = new AbortController();
  const cleanups = [];
  current = { controller, cleanups };
  const found = ROUTES.find((r) => r.pattern.test(path));
  setNav(found ? found.nav : null);
  main.setAttribute('aria-busy', 'true');
  const first = renders === 0;
  renders += 1;
  let title;
  try {
    if (!found) {
      fill(main, h('h1', { tabindex: '-1' }, 'Page not found'),
        notice('warn', 'There is nothing at this address. ', h('a', { href: '#/campaigns' }, 'See all campaigns'), '.'));
      title = 'Not found';
    } else {
      const match = path.match(found.pattern);
      title = await found.view.render(main, {
        params: match.slice(1), query, path, signal: controller.signal, announce,
        onCleanup: (fn) => cleanups.push(fn),
        isCurrent: () => current && current.controller === controller,
      });
    }
  } catch (error) {
    if (error.name === 'AbortError') return;
    console.error(error); // eslint-disable-line no-console
    fill(main, h('h1', { tabindex: '-1' }, 'Something went wrong'),
      notice('bad', error.detail || error.message || String(error)));
    title = 'Error';
  }
  if (!current || current.controller !== controller) return;
  main.setAttribute('aria-busy', 'false');
  document.title = title ? `${title} \u2014 CrowdLedger` : 'CrowdLedger';
  if (!first) {
    const heading = main.querySelector('h1');
    (heading || main).focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }
  refreshStatus();
}

/** The footer line: how far the ledger is indexed and what the last audit said. */
async function refreshStatus() {
  const line = document.getElementById('sync-status');
  try {
    const health = await getJSON('/health', { accept: [503] });
    const parts = [];
    if (health.indexed_block !== null) parts.push(`Indexed to block ${health.indexed_block.toLocaleString('en-US')}`);
    parts.push(`${health.entries.toLocaleString('en-US')} ledger entries`);
    if (health.lag_blocks) parts.push(`${health.lag_blocks} blocks behind the node`);
    const auditWords = { ok: 'last audit: clean', findings: 'last audit: PROBLEMS FOUND', error: 'last audit: could not run', pending: 'first audit running', disabled: 'audits off (no node)' };
    parts.push(auditWords[health.audit] || '');
    if (!health.ok) parts.push('service degraded');
    line.textContent = parts.filter(Boolean).join(' \u00b7 ');
  } catch {
    line.textContent = 'The server did not answer.';
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('crowdledger:status', refreshStatus);
document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault(); // keep the hash route; just move focus
  main.focus();
});
route();
