// The verify view's answer for an address: every campaign it backed (GET /backers/{address}) with
// where its money stands (pledged, released to the creator, held for it now, refundable and why,
// its votes; checked against pledgeOf on-chain by /verify/backer/{address} when the server has a
// node), and what the escrow owes it as a creator (GET /credits/{address}). The table fits a
// phone: on a narrow screen each row becomes a block of labelled lines.
import { getAll, getJSON } from './api.js';
import { h, table } from './dom.js';
import { campaignLink, entryLink, money, stateBadge } from './components.js';
import { amount, assetOf } from './assets.js';
import { big, grouped, plural, positionLabel, positionWords, REFUND_REASONS, shortHex, trancheName } from './format.js';
import { campaignName } from './text.js';

/** A figure of the position (from /backers), else of the on-chain check (/verify/backer), else null. */
function part(row, key) {
  const value = row.position[key] ?? row.checked?.[key];
  return value === undefined || value === null ? null : value;
}

function reasonOf(row) {
  const reason = row.position.reason ?? row.checked?.reason;
  return reason ? REFUND_REASONS[reason] || null : null;
}

function campaignCell(row) {
  const c = row.campaign;
  const p = row.position;
  return h('span', { class: 'campaign-cell' }, campaignLink(c.id, c.title ? campaignName(c) : null), ' ', stateBadge(c.state),
    h('span', { class: 'line sub' }, 'entries ', entryLink(p.first_seq), p.last_seq !== p.first_seq ? ['\u2009\u2026\u2009', entryLink(p.last_seq)] : null));
}

function pledgedCell(row) {
  const p = row.position;
  const back = [['unpledged', p.unpledged_total], ['refunded', p.refunded_total]].filter(([, v]) => big(v) > 0n);
  return h('span', {}, money(p.pledged_total, row.asset),
    back.map(([words, value]) => h('span', { class: 'line sub' }, `${words} `, money(value, row.asset))));
}

function figureCell(row, key) {
  const value = part(row, key);
  if (value === null) return '\u2014';
  return money(value, row.asset);
}

function refundableCell(row) {
  const value = part(row, 'refundable');
  if (value === null) return '\u2014';
  const reason = big(value) > 0n ? reasonOf(row) : null;
  const stake = part(row, 'at_stake');
  return h('span', {}, money(value, row.asset),
    reason ? h('span', { class: 'line sub reason' }, `because ${reason}`) : null,
    stake !== null && big(stake) > 0n ? h('span', { class: 'line sub at-stake' }, 'at stake in the open vote: ', money(stake, row.asset)) : null);
}

function standingCell(row) {
  const s = row.position.status;
  const reason = row.position.reason ?? row.checked?.reason ?? null;
  return h('span', { class: `pos pos-${s}` }, h('span', { class: 'pos-label' }, positionLabel(s, reason)),
    h('span', { class: 'line sub' }, positionWords(s, reason)));
}

function votesCell(row) {
  const votes = row.checked?.votes || [];
  if (!votes.length) return '\u2014';
  return h('span', {}, votes.map((v) => h('span', { class: 'line' }, `${trancheName(v.tranche)}: ${v.approve ? 'approve' : 'reject'} (`, entryLink(v.seq), ')')));
}

function positionColumns(withVotes) {
  return [
    { label: 'Campaign', class: 'campaign', cell: campaignCell },
    { label: 'Pledged', class: 'num', cell: pledgedCell },
    { label: 'Released to the creator', class: 'num released', cell: (row) => figureCell(row, 'released') },
    { label: 'Held for you now', class: 'num held', cell: (row) => figureCell(row, 'escrowed') },
    { label: 'Refundable now', class: 'num refundable', cell: refundableCell },
    { label: 'Where it stands', class: 'standing', cell: standingCell },
    ...(withVotes ? [{ label: 'Your votes', class: 'votes', cell: votesCell }] : []),
  ];
}

