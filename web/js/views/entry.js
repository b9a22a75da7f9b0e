// #/entry/12: one ledger entry and its proof; the head is re-derived here, in the browser, from
// the head before it and the entry's fields, so the hash chain is checked without trusting us.
import { ApiError, getJSON } from '../api.js';
import { h, fill, defs, notice, yesNo } from '../dom.js';
import { campaignLink, hex } from '../components.js';
import { amount, assetOf, isEth } from '../assets.js';
import { grouped, KIND_LABELS, trancheName, utc } from '../format.js';
import { expectedHead } from '../proof.js';
import { campaignName } from '../text.js';

/** The campaign an entry belongs to (for its asset and name), or null. */
async function campaignOf(e, signal) {
  if (!e.campaign_id) return null;
  try {
    return await getJSON(`/campaigns/${e.campaign_id}`, { signal });
  } catch {
    return null; // the amount is still shown in base units
  }
}

/** The asset of an entry without a campaign (a fee or credit withdrawal), from /stats' assets. */
async function tokenAsset(token, signal) {
  if (isEth(token)) return assetOf({ token });
  try {
    const stats = await getJSON('/stats', { signal });
    const found = stats.tokens.find((t) => assetOf(t).address?.toLowerCase() === token.toLowerCase());
    return found ? assetOf(found) : null;
  } catch {
    return null;
  }
}

function amountWords(e, asset) {
  const units = h('span', { class: 'sub' }, ` (${e.amount} base units)`);
  if (e.kind_name === 'release_requested') return `${trancheName(e.amount)} (the amount field holds the tranche\u2019s index, ${e.amount})`;
  if (e.kind_name === 'milestone_plan') return `${e.amount} tranches`;
  return h('span', {}, asset ? amount(e.amount, asset, { exact: true }) : '', units);
}

export async function render(main, ctx) {
  const seq = Number(ctx.params[0]);
  let e;
  try {
    e = await getJSON(`/ledger/${seq}`, { signal: ctx.signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      fill(main, h('h1', { tabindex: '-1' }, `Ledger entry #${seq}`),
        notice('warn', `There is no entry #${seq} in the indexed ledger yet.`));
      return `Entry #${seq}`;
    }
    throw error;
  }
  const campaign = await campaignOf(e, ctx.signal);
  const token = e.fee_token || e.token || null;
  const asset = campaign ? assetOf(campaign) : token ? await tokenAsset(token, ctx.signal) : null;
  let recomputed = null;
  let failure = null;
  try {
    recomputed = expectedHead(e, e.previous_head);
  } catch (error) {
    failure = String(error);
  }
  const matches = recomputed !== null && recomputed === e.head.toLowerCase();
  const what = KIND_LABELS[e.kind_name] || e.kind_name;

  fill(main,
    h('p', { class: 'crumbs' }, e.campaign_id ? h('a', { href: `#/campaign/${e.campaign_id}` }, `\u2190 ${campaign ? campaignName(campaign) : `Campaign #${e.campaign_id}`}`)
      : h('a', { href: '#/campaigns' }, '\u2190 All campaigns')),
    h('h1', { tabindex: '-1' }, `Ledger entry #${seq}: ${what.toLowerCase()}`),
    matches
      ? notice('good', h('strong', {}, 'The hash chain holds here. '),
        'This page re-computed keccak256 of the previous head and this entry\u2019s fields and got exactly the head the ledger records. ',
        e.final ? `The entry is final (block ${e.block_number}).` : 'The entry is still provisional: it is too recent to be final.')
      : notice('bad', h('strong', {}, 'The hash chain does NOT hold here. '),
        failure || `Re-computing the head gives ${recomputed}, not the recorded ${e.head}.`),
    h('section', { 'aria-labelledby': 'h-entry' },
      h('h2', { id: 'h-entry' }, 'The entry'),
      defs([
        ['Sequence', String(e.seq)],
        ['Kind', `${what} (kind ${e.kind})`],
        ['Campaign', e.campaign_id ? campaignLink(e.campaign_id, campaign?.title ? campaignName(campaign) : null) : 'none (a withdrawal from the escrow)'],
        ['Account', h('a', { href: `#/verify?q=${e.account}`, title: 'What this address backed and is owed' }, hex(e.account))],
        ['Amount', amountWords(e, asset)],
        e.fee !== null && e.fee !== undefined ? ['Platform fee', asset ? amount(e.fee, asset, { exact: true }) : `${e.fee} base units`] : null,
        token ? ['Asset', h('span', {}, asset ? `${asset.label} ` : '', hex(token))] : null,
        ['Detail', hex(e.detail)],
      ])),
    h('section', { 'aria-labelledby': 'h-proof' },
      h('h2', { id: 'h-proof' }, 'Proof'),
      defs([
        ['Transaction', h('span', {}, hex(e.tx_hash), ' ', h('a', { href: `#/verify?q=${e.tx_hash}` }, 'verify this transaction'))],
        ['Block', `${grouped(e.block_number)} (${utc(e.block_time)}, chain time), log index ${e.log_index}`],
        ['Block hash', hex(e.block_hash)],
        ['Finality', e.final ? 'final' : 'provisional (may still be replaced by a reorganisation)'],
        ['Previous head', hex(e.previous_head)],
        ['Head after this entry', hex(e.head)],
        ['Head re-computed here', h('span', {}, hex(recomputed || failure), ' ', yesNo(matches, 'matches', 'differs'))],
      ], { class: 'defs proof' }),
      h('p', { class: 'sub' }, 'head = keccak256(abi.encode(previous head, seq, kind, campaign id, account, amount, detail)): '
        + 'see docs/ledger-format.md. The contract stores the latest head on-chain (ledgerHead()), so a complete replay must end on it.'),
      h('p', {},
        h('a', { href: `/ledger/${seq}` }, 'This entry as JSON'),
        seq > 1 ? [' \u00b7 ', h('a', { href: `#/entry/${seq - 1}` }, `Previous entry #${seq - 1}`)] : null,
        ' \u00b7 ', h('a', { href: `#/entry/${seq + 1}` }, `Next entry #${seq + 1}`))));
  return `Entry #${seq}`;
}
