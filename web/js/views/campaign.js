// #/campaign/3: the campaign's name and description (its metadata document, checked here), terms,
// money pledged over time against the goal, the delivery of a milestone campaign (delivery.js) and
// any disclosures, backers, and every ledger entry with a link to its proof. New entries arrive
// live (live.js: caught up through /ledger, then the stream).
import { ApiError, getAll, getJSON } from '../api.js';
import { h, fill, defs, notice, table, tableRow } from '../dom.js';
import {
  addressLink, assetChip, entryLink, hex, money, outcome, progressBar, stateBadge,
} from '../components.js';
import { amount, assetDescription, assetOf } from '../assets.js';
import { aboutSection } from '../about.js';
import { makeChart } from '../charts.js';
import { deliverySummary, deliveryTimeline, startCountdowns } from '../delivery.js';
import {
  big, bps, CLOSED_STATES, duration, grouped, KIND_LABELS, percent, plural, positionLabel, positionWords,
  REFUND_REASONS, trancheName, UNSUCCESSFUL_STATES, utc,
} from '../format.js';
import { follow, ledgerTip } from '../live.js';
import { chartConfig, chartLabel, pledgeSeries } from '../pledge-chart.js';
import { campaignName } from '../text.js';

const BACKERS_PAGE = 100;
const ENTRIES_SHOWN = 100;
const NOT_MONEY = new Set(['cancelled', 'milestone_plan', 'release_requested', 'disclosed']); // kinds whose amount is not money

/** What the campaign's backers can still take back (the sum of the rows' Refundable now), or null when nothing can be. */
function stillRefundable(c) {
  if (c.refundable === undefined || c.refundable === null) return null;
  return UNSUCCESSFUL_STATES.has(c.state) || big(c.refundable) > 0n ? c.refundable : null;
}

function backerCounts(c) {
  const ever = plural(c.backer_count, 'backer');
  if (c.holders === undefined || c.holders === null || c.holders === c.backer_count) return ever;
  return `${ever} \u00b7 ${c.holders.toLocaleString('en-US')} still holding`;
}

function summary(c, asset) {
  const refundable = stillRefundable(c);
  return h('div', { class: 'summary' },
    progressBar(c, asset, { large: true }),
    h('p', { class: 'raised big' },
      h('strong', { class: 'total', 'data-pledged': c.pledged }, money(c.pledged, asset)),
      ' raised of ', money(c.goal, asset), ' goal ',
      h('span', { class: 'pct' }, `(${percent(c.pledged, c.goal)}%)`)),
    h('ul', { class: 'meta' },
      h('li', { class: 'backer-count' }, backerCounts(c)),
      h('li', { class: 'outcome' }, outcome(c, asset)),
      h('li', { class: 'held' }, 'Held for backers now: ', money(c.held ?? c.escrowed, asset)),
      refundable !== null ? h('li', { class: 'refundable' }, 'Still refundable: ', money(refundable, asset)) : null,
      h('li', {}, assetChip(asset))));
}

function model(c, d) {
  if (d && d.milestone) {
    return h('span', {}, h('strong', {}, 'Milestones'), `: all-or-nothing, then paid in ${plural(d.tranche_count, 'tranche')} `
      + `(${d.tranches.map((t) => bps(t.bps)).join(' / ')}). The first is claimed once the goal is met; each later one needs `
      + `the backers\u2019 approval in a vote lasting ${duration(d.voting_period)}. If a vote fails, or the creator asks for no release `
      + 'for 180 days, backers get back their share of what was not released.');
  }
  return c.keep_it_all
    ? h('span', {}, h('strong', {}, 'Keep-it-all'), ': the creator may claim whatever was pledged once the deadline passes, even below the goal.')
    : h('span', {}, h('strong', {}, 'All-or-nothing'), ': the creator gets the money only if the goal is reached by the deadline; otherwise every backer can refund.');
}

