// Formatting numbers (BigInt only: amounts are uint256 decimal strings), hashes, times and the
// words the page uses for states and kinds. Amounts with their asset are in assets.js.

export const ETH_TOKEN = '0x0000000000000000000000000000000000000000';

/**
 * The page's one rounding rule: an amount is shown with at most this many decimals, rounded half
 * up, with the exact figure in its tooltip. Pages that show exact figures (the audit, an entry's
 * proof) show every amount exactly.
 */
export const SHOWN_DECIMALS = 4;

const DIGITS = /^-?[0-9]+$/;

/** A decimal string (or bigint) as a BigInt; throws on anything else (no floats, ever). */
export function big(value) {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && DIGITS.test(value)) return BigInt(value);
  throw new TypeError(`not an integer amount: ${value}`);
}

function group(digits) {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 1234567 -> '1,234,567' (block numbers, counts). */
export function grouped(value) {
  return group(String(value));
}

/**
 * `value` base units in whole units of an asset with `decimals`: formatUnits('1250000', {decimals: 6}) === '1.25'.
 * maxFraction rounds (half up) to that many decimals; tiny non-zero amounts show as '<0.0001'.
 */
export function formatUnits(value, { decimals, maxFraction = null, grouping = true }) {
  if (!Number.isInteger(decimals) || decimals < 0) throw new TypeError(`decimals must be given: ${decimals}`);
  let v = big(value);
  const negative = v < 0n;
  if (negative) v = -v;
  let places = decimals;
  let scaled = v;
  if (maxFraction !== null && maxFraction < decimals) {
    places = maxFraction;
    const unit = 10n ** BigInt(decimals - maxFraction);
    scaled = (v + unit / 2n) / unit;
    if (scaled === 0n && v > 0n) return `${negative ? '>-' : '<'}0.${'0'.repeat(Math.max(0, maxFraction - 1))}1`;
  }
  const scale = 10n ** BigInt(places);
  const whole = scaled / scale;
  const fraction = places ? (scaled % scale).toString().padStart(places, '0').replace(/0+$/, '') : '';
  const text = (grouping ? group(whole.toString()) : whole.toString()) + (fraction ? `.${fraction}` : '');
  return (negative ? '-' : '') + text;
}

/** An amount as a plain JS number of whole units, for chart geometry only (never for display). */
export function chartNumber(value, decimals) {
  const v = big(value);
  const cut = decimals > 6 ? 10n ** BigInt(decimals - 6) : 1n;
  return Number(v / cut) / (decimals > 6 ? 1e6 : 10 ** decimals);
}

/** pledged / goal as a percentage with one decimal, computed exactly: '80.5'. */
export function percent(pledged, goal) {
  const g = big(goal);
  if (g === 0n) return '100';
  const tenths = (big(pledged) * 1000n) / g;
  return `${tenths / 10n}${tenths % 10n ? `.${tenths % 10n}` : ''}`;
}

export function percentNumber(pledged, goal) {
  const g = big(goal);
  if (g === 0n) return 100;
  const tenths = (big(pledged) * 1000n) / g;
  return tenths > 100000n ? 10000 : Number(tenths) / 10;
}

export function shortHex(hex, head = 6, tail = 4) {
  if (!hex || hex.length <= head + tail + 1) return hex || '';
  return `${hex.slice(0, head)}\u2026${hex.slice(-tail)}`;
}

/** '2024-05-01T12:00:00Z' -> '2024-05-01 12:00 UTC' (always with the year; times are UTC for everyone). */
export function utc(iso) {
  if (!iso) return '\u2014';
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

export function timeMs(iso) {
  return iso ? Date.parse(iso) : NaN;
}

/** 93784 -> '1 d 2 h'; 3720 -> '1 h 2 min'; 45 -> '45 s'. */
export function duration(seconds) {
  let s = Math.max(0, Math.floor(Number(seconds)));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hrs = Math.floor(s / 3600); s -= hrs * 3600;
  const min = Math.floor(s / 60); s -= min * 60;
  if (d) return `${d} d${hrs ? ` ${hrs} h` : ''}`;
  if (hrs) return `${hrs} h${min ? ` ${min} min` : ''}`;
  if (min) return `${min} min`;
  return `${s} s`;
}

export function plural(n, one, many = `${one}s`) {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** fee in basis points -> '2.5%'. */
export function bps(value) {
  const n = Number(value);
  return `${(n / 100).toFixed(2).replace(/\.?0+$/, '')}%`;
}

/** A tranche as people count it: the API's tranche 0 is "tranche 1". */
export function trancheName(index) {
  return `tranche ${Number(index) + 1}`;
}

export const STATE_LABELS = {
  funding: 'Funding',
  succeeded: 'Succeeded',
  claimed: 'Claimed',
  failed: 'Failed',
  cancelled: 'Cancelled',
  in_delivery: 'In delivery',
  aborted: 'Aborted',
  expired: 'Expired',
};

/** States in which the campaign takes no more pledges and pays no one but refunding backers. */
export const CLOSED_STATES = new Set(['claimed', 'failed', 'cancelled', 'aborted', 'expired']);
/** States in which backers take their money back: the progress bar is not a success there. */
export const UNSUCCESSFUL_STATES = new Set(['failed', 'cancelled', 'aborted', 'expired']);

/** Why a milestone campaign was aborted (the API's abort_cause). */
export const ABORT_CAUSES = {
  failed_vote: 'a release vote failed',
  silence: 'the creator went silent (no release vote for over 180 days)',
};

export const KIND_LABELS = {
  campaign_created: 'Campaign created',
  pledged: 'Pledge',
  unpledged: 'Unpledge',
  cancelled: 'Cancelled',
  claimed: 'Claim',
  refunded: 'Refund',
  fees_withdrawn: 'Fees withdrawn',
  milestone_plan: 'Milestone plan',
  release_requested: 'Release requested',
  voted: 'Vote',
  tranche_released: 'Tranche released',
  aborted: 'Aborted',
  disclosed: 'Disclosure',
  payout_deferred: 'Payout credited',
  owed_withdrawn: 'Credit withdrawn',
  stale_aborted: 'Aborted (creator silent)',
  unknown: 'Unknown',
};

/** A position's status in a word or two (the table cells). */
export const POSITION_LABELS = {
  escrowed: 'Escrowed',
  refundable: 'Refundable',
  refunded: 'Refunded',
  released: 'Released',
  withdrawn: 'Withdrawn',
  in_delivery: 'In delivery',
  refundable_after_abort: 'Refundable after the abort',
};

/** Where a backer's money stands, in a sentence (ledger/status.py's words). */
export const POSITION_WORDS = {
  escrowed: 'The escrow holds it until the creator claims a successful campaign, or you refund a failed one.',
  refundable: 'You can take it back (refund) at any time.',
  refunded: 'It was paid back to you.',
  released: 'The campaign succeeded and the creator claimed it, so it went to the creator (minus the platform fee).',
  withdrawn: 'You unpledged it before the deadline.',
  in_delivery: 'The creator is paid in tranches; the part not released yet stays in the escrow until backers approve the next tranche.',
  refundable_after_abort: 'The campaign was aborted, so you can take back your share of what was not released.',
};

const PRO_RATA = new Set(['failed_vote', 'silence']);

/** A position's status in a word or two; a refund after an abort is "Refundable after the abort". */
export function positionLabel(status, reason = null) {
  if (status === 'refundable' && PRO_RATA.has(reason)) return POSITION_LABELS.refundable_after_abort;
  return POSITION_LABELS[status] || 'Unknown';
}

/** Where a backer's money stands, in a sentence, for its status and refund reason. */
export function positionWords(status, reason = null) {
  if (status === 'refundable' && PRO_RATA.has(reason)) return POSITION_WORDS.refundable_after_abort;
  return POSITION_WORDS[status] || '';
}

/** Why a position is refundable (the API's `reason`). */
export const REFUND_REASONS = {
  failed: 'the goal was missed',
  cancelled: 'the creator cancelled the campaign',
  expired: 'the creator never claimed the funds within 180 days of the deadline',
  failed_vote: 'a release vote failed',
  silence: 'the creator went silent for more than 180 days',
};
