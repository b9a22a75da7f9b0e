// #/campaign/3: terms, money pledged over time against the goal, the delivery of a milestone
// campaign (delivery.js) and any disclosures, backers, and every ledger entry with a link to its
// proof. New entries arrive live over /ledger/stream.
import { ApiError, getAll, getJSON } from '../api.js';
import { h, fill, defs, notice, table, tableRow } from '../dom.js';
import {
  assetChip, entryLink, hex, money, outcome, progressBar, shortAddress, stateBadge,
} from '../components.js';
import { makeChart, shortTime } from '../charts.js';
import { deliverySummary, deliveryTimeline, startCountdowns } from '../delivery.js';
import {
  amount, big, bps, chartNumber, duration, formatUnits, KIND_LABELS, percent, plural, POSITION_WORDS, timeMs, unit, utc,
} from '../format.js';
import { subscribe } from '../live.js';

const BACKERS_PAGE = 100;
const ENTRIES_SHOWN = 100;
const NOT_MONEY = new Set(['cancelled', 'milestone_plan', 'release_requested', 'disclosed']); // kinds whose amount is not money

/** The running net total (pledges - unpledges) after each entry, as chart points. */
export function pledgeSeries(campaign, entries) {
  const sorted = [...entries].sort((a, b) => a.seq - b.seq);
  const created = sorted.find((e) => e.kind_name === 'campaign_created');
  const start = timeMs(campaign.created_at || created?.block_time) || timeMs(sorted[0]?.block_time) || Date.now();
  let total = 0n;
  const points = [{ x: start, y: 0, total: '0', seq: created?.seq ?? null, kind: 'campaign_created' }];
  for (const e of sorted) {
    if (e.kind_name !== 'pledged' && e.kind_name !== 'unpledged') continue;
    total += e.kind_name === 'pledged' ? big(e.amount) : -big(e.amount);
    points.push({ x: timeMs(e.block_time) || points[points.length - 1].x, y: chartNumber(total), total: total.toString(), seq: e.seq, kind: e.kind_name, amount: e.amount });
  }
  return points;
}

function chartRange(campaign, points) {
  const deadline = timeMs(campaign.deadline);
  const last = points[points.length - 1].x;
  const chainNow = campaign.seconds_left > 0 ? deadline - campaign.seconds_left * 1000 : deadline;
  const end = Math.max(last, campaign.state === 'funding' ? chainNow : deadline);
  return { start: points[0].x, end: end > points[0].x ? end : points[0].x + 60000, deadline };
}

function chartConfig(campaign, points) {
  const { start, end, deadline } = chartRange(campaign, points);
  const goal = chartNumber(campaign.goal);
  const top = Math.max(goal, ...points.map((p) => p.y)) * 1.1 || 1;
  const span = end - start;
  const tickFormat = span > 20 * 3600 * 1000 ? 'date' : span > 15 * 60 * 1000 ? 'minutes' : 'seconds';
  const line = [...points, { x: end, y: points[points.length - 1].y, total: points[points.length - 1].total, extend: true }];
  const datasets = [
    {
      label: `Pledged (${unit(campaign.token)})`, data: line, stepped: true, borderColor: '#1d4ed8', borderWidth: 2.5,
      backgroundColor: 'rgba(37, 99, 235, 0.14)', fill: 'origin', pointRadius: (c) => (c.raw?.extend ? 0 : 3.5),
      pointBackgroundColor: '#1d4ed8',
    },
    {
      label: `Goal: ${amount(campaign.goal, campaign.token)}`, data: [{ x: start, y: goal }, { x: end, y: goal }],
      borderColor: '#b45309', borderDash: [7, 5], borderWidth: 2, pointRadius: 0, fill: false,
    },
  ];
  if (deadline >= start && deadline <= end) {
    datasets.push({
      label: 'Deadline', data: [{ x: deadline, y: 0 }, { x: deadline, y: top }], borderColor: '#6b7280',
      borderDash: [2, 4], borderWidth: 1.5, pointRadius: 0, fill: false,
    });
  }
  return {
    type: 'line',
    data: { datasets },
    options: {
      parsing: { xAxisKey: 'x', yAxisKey: 'y' },
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        x: {
          type: 'linear', min: start, max: end,
          ticks: { callback: (v) => shortTime(v, tickFormat), maxRotation: 0, autoSkipPadding: 16, maxTicksLimit: 6 },
          title: { display: true, text: 'Chain time (UTC)' },
        },
        y: { beginAtZero: true, suggestedMax: top, title: { display: true, text: unit(campaign.token) } },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 18 } },
        tooltip: {
          filter: (item) => item.datasetIndex !== 2 && !item.raw.extend,
          callbacks: {
            title: (items) => (items.length ? `${new Date(items[0].raw.x).toISOString().slice(0, 16).replace('T', ' ')} UTC` : ''),
            label: (item) => (item.datasetIndex === 0
              ? `Pledged: ${formatUnits(item.raw.total)} ${unit(campaign.token)}${item.raw.seq ? ` (entry #${item.raw.seq})` : ''}`
              : `Goal: ${formatUnits(campaign.goal)} ${unit(campaign.token)}`),
          },
        },
      },
    },
  };
}