function terms(c, d, asset) {
  const claimed = c.state === 'claimed' || (c.milestone && big(c.claimed_amount) > 0n);
  return defs([
    ['Goal', h('span', {}, money(c.goal, asset), h('span', { class: 'sub' }, ` (${c.goal} base units)`))],
    ['Deadline', h('span', {}, utc(c.deadline), h('span', { class: 'sub' },
      c.seconds_left > 0 ? ` (${duration(c.seconds_left)} left in chain time)` : ' (passed, in chain time)'))],
    ['Model', model(c, d)],
    ['Platform fee', `${bps(c.fee_bps)} (${c.fee_bps} basis points), taken from ${c.milestone ? 'each tranche when it is paid' : 'the total when the creator claims'}`],
    ['Cap per backer', big(c.max_per_backer) === 0n ? 'No cap' : money(c.max_per_backer, asset)],
    ['Asset', asset.address ? h('span', {}, assetDescription(asset), ' ', hex(asset.address)) : assetDescription(asset)],
    ['Creator', h('span', {}, hex(c.creator), ' ', h('a', { href: `#/campaigns?creator=${c.creator}` }, 'their campaigns'),
      ' \u00b7 ', h('a', { href: `#/verify?q=${c.creator}` }, 'what they are owed'))],
    ['Metadata hash', hex(c.metadata_hash)],
    ['Created', h('span', {}, `block ${grouped(c.created_block)}, ${utc(c.created_at)}, ledger entry `, entryLink(c.created_seq))],
    claimed ? [c.milestone ? 'Released so far' : 'Claimed', h('span', {}, money(c.claimed_amount, asset), ' to the creator + ',
      money(c.claim_fee, asset), ' fee')] : null,
    big(c.refunded_total) > 0n ? ['Refunded so far', money(c.refunded_total, asset)] : null,
  ], { class: 'defs terms' });
}

/** A backer's figure that the API may not give for every campaign: shown as a dash when absent. */
function figure(value, asset) {
  return value === undefined || value === null ? '\u2014' : money(value, asset);
}

function statusCell(b) {
  const reason = b.status === 'refundable' && b.reason ? REFUND_REASONS[b.reason] : null;
  return h('span', { class: `pos pos-${b.status}`, title: positionWords(b.status, b.reason) },
    positionLabel(b.status, b.reason), reason ? h('span', { class: 'reason' }, `: ${reason}`) : null);
}

function backerColumns(asset) {
  return [
    { label: 'Backer', cell: (b) => addressLink(b.backer) },
    { label: 'Pledged', class: 'num', cell: (b) => money(b.pledged_total, asset) },
    { label: 'Unpledged', class: 'num', cell: (b) => money(b.unpledged_total, asset) },
    { label: 'Refunded', class: 'num', cell: (b) => money(b.refunded_total, asset) },
    { label: 'Released to the creator', class: 'num released', cell: (b) => figure(b.released, asset) },
    { label: 'Held for them now', class: 'num held', cell: (b) => figure(b.escrowed, asset) },
    { label: 'Refundable now', class: 'num refundable', cell: (b) => figure(b.refundable, asset) },
    { label: 'Status', class: 'status', cell: statusCell },
    { label: 'Entries', class: 'nowrap', cell: (b) => h('span', {}, entryLink(b.first_seq), b.last_seq !== b.first_seq ? ['\u2009\u2026\u2009', entryLink(b.last_seq)] : null) },
  ];
}

/** An entry's amount column: money, or what the amount means for the kinds where it is not money. */
function entryAmount(e, asset) {
  switch (e.kind_name) {
    case 'cancelled': case 'disclosed': return '\u2014';
    case 'campaign_created': return h('span', {}, 'goal ', money(e.amount, asset));
    case 'milestone_plan': return plural(Number(e.amount), 'tranche');
    case 'release_requested': return trancheName(e.amount);
    case 'voted': return h('span', {}, 'weight ', money(e.amount, asset));
    default: return money(e.amount, asset);
  }
}

