// Small pieces the views share: state badge, progress bar, hashes, addresses, amounts, outcome words.
import { h } from './dom.js';
import { amount, isEth } from './assets.js';
import {
  ABORT_CAUSES, duration, formatUnits, percent, percentNumber, plural, shortHex, STATE_LABELS,
  UNSUCCESSFUL_STATES,
} from './format.js';

export function stateBadge(state) {
  return h('span', { class: `badge state-${state}` }, STATE_LABELS[state] || 'Unknown state');
}

/**
 * A progress bar toward the goal; the text alternative says the same in words. Green only for a
 * campaign that reached its goal and did not end badly: after a failure, a cancellation, an abort
 * or an expiry it is grey, whatever share of the goal was pledged.
 */
export function progressBar(campaign, asset, { large = false } = {}) {
  const pct = percent(campaign.pledged, campaign.goal);
  const width = Math.min(100, percentNumber(campaign.pledged, campaign.goal));
  const ended = UNSUCCESSFUL_STATES.has(campaign.state);
  const words = `${pct}% of the goal: ${amount(campaign.pledged, asset)} of ${amount(campaign.goal, asset)}`
    + `${ended ? ` (the campaign is ${STATE_LABELS[campaign.state].toLowerCase()})` : ''}`;
  return h('div', {
    class: `progress${large ? ' large' : ''}${ended ? ' ended' : width >= 100 ? ' full' : ''}`,
    role: 'progressbar',
    'aria-valuemin': '0',
    'aria-valuemax': '100',
    'aria-valuenow': String(Math.floor(width)),
    'aria-valuetext': words,
    'aria-label': 'Progress toward the goal',
  }, h('span', { class: 'fill', style: { width: `${width}%` } }));
}

/** Where the campaign stands, in a few words: 'Ends in 2 h 5 min', or the outcome once the deadline passed. */
export function outcome(c, asset) {
  switch (c.state) {
    case 'funding':
      return c.seconds_left > 0 ? `${duration(c.seconds_left)} left` : 'Deadline reached';
    case 'succeeded':
      return c.keep_it_all ? 'Ended \u00b7 awaiting the creator\u2019s claim' : 'Goal reached \u00b7 awaiting the creator\u2019s claim';
    case 'claimed':
      return `Claimed: ${amount(c.claimed_amount, asset)} paid to the creator`;
    case 'failed':
      return 'Goal missed \u00b7 backers can refund';
    case 'cancelled':
      return 'Cancelled \u00b7 backers can refund';
    case 'expired':
      return 'Expired: the creator never claimed \u00b7 backers can refund';
    case 'in_delivery':
      return `In delivery: ${c.tranches_released} of ${plural(c.tranche_count, 'tranche')} released to the creator`;
    case 'aborted':
      return `Aborted: ${ABORT_CAUSES[c.abort_cause] || ABORT_CAUSES.failed_vote} \u00b7 backers can refund pro rata`;
    default:
      return STATE_LABELS[c.state] || 'Unknown state';
  }
}

export function assetChip(asset) {
  return h('span', {
    class: `asset ${isEth(asset.address) ? 'eth' : 'erc20'}`,
    title: isEth(asset.address) ? 'Ether' : `${asset.name || 'ERC-20 token'} ${asset.address}`,
  }, asset.label);
}

/** A hash or address in full, monospaced, wrapping anywhere. */
export function hex(value, attrs = {}) {
  return h('code', { class: 'hex', ...attrs }, value || '\u2014');
}

/** An address shortened for lists, full in the title and for screen readers. */
export function shortAddress(address) {
  return h('span', { class: 'hex short', title: address },
    h('span', { 'aria-hidden': 'true' }, shortHex(address)), h('span', { class: 'visually-hidden' }, address));
}

/** An address (shortened) linking to what it backed and is owed: the verify view of that address. */
export function addressLink(address) {
  return h('a', { href: `#/verify?q=${address}`, class: 'address-link' }, shortAddress(address));
}

/** A transaction hash shortened, full in the title and for screen readers. */
export function txHash(hash) {
  return h('span', {}, 'tx ', shortAddress(hash));
}

/**
 * A release vote's tally on one bar the width of the campaign's total: the approving weight, then
 * the rejecting weight, and a line where the quorum (a fifth of the total) is.
 */
export function tallyBar(vote, total, asset) {
  const width = (value) => `${Math.min(100, percentNumber(value, total))}%`;
  const words = `Approve: ${amount(vote.approve_weight, asset)} (${percent(vote.approve_weight, total)}% of the total). `
    + `Reject: ${amount(vote.reject_weight, asset)} (${percent(vote.reject_weight, total)}%). `
    + `Quorum: ${amount(vote.quorum, asset)} must vote (a fifth of the total): ${vote.quorum_reached ? 'reached' : 'not reached'}.`;
  return h('div', {
    class: 'tally', role: 'img', 'aria-label': words,
    'data-approve': vote.approve_weight, 'data-reject': vote.reject_weight, 'data-quorum': vote.quorum,
  },
  h('span', { class: 'tally-approve', style: { width: width(vote.approve_weight) } }),
  h('span', { class: 'tally-reject', style: { width: width(vote.reject_weight) } }),
  h('span', { class: 'tally-quorum', style: { left: width(vote.quorum) } }));
}

export function entryLink(seq) {
  return h('a', { href: `#/entry/${seq}` }, `#${seq}`);
}

/** A link to a campaign by its name ("Solar kiosk (#7)"), or "campaign #7" when it has none. */
export function campaignLink(id, name = null) {
  return h('a', { href: `#/campaign/${id}` }, name ? `${name} (#${id})` : `campaign #${id}`);
}

/** An amount by the page's rounding rule, with its exact value on hover; `exact` shows it exactly. */
export function money(value, asset, { exact = false } = {}) {
  const precise = `${formatUnits(value, { decimals: asset.decimals })} ${asset.label}`;
  const shown = amount(value, asset, { exact });
  return h('span', { class: 'amount', title: shown === precise ? null : precise, 'data-amount': String(value) }, shown);
}

export function loading(text = 'Loading\u2026') {
  return h('p', { class: 'loading' }, text);
}

/** A shell command in a dark box, with a Copy button (falls back to selecting the text). */
export function commandBox(id, label, text) {
  const code = h('code', { id }, text);
  const copied = h('span', { class: 'copied', role: 'status', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button', class: 'secondary small', 'aria-describedby': id }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(code.textContent);
      copied.textContent = 'Copied.';
    } catch {
      const range = document.createRange();
      range.selectNodeContents(code);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      copied.textContent = 'Selected: press Ctrl+C to copy.';
    }
    window.setTimeout(() => { copied.textContent = ''; }, 4000);
  });
  return h('div', { class: 'command' }, h('p', { class: 'command-label' }, label), h('pre', {}, code), h('div', { class: 'command-actions' }, copy, copied));
}