function chartLabel(campaign, points) {
  const pledges = points.filter((p) => p.kind === 'pledged').length;
  return `Money pledged over time: ${amount(campaign.pledged, campaign.token)} of a ${amount(campaign.goal, campaign.token)} goal `
    + `(${percent(campaign.pledged, campaign.goal)}%) after ${plural(pledges, 'pledge')}; the deadline is ${utc(campaign.deadline)}.`;
}

function summary(c) {
  return h('div', { class: 'summary' },
    progressBar(c, { large: true }),
    h('p', { class: 'raised big' },
      h('strong', { class: 'total', 'data-pledged': c.pledged }, money(c.pledged, c.token, { maxFraction: 6 })),
      ' raised of ', money(c.goal, c.token, { maxFraction: 6 }), ' goal ',
      h('span', { class: 'pct' }, `(${percent(c.pledged, c.goal)}%)`)),
    h('ul', { class: 'meta' },
      h('li', { class: 'backer-count' }, plural(c.backer_count, 'backer')),
      h('li', { class: 'outcome' }, outcome(c)),
      h('li', {}, 'Held for backers now: ', money(c.escrowed, c.token)),
      h('li', {}, assetChip(c.token))));
}

function model(c, d) {
  if (d && d.milestone) {
    return h('span', {}, h('strong', {}, 'Milestones'), `: all-or-nothing, then paid in ${plural(d.tranche_count, 'tranche')} `
      + `(${d.tranches.map((t) => bps(t.bps)).join(' / ')}). The first is claimed once the goal is met; each later one needs `
      + `the backers\u2019 approval in a vote lasting ${duration(d.voting_period)}. If a vote fails, backers get back their share of what was not released.`);
  }
  return c.keep_it_all
    ? h('span', {}, h('strong', {}, 'Keep-it-all'), ': the creator may claim whatever was pledged once the deadline passes, even below the goal.')
    : h('span', {}, h('strong', {}, 'All-or-nothing'), ': the creator gets the money only if the goal is reached by the deadline; otherwise every backer can refund.');
}

function terms(c, d) {
  const claimed = c.state === 'claimed' || (c.milestone && big(c.claimed_amount) > 0n);
  return defs([
    ['Goal', h('span', {}, money(c.goal, c.token, { exact: true }), h('span', { class: 'sub' }, ` ${c.goal} base units`))],
    ['Deadline', h('span', {}, utc(c.deadline), h('span', { class: 'sub' },
      c.seconds_left > 0 ? ` (${outcome({ ...c, state: 'funding' })} in chain time)` : ' (passed)'))],
    ['Model', model(c, d)],
    ['Platform fee', `${bps(c.fee_bps)} (${c.fee_bps} basis points), taken from ${c.milestone ? 'each tranche when it is paid' : 'the total when the creator claims'}`],
    ['Cap per backer', big(c.max_per_backer) === 0n ? 'No cap' : money(c.max_per_backer, c.token, { exact: true })],
    ['Asset', c.asset === 'ETH' ? 'ETH (ether)' : h('span', {}, 'ERC-20 token ', hex(c.token))],
    ['Creator', h('span', {}, hex(c.creator), ' ', h('a', { href: `#/campaigns?creator=${c.creator}` }, 'their campaigns'))],
    ['Metadata hash', hex(c.metadata_hash)],
    ['Created', h('span', {}, `block ${c.created_block}, ${utc(c.created_at)}, ledger entry `, entryLink(c.created_seq))],
    claimed ? [c.milestone ? 'Released so far' : 'Claimed', h('span', {}, money(c.claimed_amount, c.token, { exact: true }), ' to the creator + ',
      money(c.claim_fee, c.token, { exact: true }), ' fee')] : null,
    big(c.refunded_total) > 0n ? ['Refunded so far', money(c.refunded_total, c.token, { exact: true })] : null,
  ], { class: 'defs terms' });
}