/** 'A and B', 'A, B and C'. */
function listWords(items) {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Sums of one figure per asset, as words: '1.2 ETH and 500 tUSDC'. */
function totals(rows, key) {
  const sums = new Map();
  for (const row of rows) {
    const value = part(row, key);
    if (value === null || big(value) === 0n) continue;
    const id = row.asset.address || 'ETH';
    const entry = sums.get(id) || { asset: row.asset, sum: 0n };
    entry.sum += big(value);
    sums.set(id, entry);
  }
  return listWords([...sums.values()].map(({ asset, sum }) => amount(sum, asset)));
}

/** The credits of GET /credits/{address} still to withdraw. */
function creditItems(body) {
  return (body?.data || []).filter((c) => big(c.owed) > 0n);
}

/** The creator's credits (payouts the escrow could not send, kept for withdrawOwed), or null. */
function creditsSection(address, credits) {
  if (!credits.length) return null;
  return h('section', { class: 'credits', 'aria-labelledby': 'h-credits' },
    h('h3', { id: 'h-credits' }, 'Owed to this address'),
    h('p', {}, 'A payout the escrow could not send (the receiver refused it) is kept as a credit; the owner of this address '
      + 'takes it with withdrawOwed(token, to), to any address.'),
    h('ul', { class: 'credit-list' }, credits.map((c) => {
      const asset = assetOf(c);
      const withdrawn = c.withdrawn && big(c.withdrawn) > 0n ? [' (credited ', money(c.credited, asset), ', withdrawn ', money(c.withdrawn, asset), ')'] : null;
      return h('li', { 'data-asset': asset.address || 'ETH' }, h('strong', {}, money(c.owed, asset)), ' to withdraw', withdrawn);
    })));
}

export async function addressAnswer(address, signal, config) {
  const [{ items, complete }, health, checked, creditBody] = await Promise.all([
    getAll(`/backers/${address}`, { signal }),
    getJSON('/health', { signal, accept: [503] }).catch(() => null),
    config.node ? getJSON(`/verify/backer/${address}`, { signal }).catch(() => null) : null, // needs the server's node
    getJSON(`/credits/${address}`, { signal }).catch(() => null),
  ]);
  const breakdown = new Map((checked ? checked.campaigns : []).map((b) => [b.campaign_id, b]));
  const rows = items.map(({ campaign, position }) => ({ campaign, position, asset: assetOf(campaign), checked: breakdown.get(campaign.id) }));
  const credits = creditItems(creditBody);
  const upTo = health && health.indexed_block !== null ? ` up to block ${grouped(health.indexed_block)}` : '';
  const who = shortHex(address, 8, 6);
  const owed = credits.length ? ` The escrow owes it ${listWords(credits.map((c) => amount(c.owed, assetOf(c))))} as a creator.` : '';
  if (!rows.length) {
    return {
      kind: credits.length ? 'good' : 'warn', status: credits.length ? 'credits' : 'no_positions',
      words: `${who} has not backed any campaign in the ledger indexed${upTo}.${owed}`
        + (credits.length ? '' : ' If you pledged a moment ago, wait for it to be indexed, or paste the transaction hash instead.'),
      evidence: [creditsSection(address, credits)].filter(Boolean),
    };
  }
  const held = totals(rows, 'escrowed');
  const refundable = totals(rows, 'refundable');
  const words = `${who} backed ${plural(rows.length, 'campaign')}${complete ? '' : ' (showing the first ones)'} in the ledger indexed${upTo}`
    + `${held ? `; the escrow holds ${held} for it` : ''}${refundable ? `${held ? ',' : ';'} and it can refund ${refundable} now` : ''}.${owed}`;
  const withVotes = rows.some((row) => row.checked?.votes?.length);
  return {
    kind: 'good', status: 'positions', words,
    evidence: [
      table(`Campaigns backed by ${address}`, positionColumns(withVotes), rows, { class: 'data positions', stack: true }),
      h('p', { class: 'sub' }, checked
        ? `From the indexed ledger; every position ${checked.ok ? 'matches' : 'does NOT match'} pledgeOf on-chain at block ${grouped(checked.block)}. `
          + 'To check one contribution against the chain itself, paste the hash of its transaction.'
        : 'From the indexed ledger. To check one contribution against the chain itself, paste the hash of its transaction.'),
      creditsSection(address, credits),
    ].filter(Boolean),
  };
}
