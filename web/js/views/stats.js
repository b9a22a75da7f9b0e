// #/stats: platform totals, success rate, campaigns by state and money per asset, as charts
// (with the same numbers in tables for screen readers and when Chart.js is missing).
import { getJSON } from '../api.js';
import { h, fill, table } from '../dom.js';
import { money } from '../components.js';
import { makeChart, SERIES, STATE_COLORS } from '../charts.js';
import { assetName, chartNumber, formatUnits, STATE_LABELS, unit, utc } from '../format.js';

const METRICS = [
  ['pledged', 'Pledged'],
  ['raised', 'Raised (successful)'],
  ['claimed', 'Paid to creators'],
  ['fees', 'Platform fees'],
  ['escrowed', 'Held in escrow'],
];

function card(label, value, sub) {
  return h('li', { class: 'stat' }, h('span', { class: 'stat-label' }, label), h('strong', { class: 'stat-value' }, value),
    sub ? h('span', { class: 'stat-sub' }, sub) : null);
}

export async function render(main, ctx) {
  const s = await getJSON('/stats', { signal: ctx.signal });
  const states = Object.keys(STATE_LABELS);
  const ended = ['succeeded', 'claimed', 'failed', 'cancelled', 'in_delivery', 'aborted'].reduce((n, k) => n + (s.campaigns_by_state[k] || 0), 0);
  const rate = s.success_rate === null ? '\u2014' : `${(s.success_rate * 100).toFixed(1).replace(/\.0$/, '')}%`;
  const stateCanvas = h('canvas', { id: 'state-chart', role: 'img',
    'aria-label': `Campaigns by state: ${states.map((k) => `${s.campaigns_by_state[k] || 0} ${STATE_LABELS[k].toLowerCase()}`).join(', ')}.` });
  const moneyCanvas = h('canvas', { id: 'money-chart', role: 'img',
    'aria-label': `Money per asset: ${s.tokens.map((t) => `${assetName(t.token)}: ${formatUnits(t.pledged, { maxFraction: 4 })} pledged, ${formatUnits(t.raised, { maxFraction: 4 })} raised`).join('; ')}.` });
  const stateNote = h('p', { class: 'sub' });
  const moneyNote = h('p', { class: 'sub' });

  fill(main,
    h('h1', { tabindex: '-1' }, 'Stats'),
    h('p', { class: 'lede' }, `Totals over the whole ledger${s.indexed_block !== null ? `, as of block ${s.indexed_block} (${utc(s.as_of)})` : ''}. `
      + 'States are computed at the chain\u2019s time, not the server\u2019s clock.'),
    h('ul', { class: 'stats-grid', 'aria-label': 'Totals' },
      card('Campaigns', s.campaigns.toLocaleString('en-US')),
      card('Success rate', rate, s.success_rate === null ? 'no campaign has ended yet' : `of ${ended} ended campaigns`),
      card('Backers', s.backers.toLocaleString('en-US'), 'distinct addresses that pledged'),
      card('Positions', s.positions.toLocaleString('en-US'), 'one per backer per campaign'),
      card('Ledger entries', s.entries.toLocaleString('en-US'))),
    h('div', { class: 'two-charts' },
      h('section', { 'aria-labelledby': 'h-states' },
        h('h2', { id: 'h-states' }, 'Campaigns by state'),
        h('figure', { class: 'chart' }, h('div', { class: 'chart-box square' }, stateCanvas), stateNote),
        table('Campaigns by state', [
          { label: 'State', cell: (k) => STATE_LABELS[k] },
          { label: 'Campaigns', class: 'num', cell: (k) => String(s.campaigns_by_state[k] || 0) },
        ], states, { class: 'data compact' })),
      h('section', { 'aria-labelledby': 'h-money' },
        h('h2', { id: 'h-money' }, 'Money per asset'),
        h('figure', { class: 'chart' }, h('div', { class: 'chart-box' }, moneyCanvas), moneyNote))),
    h('section', { 'aria-labelledby': 'h-assets' },
      h('h2', { id: 'h-assets' }, 'Per asset'),
      s.tokens.length ? table('Totals per asset', [
        { label: 'Asset', cell: (t) => h('span', { title: t.token, class: 'nowrap' }, assetName(t.token)) },
        { label: 'Campaigns', class: 'num', cell: (t) => String(t.campaigns) },
        ...METRICS.map(([key, label]) => ({ label, class: 'num', cell: (t) => money(t[key], t.token) })),
        { label: 'Average raised', class: 'num', cell: (t) => (t.average_raised === null ? '\u2014' : money(t.average_raised, t.token)) },
      ], s.tokens, { class: 'data assets' }) : h('p', {}, 'No campaign yet.')));

  const charts = [];
  charts.push(makeChart(stateCanvas, {
    type: 'doughnut',
    data: {
      labels: states.map((k) => STATE_LABELS[k]),
      datasets: [{ data: states.map((k) => s.campaigns_by_state[k] || 0), backgroundColor: states.map((k) => STATE_COLORS[k]), borderColor: '#fff', borderWidth: 2 }],
    },
    options: { plugins: { legend: { position: 'bottom', labels: { boxWidth: 14 } } } },
  }, stateNote));
  charts.push(makeChart(moneyCanvas, {
    type: 'bar',
    data: {
      labels: METRICS.map(([, label]) => label),
      datasets: s.tokens.map((t, i) => ({
        label: `${assetName(t.token)}`, data: METRICS.map(([key]) => chartNumber(t[key])),
        backgroundColor: SERIES[i % SERIES.length], borderRadius: 3,
      })),
    },
    options: {
      indexAxis: 'y',
      scales: { x: { beginAtZero: true, title: { display: true, text: 'Whole units (ETH, or tokens with 18 decimals)' } } },
      plugins: {
        legend: { position: 'bottom' },
        tooltip: {
          callbacks: {
            label: (item) => {
              const t = s.tokens[item.datasetIndex];
              return `${item.dataset.label}: ${formatUnits(t[METRICS[item.dataIndex][0]])} ${unit(t.token)}`;
            },
          },
        },
      },
    },
  }, moneyNote));
  ctx.onCleanup(() => charts.forEach((c) => c?.destroy()));
  return 'Stats';
}
