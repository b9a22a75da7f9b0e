// #/campaigns: every campaign with its progress, filtered and sorted as GET /campaigns allows.
import { ApiError, getJSON } from '../api.js';
import { h, fill, notice } from '../dom.js';
import { assetChip, money, outcome, progressBar, stateBadge } from '../components.js';
import { assetOf, isEth } from '../assets.js';
import { percent, plural, STATE_LABELS } from '../format.js';
import { LIMITS, campaignName, cleanLine } from '../text.js';
import { replaceQuery } from '../nav.js';

const PAGE = 24;
const SORTS = { newest: 'Newest first', ending_soon: 'Ending soon', most_raised: 'Most raised' };
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function select(id, label, options, value) {
  return h('div', { class: 'field' },
    h('label', { for: id }, label),
    h('select', { id, name: id.replace('f-', '') },
      Object.entries(options).map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
}

function backers(c) {
  const ever = plural(c.backer_count, 'backer');
  return c.holders === undefined || c.holders === null || c.holders === c.backer_count
    ? ever : `${ever} (${c.holders.toLocaleString('en-US')} still holding)`;
}

export function campaignCard(c) {
  const asset = assetOf(c);
  const summary = cleanLine(c.summary, LIMITS.summary);
  return h('li', { class: 'card campaign-card', 'data-campaign-id': c.id, 'data-state': c.state },
    h('div', { class: 'card-head' },
      h('h2', {}, h('a', { href: `#/campaign/${c.id}`, class: 'stretch' }, campaignName(c))),
      stateBadge(c.state)),
    summary ? h('p', { class: 'card-summary' }, summary) : null,
    progressBar(c, asset),
    h('p', { class: 'raised' },
      h('strong', {}, money(c.pledged, asset)), ' raised of ', money(c.goal, asset), ' goal ',
      h('span', { class: 'pct' }, `(${percent(c.pledged, c.goal)}%)`)),
    h('ul', { class: 'meta' },
      h('li', { class: 'backer-count' }, backers(c)),
      h('li', { class: 'outcome' }, outcome(c, asset)),
      h('li', {}, assetChip(asset)),
      h('li', {}, c.keep_it_all ? 'Keep-it-all' : c.milestone ? 'Milestones' : 'All-or-nothing'),
      c.title ? h('li', { class: 'sub' }, `#${c.id}`) : null));
}

export async function render(main, ctx) {
  const q = ctx.query;
  const filters = {
    state: STATE_LABELS[q.get('state')] ? q.get('state') : '',
    token: q.get('token') || '',
    creator: ADDRESS.test(q.get('creator') || '') ? q.get('creator') : '',
    sort: SORTS[q.get('sort')] ? q.get('sort') : 'newest',
  };
  const count = h('p', { class: 'count', role: 'status', 'aria-live': 'polite' });
  const list = h('ul', { class: 'cards', 'aria-label': 'Campaigns' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more campaigns');
  const problem = h('div');

  const tokenOptions = { '': 'Any asset', eth: 'ETH' };
  if (filters.token && filters.token.toLowerCase() !== 'eth') tokenOptions[filters.token] = filters.token;
  const creatorInput = h('input', {
    id: 'f-creator', name: 'creator', type: 'text', inputmode: 'text', autocomplete: 'off', spellcheck: 'false',
    placeholder: '0x\u2026', value: filters.creator, 'aria-describedby': 'f-creator-hint', pattern: '0x[0-9a-fA-F]{40}',
  });
  const form = h('form', { class: 'filters', role: 'search', novalidate: true, 'aria-label': 'Filter and sort campaigns' },
    select('f-state', 'State', { '': 'Any state', ...STATE_LABELS }, filters.state),
    select('f-token', 'Asset', tokenOptions, filters.token.toLowerCase() === 'eth' ? 'eth' : filters.token),
    h('div', { class: 'field wide' },
      h('label', { for: 'f-creator' }, 'Creator'),
      creatorInput,
      h('span', { id: 'f-creator-hint', class: 'hint' }, 'An address (0x and 40 hex digits); leave empty for anyone.')),
    select('f-sort', 'Sort', SORTS, filters.sort),
    h('div', { class: 'field actions' },
      h('button', { type: 'submit' }, 'Apply'),
      h('button', { type: 'reset', class: 'secondary' }, 'Reset')));

  fill(main,
    h('h1', { tabindex: '-1' }, 'Campaigns'),
    h('p', { class: 'lede' }, 'Every campaign held by the escrow, read from its public ledger. Open one to see its terms, '
      + 'its backers and every entry with its proof; or ', h('a', { href: '#/verify' }, 'verify your own contribution'), '.'),
    form, count, problem, list, more);

  // the assets people can filter by: every token that has a campaign, by its symbol
  getJSON('/stats', { signal: ctx.signal }).then((stats) => {
    const tokenSelect = form.querySelector('#f-token');
    for (const t of stats.tokens) {
      const asset = assetOf(t);
      if (isEth(asset.address)) continue;
      const words = `${asset.label}${asset.name ? ` (${asset.name})` : ''}`;
      const listed = [...tokenSelect.options].find((o) => o.value.toLowerCase() === asset.address.toLowerCase());
      if (listed) listed.textContent = words; // the address from the page's URL, now named
      else tokenSelect.append(h('option', { value: asset.address }, words));
    }
    if (filters.token) tokenSelect.value = [...tokenSelect.options].find((o) => o.value.toLowerCase() === filters.token.toLowerCase())?.value || '';
  }).catch(() => {});

  let cursor = null;
  let shown = 0;
  let generation = 0;

  function url() {
    const params = new URLSearchParams({ sort: filters.sort, limit: String(PAGE) });
    if (filters.state) params.set('state', filters.state);
    if (filters.token) params.set('token', filters.token);
    if (filters.creator) params.set('creator', filters.creator);
    if (cursor) params.set('cursor', cursor);
    return `/campaigns?${params}`;
  }

  async function load(reset) {
    const mine = reset ? ++generation : generation;
    if (reset) {
      cursor = null;
      shown = 0;
      list.replaceChildren();
      fill(problem);
      count.textContent = 'Loading campaigns\u2026';
    }
    more.disabled = true;
    try {
      const page = await getJSON(url(), { signal: ctx.signal });
      if (mine !== generation) return;
      for (const c of page.data) list.append(campaignCard(c));
      shown += page.data.length;
      cursor = page.next;
      more.hidden = !cursor;
      count.textContent = page.count === 0 ? 'No campaign matches these filters.'
        : `${plural(page.count, 'campaign')}${shown < page.count ? `, showing ${shown}` : ''}.`;
    } catch (error) {
      if (error.name === 'AbortError') return;
      count.textContent = '';
      fill(problem, notice('bad', error instanceof ApiError ? error.detail : String(error)));
    } finally {
      more.disabled = false;
    }
  }

  function apply() {
    const creator = creatorInput.value.trim();
    if (creator && !ADDRESS.test(creator)) {
      creatorInput.setAttribute('aria-invalid', 'true');
      fill(problem, notice('bad', 'The creator must be an address: 0x followed by 40 hex digits.'));
      creatorInput.focus();
      return;
    }
    creatorInput.removeAttribute('aria-invalid');
    filters.state = form.querySelector('#f-state').value;
    filters.token = form.querySelector('#f-token').value;
    filters.creator = creator;
    filters.sort = form.querySelector('#f-sort').value;
    replaceQuery('/campaigns', { state: filters.state, token: filters.token, creator: filters.creator,
      sort: filters.sort === 'newest' ? '' : filters.sort });
    load(true);
  }

  form.addEventListener('submit', (event) => { event.preventDefault(); apply(); });
  form.addEventListener('change', (event) => { if (event.target.tagName === 'SELECT') apply(); });
  form.addEventListener('reset', () => window.setTimeout(() => {
    for (const s of form.querySelectorAll('select')) s.value = s.id === 'f-sort' ? 'newest' : '';
    creatorInput.value = '';
    apply();
  }, 0));
  more.addEventListener('click', async () => {
    const before = shown;
    await load(false);
    list.children[before]?.querySelector('a')?.focus();
  });

  await load(true);
  return 'Campaigns';
}
