// #/stats: platform totals, success rate, campaigns by state and money per asset, as charts (one
// per asset, each on its own axis in that asset's units; the same numbers are in the tables for
// screen readers and when Chart.js is missing).
import { getJSON } from '../api.js';
import { h, fill, table } from '../dom.js';
import { assetChip, money } from '../components.js';
import { amount, assetOf } from '../assets.js';
import { amountAxisTitle, makeChart, SERIES, STATE_COLORS } from '../charts.js';
import { chartNumber, formatUnits, grouped, STATE_LABELS, utc } from '../format.js';

const METRICS = [
  ['pledged', 'Pledged'],
  ['raised', 'Raised (successful)'],
  ['claimed', 'Released to creators'],
  ['fees', 'Platform fees'],
  ['escrowed', 'Held for backers'],
  ['owed', 'Released, still owed (credits)'],
];
const ENDED = ['succeeded', 'claimed', 'failed', 'cancelled', 'in_delivery', 'aborted', 'expired'];

function card(label, value, sub) {
  return h('li', { class: 'stat' }, h('span', { class: 'stat-label' }, label), h('strong', { class: 'stat-value' }, value),
    sub ? h('span', { class: 'stat-sub' }, sub) : null);
}

/** A total's label on the chart: a long one with its parenthesis on a second line (Chart.js cuts
 * a long label off at a phone's edge). */
function chartLabel(label) {
  const cut = label.indexOf(' (');
  return label.length > 20 && cut > 0 ? [label.slice(0, cut), label.slice(cut + 1)] : label;
}

/** One asset's bar chart: its totals on an axis in its own units. */
function assetChart(t, asset, index, metrics) {
  const canvas = h('canvas', {
    class: 'money-chart', 'data-asset': asset.address || 'ETH', role: 'img',
    'aria-label': `${asset.label}: ${metrics.map(([key, label]) => `${label.toLowerCase()} ${amount(t[key], asset)}`).join(', ')}.`,
  });
  const note = h('p', { class: 'sub' });
  const figure = h('figure', { class: 'chart asset-chart' }, h('figcaption', { class: 'chart-title' }, assetChip(asset), ` ${asset.name || ''}`),
    h('div', { class: 'chart-box short' }, canvas), note);
  const config = {
    type: 'bar',
    data: {
      labels: metrics.map(([, label]) => chartLabel(label)),
      datasets: [{
        label: asset.label, data: metrics.map(([key]) => chartNumber(t[key], asset.decimals)),
        backgroundColor: SERIES[index % SERIES.length], borderRadius: 3,
      }],
    },
    options: {
      indexAxis: 'y',
      scales: {
        // every total keeps its label (Chart.js drops every other one when the box is short), and
        // the amounts stay level: skipped where they crowd rather than turned on their side
        x: { beginAtZero: true, ticks: { maxRotation: 0, autoSkipPadding: 12 }, title: { display: true, text: amountAxisTitle(asset) } },
        y: { ticks: { autoSkip: false } },
      },
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: { label: (item) => `${formatUnits(t[metrics[item.dataIndex][0]], { decimals: asset.decimals })} ${asset.label}` },
        },
      },
    },
  };
  return { figure, draw: () => makeChart(canvas, config, note) };
}

export async function render(main, ctx) {
  const s = await getJSON('/stats', { signal: ctx.signal });
  const states = Object.keys(STATE_LABELS);
  const ended = ENDED.reduce((n, k) => n + (s.campaigns_by_state[k] || 0), 0);
  const rate = s.success_rate === null ? '\u2014' : `${(s.success_rate * 100).toFixed(1).replace(/\.0$/, '')}%`;
  const stateCanvas = h('canvas', { id: 'state-chart', role: 'img',
    'aria-label': `Campaigns by state: ${states.map((k) => `${s.campaigns_by_state[k] || 0} ${STATE_LABELS[k].toLowerCase()}`).join(', ')}.` });
  const stateNote = h('p', { class: 'sub' });
  const assets = s.tokens.map((t) => ({ t, asset: assetOf(t) }));
  const metrics = METRICS.filter(([key]) => s.tokens.every((t) => t[key] !== undefined)); // credits: since issue 18
  const charts = assets.map(({ t, asset }, i) => assetChart(t, asset, i, metrics));

  fill(main,
    h('h1', { tabindex: '-1' }, 'Stats'),
    h('p', { class: 'lede' }, `Totals over the whole ledger${s.indexed_block !== null ? `, as of block ${grouped(s.indexed_block)} (${utc(s.as_of)} in chain time)` : ''}. `
      + 'States are computed at the chain\u2019s time, not the server\u2019s clock.'),
    h('ul', { class: 'stats-grid', 'aria-label': 'Totals' },
      card('Campaigns', s.campaigns.toLocaleString('en-US')),
      card('Success rate', rate, s.success_rate === null ? 'no campaign has ended yet' : `of ${ended} ended campaigns`),
      card('Backers', s.backers.toLocaleString('en-US'), 'distinct addresses that ever pledged'),
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
        h('p', { class: 'sub' }, 'One chart per asset, each in its own units: amounts in different assets are never on one axis.'),
        charts.length ? h('div', { class: 'asset-charts' }, charts.map((c) => c.figure)) : h('p', {}, 'No campaign yet.'))),
    h('section', { 'aria-labelledby': 'h-assets' },
      h('h2', { id: 'h-assets' }, 'Per asset'),
      assets.length ? table('Totals per asset', [
        { label: 'Asset', cell: ({ asset }) => h('span', { title: asset.address || 'Ether', class: 'nowrap' }, assetChip(asset)) },
        { label: 'Campaigns', class: 'num', cell: ({ t }) => String(t.campaigns) },
        ...metrics.map(([key, label]) => ({ label, class: 'num', cell: ({ t, asset }) => money(t[key], asset) })),
        { label: 'Average raised', class: 'num', cell: ({ t, asset }) => (t.average_raised === null ? '\u2014' : money(t.average_raised, asset)) },
      ], assets, { class: 'data assets', stack: true }) : h('p', {}, 'No campaign yet.')));

  const drawn = [];
  drawn.push(makeChart(stateCanvas, {
    type: 'doughnut',
    data: {
      labels: states.map((k) => STATE_LABELS[k]),
      datasets: [{ data: states.map((k) => s.campaigns_by_state[k] || 0), backgroundColor: states.map((k) => STATE_COLORS[k]), borderColor: '#fff', borderWidth: 2 }],
    },
    options: { plugins: { legend: { position: 'bottom', labels: { boxWidth: 14 } } } },
  }, stateNote));
  for (const chart of charts) drawn.push(chart.draw());
  ctx.onCleanup(() => drawn.forEach((c) => c?.destroy()));
  return 'Stats';
}
