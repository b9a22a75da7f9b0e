// Chart.js (served locally at /vendor/chart.umd.min.js) with the page's colours; no animation,
// so a chart is complete as soon as it is drawn (and nothing moves for people who get dizzy).

export const STATE_COLORS = {
  funding: '#2563eb',
  succeeded: '#15803d',
  claimed: '#7c3aed',
  failed: '#dc2626',
  cancelled: '#6b7280',
  in_delivery: '#0f766e',
  aborted: '#b45309',
  expired: '#9a3412',
};
export const SERIES = ['#1d4ed8', '#b45309', '#15803d', '#7c3aed', '#be123c', '#0f766e'];

export function chartLib() {
  const lib = window.Chart;
  if (!lib) return null;
  if (!lib.__crowdledger) {
    lib.defaults.animation = false;
    lib.defaults.font.family = getComputedStyle(document.body).fontFamily;
    lib.defaults.font.size = 13;
    lib.defaults.color = '#1f2937';
    lib.defaults.borderColor = '#d1d5db';
    lib.defaults.maintainAspectRatio = false;
    lib.__crowdledger = true;
  }
  return lib;
}

/** A chart on `canvas`, or null (with a note in `fallback`) when Chart.js is not available. */
export function makeChart(canvas, config, fallback) {
  const Chart = chartLib();
  if (!Chart) {
    if (fallback) fallback.textContent = 'The chart library did not load; the same numbers are in the table below.';
    return null;
  }
  return new Chart(canvas, config);
}

/**
 * A time axis label in UTC from epoch milliseconds, always with the date and its year: two lines,
 * 'YYYY-MM-DD' over 'HH:MM' ('minutes') or 'HH:MM:SS' ('seconds', for short spans).
 */
export function shortTime(ms, precision = 'minutes') {
  const iso = new Date(ms).toISOString();
  return [iso.slice(0, 10), precision === 'seconds' ? iso.slice(11, 19) : iso.slice(11, 16)];
}

/** An amount axis's title: the asset's symbol, and a warning when its decimals are assumed. */
export function amountAxisTitle(asset) {
  return asset.assumed ? `${asset.label} (decimals unknown: 18 assumed)` : asset.label;
}
