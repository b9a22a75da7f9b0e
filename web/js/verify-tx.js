// The verify view's answer for a transaction hash (GET /verify/tx/{hash}): one plain sentence per
// ledger entry it made ("Your pledge of 0.25 ETH to Solar kiosk (campaign 7) is in block 1,234,
// final for 50 blocks, as ledger entry 12, and its head follows from the one before."), a sentence
// on where that money stands now, and the evidence underneath.
import { ApiError, getAll, getJSON } from './api.js';
import { h, defs, yesNo } from './dom.js';
import { campaignLink, entryLink, hex, money, stateBadge } from './components.js';
import { amount, assetOf } from './assets.js';
import {
  big, grouped, KIND_LABELS, plural, REFUND_REASONS, shortHex, STATE_LABELS, trancheName,
} from './format.js';
import { campaignName } from './text.js';

const KIND_BY_NUMBER = ['unknown', 'campaign_created', 'pledged', 'unpledged', 'cancelled', 'claimed', 'refunded', 'fees_withdrawn',
  'milestone_plan', 'release_requested', 'voted', 'tranche_released', 'aborted', 'disclosed', 'payout_deferred', 'owed_withdrawn',
  'stale_aborted'];
const BACKER_KINDS = new Set(['pledged', 'unpledged', 'refunded', 'voted']);

/** "to Solar kiosk (campaign 7)" or "to campaign 7". */
function campaignWords(preposition, e, c) {
  const name = c && c.title ? `${campaignName(c)} (campaign ${e.campaign_id})` : `campaign ${e.campaign_id}`;
  return `${preposition} ${name}`;
}

/** What the entry did, as the subject of the sentence: "Your pledge of 0.25 ETH to campaign 7". */
function subject(e, c, asset) {
  const sum = asset ? ` of ${amount(e.amount, asset)}` : '';
  switch (e.kindKey) {
    case 'pledged': return `Your pledge${sum} ${campaignWords('to', e, c)}`;
    case 'unpledged': return `Your unpledge${sum} ${campaignWords('from', e, c)}`;
    case 'refunded': return `Your refund${sum} ${campaignWords('from', e, c)}`;
    case 'voted': return `Your vote ${campaignWords('in', e, c)}${asset ? `, weighing ${amount(e.amount, asset)},` : ''}`;
    case 'campaign_created': return `The creation of ${campaignWords('', e, c).trim()}${c && asset ? ` with a goal of ${amount(c.goal, asset)}` : ''}`;
    case 'cancelled': return `The cancellation of ${campaignWords('', e, c).trim()}`;
    case 'claimed': return `The creator\u2019s claim${sum} ${campaignWords('from', e, c)}`;
    case 'milestone_plan': return `The milestone plan of ${campaignWords('', e, c).trim()}`;
    case 'release_requested': return `The request to release ${trancheName(e.amount)} ${campaignWords('of', e, c)}`;
    case 'tranche_released': return `The release${sum} to the creator ${campaignWords('from', e, c)}`;
    case 'aborted': case 'stale_aborted': return `The abort of ${campaignWords('', e, c).trim()}`;
    case 'disclosed': return `The disclosure ${campaignWords('for', e, c)}`;
    case 'payout_deferred': return `The payout${sum} ${campaignWords('from', e, c)}, credited to the creator because the transfer failed,`;
    case 'owed_withdrawn': return `The withdrawal of a credit${sum}`;
    case 'fees_withdrawn': return `The withdrawal of platform fees${sum}`;
    default: return `A ledger entry of kind ${e.kind}`;
  }
}

function finality(v, depth) {
  if (v.final) {
    if (depth === null || depth === undefined) return `final (${plural(v.confirmations, 'confirmation')})`;
    return `final for ${plural(Math.max(1, v.confirmations - depth), 'block')}`;
  }
  const needed = depth === null || depth === undefined ? '' : ` of the ${depth + 1} needed`;
  return `still provisional (${plural(v.confirmations, 'confirmation')}${needed}), so a chain reorganisation could still undo it`;
}