function backerColumns(c) {
  return [
    { label: 'Backer', cell: (b) => shortAddress(b.backer) },
    { label: 'Holds now', class: 'num', cell: (b) => money(b.balance, c.token) },
    { label: 'Pledged', class: 'num', cell: (b) => money(b.pledged_total, c.token) },
    { label: 'Unpledged', class: 'num', cell: (b) => money(b.unpledged_total, c.token) },
    { label: 'Refunded', class: 'num', cell: (b) => money(b.refunded_total, c.token) },
    { label: 'Status', cell: (b) => h('span', { class: `pos pos-${b.status}`, title: POSITION_WORDS[b.status] }, b.status) },
    { label: 'Entries', cell: (b) => h('span', {}, entryLink(b.first_seq), b.last_seq !== b.first_seq ? [' \u2026 ', entryLink(b.last_seq)] : null) },
  ];
}

/** An entry's amount column: money, or what the amount means for the kinds where it is not money. */
function entryAmount(e, c) {
  switch (e.kind_name) {
    case 'cancelled': case 'disclosed': return '\u2014';
    case 'campaign_created': return h('span', {}, 'goal ', money(e.amount, c.token));
    case 'milestone_plan': return plural(Number(e.amount), 'tranche');
    case 'release_requested': return `tranche ${e.amount}`;
    case 'voted': return h('span', {}, 'weight ', money(e.amount, c.token));
    default: return money(e.amount, c.token);
  }
}

function entryColumns(c) {
  return [
    { label: 'Entry', cell: (e) => entryLink(e.seq) },
    { label: 'What', cell: (e) => h('span', { class: `kind kind-${e.kind_name}` }, KIND_LABELS[e.kind_name] || e.kind_name) },
    { label: 'Account', cell: (e) => shortAddress(e.account) },
    { label: 'Amount', class: 'num', cell: (e) => entryAmount(e, c) },
    { label: 'Block', class: 'num', cell: (e) => String(e.block_number) },
    { label: 'Time (UTC)', cell: (e) => utc(e.block_time).replace(' UTC', '') },
    { label: 'Finality', cell: (e) => (e.final ? h('span', { class: 'tag final' }, 'final') : h('span', { class: 'tag provisional' }, 'provisional')) },
    { label: 'Proof', cell: (e) => h('a', { href: `/ledger/${e.seq}`, 'aria-label': `Entry ${e.seq} as JSON` }, 'JSON') },
  ];
}