function entryColumns(asset) {
  return [
    { label: 'Entry', cell: (e) => entryLink(e.seq) },
    { label: 'What', cell: (e) => h('span', { class: `kind kind-${e.kind_name}` }, KIND_LABELS[e.kind_name] || KIND_LABELS.unknown) },
    { label: 'Account', cell: (e) => addressLink(e.account) },
    { label: 'Amount', class: 'num', cell: (e) => entryAmount(e, asset) },
    { label: 'Block', class: 'num', cell: (e) => grouped(e.block_number) },
    { label: 'Chain time (UTC)', class: 'nowrap', cell: (e) => utc(e.block_time).replace(' UTC', '') },
    { label: 'Finality', cell: (e) => (e.final ? h('span', { class: 'tag final' }, 'final') : h('span', { class: 'tag provisional' }, 'provisional')) },
    { label: 'Proof', cell: (e) => h('a', { href: `/ledger/${e.seq}`, 'aria-label': `Entry ${e.seq} as JSON` }, 'JSON') },
  ];
}

/** The line under the summary: live updates for a campaign that can still change, or why it no longer does. */
function liveLine(c, liveState) {
  if (c.state === 'funding') {
    return h('p', { class: 'live', 'data-following': 'pledges' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), ' Live updates: ', liveState,
      h('span', { class: 'sub' }, ' \u2014 new pledges appear here as soon as they are indexed.'));
  }
  if (!CLOSED_STATES.has(c.state)) {
    return h('p', { class: 'live', 'data-following': 'delivery' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), ' Live updates: ', liveState,
      h('span', { class: 'sub' }, ' \u2014 the creator\u2019s claim, votes and releases appear here as soon as they are indexed.'));
  }
  if (c.state === 'claimed') {
    return h('p', { class: 'live closed', 'data-following': 'none' }, 'This campaign is closed: the creator was paid, and nothing more can happen to it.');
  }
  return h('p', { class: 'live closed', 'data-following': 'refunds' },
    'This campaign is closed: it takes no pledges and pays the creator nothing more. Backers\u2019 refunds still appear here as they are indexed',
    h('span', { class: 'sub' }, ' (', liveState, ')'), '.');
}

const LIVE_WORDS = {
  open: { connecting: 'connecting', live: 'on', reconnecting: 'reconnecting\u2026', busy: 'the server is busy: retrying shortly', unsupported: 'not supported by this browser' },
  closed: { connecting: 'connecting', live: 'following', reconnecting: 'reconnecting\u2026', busy: 'the server is busy: retrying shortly', unsupported: 'not followed: this browser cannot' },
};