function headWords(e) {
  if (e.head_matches === false) return 'but its head does NOT follow from the one before';
  if (e.head_matches === null) return 'and its head could not be checked yet (the ledger is not indexed that far)';
  return 'and its head follows from the one before';
}

/** Where a backer's money in the campaign stands now, in one sentence. */
function standing(p, asset) {
  const held = amount(p.balance, asset);
  const reason = p.reason ? REFUND_REASONS[p.reason] : null;
  switch (p.status) {
    case 'escrowed': return `The escrow holds your ${held} until the creator claims a successful campaign or you refund a failed one.`;
    case 'refundable':
      if (p.reason === 'failed_vote' || p.reason === 'silence') {
        return `The campaign was aborted because ${reason}, so you can take back your share of what was not released.`;
      }
      return `You can take back your ${held} now${reason ? ` because ${reason}` : ''}.`;
    case 'refunded': {
      const released = p.released && big(p.released) > 0n ? `, after ${amount(p.released, asset)} of it had been released to the creator` : '';
      return `You were refunded ${amount(p.refunded_total, asset)}${released}.`;
    }
    case 'released': return `Your ${held} went to the creator, who claimed the campaign.`;
    case 'withdrawn': return 'You unpledged all of it before the deadline.';
    case 'in_delivery': return `Your ${held} is paid to the creator in tranches, each after backers approve it.`;
    default: return '';
  }
}

async function campaignsOf(entries, signal) {
  const campaigns = new Map();
  for (const e of entries) {
    if (e.campaign_id && !campaigns.has(e.campaign_id)) {
      campaigns.set(e.campaign_id, await getJSON(`/campaigns/${e.campaign_id}`, { signal }).catch(() => null));
    }
  }
  return campaigns;
}

async function positionsOf(entries, signal) {
  const positions = new Map();
  for (const e of entries) {
    if (!BACKER_KINDS.has(e.kindKey) || positions.has(e.account.toLowerCase())) continue;
    const { items } = await getAll(`/backers/${e.account}`, { signal }).catch(() => ({ items: [] }));
    positions.set(e.account.toLowerCase(), new Map(items.map((b) => [b.campaign.id, b.position])));
  }
  return positions;
}

function entryEvidence(e, c, asset) {
  return h('section', { class: 'entry-check', 'aria-label': `Ledger entry ${e.seq}` },
    h('h3', {}, 'Ledger entry ', entryLink(e.seq), ` \u2014 ${KIND_LABELS[e.kindKey] || KIND_LABELS.unknown}`),
    defs([
      ['Campaign', e.campaign_id ? h('span', {}, campaignLink(e.campaign_id, c && c.title ? campaignName(c) : null), ' ', c ? stateBadge(c.state) : null) : 'none'],
      ['Account', h('a', { href: `#/verify?q=${e.account}` }, hex(e.account))],
      ['Amount', asset ? h('span', {}, money(e.amount, asset), h('span', { class: 'sub' }, ` (${e.amount} base units)`)) : `${e.amount} base units`],
      ['Previous head', hex(e.previous_head)],
      ['Head', hex(e.head)],
      ['Head follows from the previous head', yesNo(e.head_matches, 'yes', 'NO')],
      ['In the indexed ledger', yesNo(e.in_database, 'yes', 'not yet')],
      ['Indexed copy matches the chain', yesNo(e.database_matches, 'yes', 'NO')],
      ['Proof', h('span', {}, h('a', { href: `#/entry/${e.seq}` }, `entry #${e.seq} and its hash chain`), ' \u00b7 ', h('a', { href: `/ledger/${e.seq}` }, 'JSON'))],
    ]));
}

