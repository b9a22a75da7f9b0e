// A campaign's pledge chart (Chart.js): the net total pledged after each pledge or unpledge, as a
// step line against the goal and the deadline, in the campaign's own asset and chain time (UTC).
import { amountAxisTitle, shortTime } from './charts.js';
import { amount } from './assets.js';
import { big, chartNumber, formatUnits, percent, plural, timeMs, utc } from './format.js';

/** The running net total (pledges - unpledges) after each entry, as chart points. */
export function pledgeSeries(campaign, entries, asset) {
  const sorted = [...entries].sort((a, b) => a.seq - b.seq);
  const created = sorted.find((e) => e.kind_name === 'campaign_created');
  const start = timeMs(campaign.created_at || created?.block_time) || timeMs(sorted[0]?.block_time) || Date.now();
  let total = 0n;
  const points = [{ x: start, y: 0, total: '0', seq: created?.seq ?? null, kind: 'campaign_created' }];
  for (const e of sorted) {
    if (e.kind_name !== 'pledged' && e.kind_name !== 'unpledged') continue;
    total += e.kind_name === 'pledged' ? big(e.amount) : -big(e.amount);
    points.push({
      x: timeMs(e.block_time) || points[points.length - 1].x, y: chartNumber(total, asset.decimals), total: total.toString(),
      seq: e.seq, kind: e.kind_name, amount: e.amount,
    });
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

export function chartConfig(campaign, points, asset) {
  const { start, end, deadline } = chartRange(campaign, points);
  const goal = chartNumber(campaign.goal, asset.decimals);
  const top = Math.max(goal, ...points.map((p) => p.y)) * 1.1 || 1;
  const span = end - start;
  const tickFormat = span > 15 * 60 * 1000 ? 'minutes' : 'seconds';
  const line = [...points, { x: end, y: points[points.length - 1].y, total: points[points.length - 1].total, extend: true }];
  const exact = (value) => `${formatUnits(value, { decimals: asset.decimals })} ${asset.label}`;
  const datasets = [
    {
      label: `Pledged (${asset.label})`, data: line, stepped: true, borderColor: '#1d4ed8', borderWidth: 2.5,
      backgroundColor: 'rgba(37, 99, 235, 0.14)', fill: 'origin', pointRadius: (c) => (c.raw?.extend ? 0 : 3.5),
      pointBackgroundColor: '#1d4ed8',
    },
    {
      label: `Goal: ${amount(campaign.goal, asset)}`, data: [{ x: start, y: goal }, { x: end, y: goal }],
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
        y: { beginAtZero: true, suggestedMax: top, title: { display: true, text: amountAxisTitle(asset) } },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 18 } },
        tooltip: {
          filter: (item) => item.datasetIndex !== 2 && !item.raw.extend,
          callbacks: {
            title: (items) => (items.length ? utc(new Date(items[0].raw.x).toISOString()) : ''),
            label: (item) => (item.datasetIndex === 0
              ? `Pledged: ${exact(item.raw.total)}${item.raw.seq ? ` (entry #${item.raw.seq})` : ''}`
              : `Goal: ${exact(campaign.goal)}`),
          },
        },
      },
    },
  };
}

export function chartLabel(campaign, points, asset) {
  const pledges = points.filter((p) => p.kind === 'pledged').length;
  return `Money pledged over time: ${amount(campaign.pledged, asset)} of a ${amount(campaign.goal, asset)} goal `
    + `(${percent(campaign.pledged, campaign.goal)}%) after ${plural(pledges, 'pledge')}; the deadline is ${utc(campaign.deadline)}.`;
}