export async function render(main, ctx) {
  const id = Number(ctx.params[0]);
  const { signal } = ctx;
  let c;
  let tip;
  try {
    [c, tip] = await Promise.all([getJSON(`/campaigns/${id}`, { signal }), ledgerTip({ signal }).catch(() => null)]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      fill(main, h('p', {}, h('a', { href: '#/campaigns' }, '\u2190 All campaigns')),
        h('h1', { tabindex: '-1' }, `Campaign #${id}`),
        notice('warn', `There is no campaign #${id} in the indexed ledger. If you created it a moment ago, the indexer may still be catching up.`));
      return `Campaign #${id}`;
    }
    throw error;
  }
  const asset = assetOf(c);
  const name = campaignName(c);
  const readDelivery = () => Promise.all([
    c.milestone ? getJSON(`/campaigns/${id}/milestones`, { signal }) : null,
    getAll(`/campaigns/${id}/disclosures`, { signal }).then((page) => page.items),
  ]);
  let [{ items: entries, complete }, backersPage, [delivery, documents]] = await Promise.all([
    getAll(`/campaigns/${id}/ledger`, { signal }),
    getJSON(`/campaigns/${id}/backers?limit=${BACKERS_PAGE}`, { signal }),
    readDelivery(),
  ]);

  const heading = h('h1', { tabindex: '-1' }, name);
  const badgeSlot = h('span', { class: 'badge-slot' }, stateBadge(c.state));
  const summarySlot = h('div', {}, summary(c, asset));
  const termsSlot = h('div', {}, terms(c, delivery, asset));
  const deliverySlot = h('section', { 'aria-labelledby': 'h-delivery', class: 'delivery' });
  const liveNote = h('p', { class: 'live-note', role: 'status', 'aria-live': 'polite' });
  const liveState = h('span', { class: 'live-state', 'data-state': 'connecting' }, 'connecting');
  const liveSlot = h('div', {}, liveLine(c, liveState));
  const canvas = h('canvas', { id: 'pledge-chart', role: 'img', 'aria-label': chartLabel(c, pledgeSeries(c, entries, asset), asset) });
  const chartNote = h('p', { class: 'sub' });
  const backersSlot = h('div');
  const entriesSlot = h('div');
  const moreBackers = h('button', { type: 'button', class: 'secondary', hidden: !backersPage.next }, 'Show more backers');
  const moreEntries = h('button', { type: 'button', class: 'secondary', hidden: true });

  fill(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/campaigns' }, '\u2190 All campaigns')),
    h('div', { class: 'title-row' }, heading, c.title ? h('span', { class: 'campaign-id sub' }, `#${id}`) : null, badgeSlot),
    summarySlot,
    liveSlot,
    liveNote,
    aboutSection(c, c.title ? name : null),
    h('section', { 'aria-labelledby': 'h-chart' },
      h('h2', { id: 'h-chart' }, 'Money pledged over time'),
      h('figure', { class: 'chart' },
        h('div', { class: 'chart-box' }, canvas),
        h('figcaption', {}, 'Net total pledged (pledges minus unpledges) after each ledger entry, against the goal, in chain time. '
          + 'Refunds and the creator\u2019s claim do not lower it.', chartNote))),
    deliverySlot,
    h('section', { 'aria-labelledby': 'h-terms' }, h('h2', { id: 'h-terms' }, 'Terms'), termsSlot),
    h('section', { 'aria-labelledby': 'h-backers' }, h('h2', { id: 'h-backers' }, 'Backers'),
      h('p', { class: 'sub' }, 'Each backer\u2019s money: what they pledged and took back, what went to the creator, what the escrow holds for them now '
        + 'and what they can refund. The columns add up to the campaign\u2019s figures above.'),
      backersSlot, moreBackers),
    h('section', { 'aria-labelledby': 'h-ledger' },
      h('h2', { id: 'h-ledger' }, 'Ledger entries'),
      h('p', {}, 'Newest first. Each entry links to its proof: the transaction that made it and the hash chain around it. '
        + 'Provisional entries are too recent to be final (a chain reorganisation could still replace them).'),
      complete ? null : notice('warn', 'This campaign has more entries than this page loads; the export has all of them.'),
      entriesSlot, moreEntries));

  // ---- chart
  let chart = makeChart(canvas, chartConfig(c, pledgeSeries(c, entries, asset), asset), chartNote);
  ctx.onCleanup(() => chart?.destroy());

  // ---- delivery: the tranches, the vote, reports, disclosures and the abort
  let stopCountdowns = () => {};
  const drawDelivery = () => {
    stopCountdowns();
    deliverySlot.hidden = !delivery && !documents.length;
    fill(deliverySlot,
      h('h2', { id: 'h-delivery' }, delivery ? 'Delivery' : 'Disclosures'),
      delivery ? deliverySummary(delivery, asset) : h('p', {}, 'Documents the creator published on the ledger, by their hash.'),
      deliveryTimeline(delivery, documents, asset, c.abort_cause));
    stopCountdowns = startCountdowns(deliverySlot);
  };
  drawDelivery();
  ctx.onCleanup(() => stopCountdowns());

  // ---- backers
  let backers = backersPage.data;
  let backersNext = backersPage.next;
  const drawBackers = () => fill(backersSlot, backers.length
    ? table(`Backers of ${name}`, backerColumns(asset), backers, { class: 'data backers', stack: true })
    : h('p', {}, 'Nobody has backed this campaign yet.'));
  drawBackers();
  moreBackers.addEventListener('click', async () => {
    const page = await getJSON(`/campaigns/${id}/backers?limit=${BACKERS_PAGE}&cursor=${encodeURIComponent(backersNext)}`, { signal });
    backers = backers.concat(page.data);
    backersNext = page.next;
    moreBackers.hidden = !backersNext;
    drawBackers();
  });

  // ---- entries, newest first
  let limit = ENTRIES_SHOWN;
  let tbody = null;
  const drawEntries = () => {
    const newest = [...entries].sort((a, b) => b.seq - a.seq);
    const wrap = table(`Ledger entries of ${name}`, entryColumns(asset), newest.slice(0, limit), { class: 'data entries', stack: true });
    tbody = wrap.querySelector('tbody');
    fill(entriesSlot, wrap);
    moreEntries.hidden = newest.length <= limit;
    moreEntries.textContent = `Show ${Math.min(ENTRIES_SHOWN, newest.length - limit)} older entries`;
  };
  drawEntries();
  moreEntries.addEventListener('click', () => { limit += ENTRIES_SHOWN; drawEntries(); });

  // ---- live
  if (c.state === 'claimed') return name;
  const seen = new Set(entries.map((e) => e.seq));
  let wasClosed = CLOSED_STATES.has(c.state);
  async function refresh() {
    const [fresh, page, [freshDelivery, freshDocuments]] = await Promise.all([
      getJSON(`/campaigns/${id}`, { signal }),
      getJSON(`/campaigns/${id}/backers?limit=${Math.max(BACKERS_PAGE, backers.length)}`, { signal }),
      readDelivery(),
    ]);
    c = fresh;
    delivery = freshDelivery;
    documents = freshDocuments;
    fill(badgeSlot, stateBadge(c.state));
    fill(summarySlot, summary(c, asset));
    fill(termsSlot, terms(c, delivery, asset));
    if (CLOSED_STATES.has(c.state) !== wasClosed || c.state === 'claimed') {
      wasClosed = CLOSED_STATES.has(c.state);
      fill(liveSlot, liveLine(c, liveState));
    }
    drawDelivery();
    backers = page.data;
    backersNext = page.next;
    moreBackers.hidden = !backersNext;
    drawBackers();
    const points = pledgeSeries(c, entries, asset);
    canvas.setAttribute('aria-label', chartLabel(c, points, asset));
    if (chart) {
      const config = chartConfig(c, points, asset);
      chart.data = config.data;
      chart.options = config.options;
      chart.update();
    }
  }

  const close = follow({
    after: tip ?? c.last_seq, // the newest seq before the page read the campaign: nothing after it is missed
    onState: (state) => {
      liveState.dataset.state = state;
      liveState.textContent = LIVE_WORDS[wasClosed ? 'closed' : 'open'][state] || state;
    },
    onEntry: async (entry) => {
      if (entry.campaign_id !== id || seen.has(entry.seq)) return;
      seen.add(entry.seq);
      entries.push(entry);
      const row = tableRow(entryColumns(asset), entry, { stack: true });
      row.classList.add('fresh');
      if (tbody) tbody.prepend(row); else drawEntries();
      const who = entry.account;
      const what = KIND_LABELS[entry.kind_name] || KIND_LABELS.unknown;
      const sum = NOT_MONEY.has(entry.kind_name) ? '' : ` of ${amount(entry.amount, asset)}`;
      try {
        await refresh();
      } catch (error) {
        if (error.name === 'AbortError') return;
      }
      liveNote.textContent = `New: ${what.toLowerCase()}${sum} from ${who.slice(0, 6)}\u2026${who.slice(-4)}, ledger entry #${entry.seq} `
        + `(${entry.final ? 'final' : 'provisional'}). Raised now: ${amount(c.pledged, asset)}.`;
      window.dispatchEvent(new Event('crowdledger:status')); // the footer's indexed block and entry count
    },
    onRollback: async ({ last_seq: lastSeq }) => {
      entries = entries.filter((e) => e.seq <= lastSeq);
      for (const s of [...seen]) if (s > lastSeq) seen.delete(s);
      drawEntries();
      await refresh().catch(() => {});
      liveNote.textContent = `A chain reorganisation removed provisional entries after #${lastSeq}; the page shows the ledger as it is now.`;
    },
  });
  ctx.onCleanup(close);
  // an entry indexed between reading the campaign and reading its ledger: the summary catches up
  if (entries.some((e) => e.seq > c.last_seq)) refresh().catch(() => {});
  return name;
}