export async function render(main, ctx) {
  const id = Number(ctx.params[0]);
  const { signal } = ctx;
  let c;
  try {
    c = await getJSON(`/campaigns/${id}`, { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      fill(main, h('p', {}, h('a', { href: '#/campaigns' }, '\u2190 All campaigns')),
        h('h1', { tabindex: '-1' }, `Campaign #${id}`),
        notice('warn', `There is no campaign #${id} in the indexed ledger. If you created it a moment ago, the indexer may still be catching up.`));
      return `Campaign #${id}`;
    }
    throw error;
  }
  const readDelivery = () => Promise.all([
    c.milestone ? getJSON(`/campaigns/${id}/milestones`, { signal }) : null,
    getAll(`/campaigns/${id}/disclosures`, { signal }).then((page) => page.items),
  ]);
  let [{ items: entries, complete }, backersPage, [delivery, documents]] = await Promise.all([
    getAll(`/campaigns/${id}/ledger`, { signal }),
    getJSON(`/campaigns/${id}/backers?limit=${BACKERS_PAGE}`, { signal }),
    readDelivery(),
  ]);

  const badgeSlot = h('span', { class: 'badge-slot' }, stateBadge(c.state));
  const summarySlot = h('div', {}, summary(c));
  const termsSlot = h('div', {}, terms(c, delivery));
  const deliverySlot = h('section', { 'aria-labelledby': 'h-delivery', class: 'delivery' });
  const liveNote = h('p', { class: 'live-note', role: 'status', 'aria-live': 'polite' });
  const liveState = h('span', { class: 'live-state', 'data-state': 'connecting' }, 'connecting');
  const canvas = h('canvas', { id: 'pledge-chart', role: 'img', 'aria-label': chartLabel(c, pledgeSeries(c, entries)) });
  const chartNote = h('p', { class: 'sub' });
  const backersSlot = h('div');
  const entriesSlot = h('div');
  const moreBackers = h('button', { type: 'button', class: 'secondary', hidden: !backersPage.next }, 'Show more backers');
  const moreEntries = h('button', { type: 'button', class: 'secondary', hidden: true });

  fill(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/campaigns' }, '\u2190 All campaigns')),
    h('div', { class: 'title-row' }, h('h1', { tabindex: '-1' }, `Campaign #${id}`), badgeSlot),
    summarySlot,
    h('p', { class: 'live' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), ' Live updates: ', liveState,
      h('span', { class: 'sub' }, ' \u2014 new pledges appear here as soon as they are indexed.')),
    liveNote,
    h('section', { 'aria-labelledby': 'h-chart' },
      h('h2', { id: 'h-chart' }, 'Money pledged over time'),
      h('figure', { class: 'chart' },
        h('div', { class: 'chart-box' }, canvas),
        h('figcaption', {}, 'Net total pledged (pledges minus unpledges) after each ledger entry, against the goal. '
          + 'Refunds and the creator\u2019s claim do not lower it.', chartNote))),
    deliverySlot,
    h('section', { 'aria-labelledby': 'h-terms' }, h('h2', { id: 'h-terms' }, 'Terms'), termsSlot),
    h('section', { 'aria-labelledby': 'h-backers' }, h('h2', { id: 'h-backers' }, 'Backers'), backersSlot, moreBackers),
    h('section', { 'aria-labelledby': 'h-ledger' },
      h('h2', { id: 'h-ledger' }, 'Ledger entries'),
      h('p', {}, 'Newest first. Each entry links to its proof: the transaction that made it and the hash chain around it. '
        + 'Provisional entries are too recent to be final (a chain reorganisation could still replace them).'),
      complete ? null : notice('warn', 'This campaign has more entries than this page loads; the export has all of them.'),
      entriesSlot, moreEntries));

  // ---- chart
  let chart = makeChart(canvas, chartConfig(c, pledgeSeries(c, entries)), chartNote);
  ctx.onCleanup(() => chart?.destroy());

  // ---- delivery: the tranches, the vote, reports, disclosures and the abort
  let stopCountdowns = () => {};
  const drawDelivery = () => {
    stopCountdowns();
    deliverySlot.hidden = !delivery && !documents.length;
    fill(deliverySlot,
      h('h2', { id: 'h-delivery' }, delivery ? 'Delivery' : 'Disclosures'),
      delivery ? deliverySummary(delivery) : h('p', {}, 'Documents the creator published on the ledger, by their hash.'),
      deliveryTimeline(delivery, documents));
    stopCountdowns = startCountdowns(deliverySlot);
  };
  drawDelivery();
  ctx.onCleanup(() => stopCountdowns());

  // ---- backers
  let backers = backersPage.data;
  let backersNext = backersPage.next;
  const drawBackers = () => fill(backersSlot, backers.length
    ? table(`Backers of campaign #${id}`, backerColumns(c), backers, { class: 'data backers' })
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
    const wrap = table(`Ledger entries of campaign #${id}`, entryColumns(c), newest.slice(0, limit), { class: 'data entries' });
    tbody = wrap.querySelector('tbody');
    fill(entriesSlot, wrap);
    moreEntries.hidden = newest.length <= limit;
    moreEntries.textContent = `Show ${Math.min(ENTRIES_SHOWN, newest.length - limit)} older entries`;
  };
  drawEntries();
  moreEntries.addEventListener('click', () => { limit += ENTRIES_SHOWN; drawEntries(); });

  // ---- live
  const seen = new Set(entries.map((e) => e.seq));
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
    fill(summarySlot, summary(c));
    fill(termsSlot, terms(c, delivery));
    drawDelivery();
    backers = page.data;
    backersNext = page.next;
    moreBackers.hidden = !backersNext;
    drawBackers();
    const points = pledgeSeries(c, entries);
    canvas.setAttribute('aria-label', chartLabel(c, points));
    if (chart) {
      const config = chartConfig(c, points);
      chart.data = config.data;
      chart.options = config.options;
      chart.update();
    }
  }

  const close = subscribe({
    onState: (state) => {
      liveState.dataset.state = state;
      liveState.textContent = { live: 'on', connecting: 'connecting', reconnecting: 'reconnecting\u2026', unsupported: 'not supported by this browser', closed: 'off' }[state] || state;
    },
    onEntry: async (entry) => {
      if (entry.campaign_id !== id || seen.has(entry.seq)) return;
      seen.add(entry.seq);
      entries.push(entry);
      const row = tableRow(entryColumns(c), entry);
      row.classList.add('fresh');
      if (tbody) tbody.prepend(row); else drawEntries();
      const who = entry.account;
      const what = KIND_LABELS[entry.kind_name] || entry.kind_name;
      const sum = NOT_MONEY.has(entry.kind_name) ? '' : ` of ${amount(entry.amount, c.token)}`;
      try {
        await refresh();
      } catch (error) {
        if (error.name === 'AbortError') return;
      }
      liveNote.textContent = `New: ${what.toLowerCase()}${sum} from ${who.slice(0, 6)}\u2026${who.slice(-4)}, ledger entry #${entry.seq} `
        + `(${entry.final ? 'final' : 'provisional'}). Raised now: ${amount(c.pledged, c.token)}.`;
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
  return `Campaign #${id}`;
}
