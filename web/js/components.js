// Small pieces the views share: state badge, progress bar, hashes, amounts, outcome words.
import { h } from './dom.js';
import {
  amount, assetName, duration, formatUnits, isEth, percent, percentNumber, shortHex, STATE_LABELS, unit,
} from './format.js';

export function stateBadge(state) {
  return h('span', { class: `badge state-${state}` }, STATE_LABELS[state] || state);
}

/** A progress bar toward the goal; the text alternative says the same in words. */
export function progressBar(campaign, { large = false } = {}) {
  const pct = percent(campaign.pledged, campaign.goal);
  const width = Math.min(100, percentNumber(campaign.pledged, campaign.goal));
  const words = `${pct}% of the goal: ${amount(campaign.pledged, campaign.token)} of ${amount(campaign.goal, campaign.token)}`;
  return h('div', {
    class: `progress${large ? ' large' : ''}${width >= 100 ? ' full' : ''}`,
    role: 'progressbar',
    'aria-valuemin': '0',
    'aria-valuemax': '100',
    'aria-valuenow': String(Math.floor(width)),
    'aria-valuetext': words,
    'aria-label': 'Progress toward the goal',
  }, h('span', { class: 'fill', style: { width: `${width}%` } }));
}

/** 'Ends in 2 h 5 min', or the outcome once the deadline passed. */
export function outcome(c) {
  switch (c.state) {
    case 'funding':
      return c.seconds_left > 0 ? `${duration(c.seconds_left)} left` : 'Deadline reached';
    case 'succeeded':
      return c.keep_it_all ? 'Ended \u00b7 awaiting the creator\u2019s claim' : 'Goal reached \u00b7 awaiting the creator\u2019s claim';
    case 'claimed':
      return `Claimed: ${amount(c.claimed_amount, c.token)} paid to the creator`;
    case 'failed':
      return 'Goal missed \u00b7 backers can refund';
    case 'cancelled':
      return 'Cancelled \u00b7 backers can refund';
    default:
      return c.state;
  }
}

export function assetChip(token) {
  return h('span', { class: `asset ${isEth(token) ? 'eth' : 'erc20'}`, title: isEth(token) ? 'Ether' : `ERC-20 token ${token}` },
    assetName(token));
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

export function entryLink(seq) {
  return h('a', { href: `#/entry/${seq}` }, `#${seq}`);
}

export function campaignLink(id) {
  return h('a', { href: `#/campaign/${id}` }, `campaign #${id}`);
}

/** An amount with its exact value on hover and in the accessible name. */
export function money(value, token, opts = {}) {
  const exact = `${formatUnits(value)} ${unit(token)}`;
  const shown = amount(value, token, opts);
  return h('span', { class: 'amount', title: shown === exact ? null : exact }, shown);
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