export async function txAnswer(hash, signal, config) {
  let v;
  try {
    v = await getJSON(`/verify/tx/${hash}`, { signal });
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.detail === 'Not Found') {
      throw new ApiError(404, 'This server cannot verify transactions yet (it has no /verify/tx route). Use the command below with your own node.');
    }
    if (error instanceof ApiError && error.status === 404) {
      return {
        kind: 'warn', status: 'not_found',
        words: `Not found: no transaction with the hash ${shortHex(hash, 10, 8)} exists on this chain${config.chain_id ? ` (chain id ${config.chain_id})` : ''}. `
          + 'Check that you copied the whole hash and sent it on this network; a transaction your wallet has not broadcast yet cannot be found either.',
        evidence: [defs([['Asked for', hex(hash)], ['The server said', error.detail]])],
      };
    }
    throw error;
  }
  const base = [
    ['Transaction', hex(v.tx_hash)],
    ['Outcome', v.status],
    v.block_number !== null ? ['Block', grouped(v.block_number)] : null,
    v.block_hash ? ['Block hash', hex(v.block_hash)] : null,
    v.confirmations !== null ? ['Confirmations', `${v.confirmations}${config.finality_depth !== null ? ` (final after ${config.finality_depth + 1})` : ''}`] : null,
    v.final !== null ? ['Final', yesNo(v.final, 'final', 'provisional')] : null,
    v.to ? ['Sent to', hex(v.to)] : null,
    ['The server\u2019s verdict', v.verdict],
  ];
  if (v.status === 'pending') {
    return { kind: 'warn', status: 'pending', words: 'This transaction has not been mined yet, so it has not moved any money; check again in a minute.', evidence: [defs(base)] };
  }
  if (v.status === 'reverted') {
    return {
      kind: 'bad', status: 'reverted',
      words: `This transaction failed (it reverted) in block ${grouped(v.block_number)}: it moved no money and the ledger has no entry for it, and only its gas fee was spent.`,
      evidence: [defs(base)],
    };
  }
  if (!v.entries.length) {
    return { kind: 'warn', status: 'no_entry', words: v.verdict, evidence: [defs(base)] };
  }
  for (const e of v.entries) e.kindKey = KIND_BY_NUMBER[e.kind] || 'unknown'; // verify's kind_name is prose; the number is the key
  const campaigns = await campaignsOf(v.entries, signal);
  const positions = await positionsOf(v.entries, signal);
  const sentences = [];
  for (const e of v.entries) {
    const c = campaigns.get(e.campaign_id);
    const asset = c ? assetOf(c) : null;
    let sentence = `${subject(e, c, asset)} is in block ${grouped(v.block_number)}, ${finality(v, config.finality_depth)}, as ledger entry ${e.seq}, ${headWords(e)}.`;
    if (e.in_database === false) sentence += ' The indexer has not stored it yet.';
    if (e.database_matches === false) sentence += ' WARNING: the indexed database holds a different entry for this seq.';
    const position = positions.get(e.account.toLowerCase())?.get(e.campaign_id);
    if (position && asset) sentence += ` ${standing(position, asset)}`;
    else if (c && ['claimed', 'cancelled', 'campaign_created'].includes(e.kindKey)) sentence += ` The campaign is ${(STATE_LABELS[c.state] || 'in an unknown state').toLowerCase()} now.`;
    sentences.push(sentence);
  }
  const allMatch = v.entries.every((e) => e.head_matches === true && e.database_matches !== false);
  const kind = !v.ok || !allMatch ? 'bad' : v.final ? 'good' : 'warn';
  const evidence = v.entries.map((e) => {
    const c = campaigns.get(e.campaign_id);
    return entryEvidence(e, c, c ? assetOf(c) : null);
  });
  const problems = v.problems.length ? [h('h3', {}, 'Problems'), h('ul', {}, v.problems.map((p) => h('li', {}, p)))] : [];
  return { kind, status: v.status, words: sentences.join(' '), evidence: [defs(base), ...problems, ...evidence] };
}
