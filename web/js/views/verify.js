// #/verify?q=...: paste a transaction hash or an address; the answer in plain words (announced
// to screen readers), the evidence underneath.
import { ApiError, getAll, getJSON, siteConfig } from '../api.js';
import { h, fill, defs, notice, table, yesNo } from '../dom.js';
import { campaignLink, commandBox, entryLink, hex, money, stateBadge } from '../components.js';
import { amount, assetName, big, KIND_LABELS, plural, POSITION_WORDS, shortHex } from '../format.js';
import { replaceQuery } from '../nav.js';

const TX = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const KIND_NOUN = {
  campaign_created: 'creation', pledged: 'pledge', unpledged: 'unpledge', cancelled: 'cancellation',
  claimed: 'claim', refunded: 'refund', fees_withdrawn: 'fee withdrawal', milestone_plan: 'milestone plan',
  release_requested: 'release request', voted: 'vote', tranche_released: 'tranche release', aborted: 'abort',
  disclosed: 'disclosure',
};
const NO_SUM = ['cancelled', 'campaign_created', 'milestone_plan', 'release_requested', 'disclosed']; // amounts that are not money
const KIND_BY_NUMBER = ['unknown', 'campaign_created', 'pledged', 'unpledged', 'cancelled', 'claimed', 'refunded', 'fees_withdrawn',
  'milestone_plan', 'release_requested', 'voted', 'tranche_released', 'aborted', 'disclosed'];

function finality(v, depth) {
  if (v.final) {
    if (depth === null || depth === undefined) return `final (${plural(v.confirmations, 'confirmation')})`;
    const since = v.confirmations - depth;
    return `final since ${plural(since, 'block')}`;
  }
  const needed = depth === null || depth === undefined ? '' : ` of the ${depth + 1} needed`;
  return `still provisional (${plural(v.confirmations, 'confirmation')}${needed}): a chain reorganisation could still undo it, so check again in a minute`;
}

function headWords(entries) {
  if (entries.some((e) => e.head_matches === false)) return 'its head does NOT follow from the previous head';
  if (entries.some((e) => e.head_matches === null)) return 'its head could not be checked yet (the ledger is not indexed that far)';
  return entries.length > 1 ? 'their heads match the chain' : 'its head matches the chain';
}

function standing(position, token) {
  const s = position.status;
  const held = position.balance;
  if (s === 'refunded') return `Now: ${amount(position.refunded_total, token)} was refunded: paid back to you.`;
  if (s === 'withdrawn') return `Now: nothing is left in it; ${POSITION_WORDS.withdrawn.replace('withdrawn: ', '')}.`;
  return `Now: ${amount(held, token)} ${s === 'released' ? 'was' : 'is'} ${POSITION_WORDS[s]}.`;
}

async function txAnswer(hash, signal, config) {
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
          + 'Check that you copied the whole hash, and that you sent it on this network. A transaction your wallet has not broadcast yet cannot be found either.',
        evidence: [defs([['Asked for', hex(hash)], ['The server said', error.detail]])],
      };
    }
    throw error;
  }
  const base = [
    ['Transaction', hex(v.tx_hash)],
    ['Outcome', v.status],
    v.block_number !== null ? ['Block', `${v.block_number}`] : null,
    v.block_hash ? ['Block hash', hex(v.block_hash)] : null,
    v.confirmations !== null ? ['Confirmations', `${v.confirmations}${config.finality_depth !== null ? ` (final after ${config.finality_depth + 1})` : ''}`] : null,
    v.final !== null ? ['Final', yesNo(v.final, 'final', 'provisional')] : null,
    v.to ? ['Sent to', hex(v.to)] : null,
    ['The server\u2019s verdict', v.verdict],
  ];
  if (v.status === 'pending') {
    return { kind: 'warn', status: 'pending', words: 'Still waiting: this transaction has not been mined yet, so it has not moved any money. Check again in a minute.', evidence: [defs(base)] };
  }
  if (v.status === 'reverted') {
    return {
      kind: 'bad', status: 'reverted',
      words: `This transaction failed (it reverted) in block ${v.block_number}: it moved no money and the ledger has no entry for it. Only its gas fee was spent.`,
      evidence: [defs(base)],
    };
  }
  if (!v.entries.length) {
    return { kind: 'warn', status: 'no_entry', words: v.verdict, evidence: [defs(base)] };
  }

  // what each entry means for the people in it: the campaign's asset and the backer's position now
  const campaigns = new Map();
  const positions = new Map();
  for (const e of v.entries) {
    if (e.campaign_id && !campaigns.has(e.campaign_id)) {
      campaigns.set(e.campaign_id, await getJSON(`/campaigns/${e.campaign_id}`, { signal }).catch(() => null));
    }
    const kind = KIND_BY_NUMBER[e.kind] || 'unknown'; // verify's kind_name is prose ('pledge'); the number is the key
    e.kindKey = kind;
    if (['pledged', 'unpledged', 'refunded'].includes(kind) && !positions.has(e.account.toLowerCase())) {
      const { items } = await getAll(`/backers/${e.account}`, { signal }).catch(() => ({ items: [] }));
      positions.set(e.account.toLowerCase(), new Map(items.map((b) => [b.campaign.id, b.position])));
    }
  }
  const sentences = [];
  for (const e of v.entries) {
    const c = campaigns.get(e.campaign_id);
    const token = c ? c.token : null;
    const noun = KIND_NOUN[e.kindKey] || `kind ${e.kind}`;
    const sum = NO_SUM.includes(e.kindKey) || token === null ? '' : ` of ${amount(e.amount, token, { maxFraction: 6 })}`;
    const goal = e.kindKey === 'campaign_created' && c ? ` with a goal of ${amount(c.goal, c.token)}` : '';
    const where = !e.campaign_id ? '' : e.kindKey === 'campaign_created' ? ` of campaign #${e.campaign_id}`
      : ` ${e.kindKey === 'pledged' ? 'to' : 'in'} campaign #${e.campaign_id}`;
    const who = ['pledged', 'unpledged', 'refunded'].includes(e.kindKey) ? 'Your' : 'The';
    let sentence = `${who} ${noun}${sum}${where}${goal} is in block ${v.block_number}, ${finality(v, config.finality_depth)}, as ledger entry #${e.seq}; ${headWords([e])}.`;
    if (e.in_database === false) sentence += ' The indexer has not stored it yet.';
    if (e.database_matches === false) sentence += ' WARNING: the indexed database holds a different entry for this seq.';
    const position = positions.get(e.account.toLowerCase())?.get(e.campaign_id);
    if (position && token !== null) sentence += ` ${standing(position, token)}`;
    else if (c && ['claimed', 'cancelled', 'campaign_created'].includes(e.kindKey)) sentence += ` The campaign is now ${c.state}.`;
    sentences.push(sentence);
  }
  const allMatch = v.entries.every((e) => e.head_matches === true && e.database_matches !== false);
  const kind = !v.ok || !allMatch ? 'bad' : v.final ? 'good' : 'warn';
  const entryBlocks = v.entries.map((e) => {
    const c = campaigns.get(e.campaign_id);
    return h('section', { class: 'entry-check', 'aria-label': `Ledger entry ${e.seq}` },
      h('h3', {}, 'Ledger entry ', entryLink(e.seq), ` \u2014 ${KIND_LABELS[e.kindKey] || e.kind_name}`),
      defs([
        ['Campaign', e.campaign_id ? h('span', {}, campaignLink(e.campaign_id), ' ', c ? stateBadge(c.state) : null) : 'none'],
        ['Account', hex(e.account)],
        ['Amount', c ? h('span', {}, money(e.amount, c.token, { exact: true }), h('span', { class: 'sub' }, ` ${e.amount} base units`)) : `${e.amount} base units`],
        ['Previous head', hex(e.previous_head)],
        ['Head', hex(e.head)],
        ['Head follows from the previous head', yesNo(e.head_matches, 'yes', 'NO')],
        ['In the indexed ledger', yesNo(e.in_database, 'yes', 'not yet')],
        ['Indexed copy matches the chain', yesNo(e.database_matches, 'yes', 'NO')],
        ['Proof', h('span', {}, h('a', { href: `#/entry/${e.seq}` }, `entry #${e.seq} and its hash chain`), ' \u00b7 ', h('a', { href: `/ledger/${e.seq}` }, 'JSON'))],
      ]));
  });
  const problems = v.problems.length ? [h('h3', {}, 'Problems'), h('ul', {}, v.problems.map((p) => h('li', {}, p)))] : [];
  return { kind, status: v.status, words: sentences.join(' '), evidence: [defs(base), ...problems, ...entryBlocks] };
}

/**
 * Where the money of a position in a milestone campaign stands, from /verify/backer (`b`: one of
 * its campaigns): released to the creator, at stake in the open vote, or refundable after an abort.
 */
function deliveryWords(c, p, b) {
  if (p.status === 'in_delivery') {
    const stake = big(b.at_stake) > 0n ? `, ${amount(b.at_stake, c.token)} of it at stake in the open release vote` : '';
    return `campaign #${c.id}: ${amount(p.balance, c.token)} in delivery (${amount(b.released, c.token)} released to the creator, `
      + `${amount(b.escrowed, c.token)} still in the escrow${stake})`;
  }
  return `campaign #${c.id}: ${amount(b.refundable, c.token)} refundable after the abort `
    + `(${amount(b.released, c.token)} of your ${amount(p.balance, c.token)} was released to the creator before it)`;
}

/** The non-zero parts of a position (from /verify/backer): released, at stake in the open vote, refundable. */
function moneyNow(b, token) {
  const parts = [['released', 'released', b?.released], ['at-stake', 'at stake in the vote', b?.at_stake], ['refundable', 'refundable', b?.refundable]]
    .filter(([, , value]) => value !== undefined && big(value) > 0n);
  if (!parts.length) return '\u2014';
  return parts.map(([key, words, value]) => h('span', { class: `part ${key}` }, `${words} `, money(value, token)));
}

function votesCell(b) {
  if (!b || !b.votes.length) return '\u2014';
  return h('span', {}, b.votes.map((v, i) => [i ? ', ' : '', `tranche ${v.tranche}: ${v.approve ? 'approve' : 'reject'} (`, entryLink(v.seq), ')']));
}

async function addressAnswer(address, signal, config) {
  const [{ items, complete }, health, checked] = await Promise.all([
    getAll(`/backers/${address}`, { signal }),
    getJSON('/health', { signal, accept: [503] }).catch(() => null),
    config.node ? getJSON(`/verify/backer/${address}`, { signal }).catch(() => null) : null, // needs the server's node
  ]);
  const breakdown = new Map((checked ? checked.campaigns : []).map((b) => [b.campaign_id, b]));
  const upTo = health && health.indexed_block !== null ? ` (up to block ${health.indexed_block})` : '';
  if (!items.length) {
    return {
      kind: 'warn', status: 'no_positions',
      words: `${shortHex(address, 8, 6)} has not backed any campaign in the indexed ledger${upTo}. If you pledged a moment ago, wait for it to be indexed, or paste the transaction hash instead.`,
      evidence: [],
    };
  }
  const parts = items.map(({ campaign: c, position: p }) => {
    const b = breakdown.get(c.id);
    if (b && (p.status === 'in_delivery' || p.status === 'refundable_after_abort')) return deliveryWords(c, p, b);
    if (p.status === 'refunded') return `campaign #${c.id}: ${amount(p.refunded_total, c.token)} refunded to you`;
    if (p.status === 'withdrawn') return `campaign #${c.id}: withdrawn (you unpledged all of it)`;
    return `campaign #${c.id}: ${amount(p.balance, c.token)} ${p.status}`;
  });
  const words = `${shortHex(address, 8, 6)} backed ${plural(items.length, 'campaign')}${complete ? '' : ' (showing the first ones)'}${upTo}. `
    + `${parts.join('; ')}.`;
  const columns = [
    { label: 'Campaign', cell: ({ campaign: c }) => h('a', { href: `#/campaign/${c.id}` }, `#${c.id}`) },
    { label: 'State', cell: ({ campaign: c }) => stateBadge(c.state) },
    { label: 'Asset', cell: ({ campaign: c }) => assetName(c.token) },
    { label: 'Pledged', class: 'num', cell: ({ campaign: c, position: p }) => money(p.pledged_total, c.token) },
    { label: 'Unpledged', class: 'num', cell: ({ campaign: c, position: p }) => money(p.unpledged_total, c.token) },
    { label: 'Refunded', class: 'num', cell: ({ campaign: c, position: p }) => money(p.refunded_total, c.token) },
    { label: 'Held now', class: 'num', cell: ({ campaign: c, position: p }) => money(p.balance, c.token) },
    ...(checked ? [{ label: 'Released \u00b7 at stake \u00b7 refundable', class: 'money-now', cell: ({ campaign: c }) => moneyNow(breakdown.get(c.id), c.token) }] : []),
    ...(checked?.campaigns.some((b) => b.votes.length) ? [{ label: 'Your votes', class: 'votes', cell: ({ campaign: c }) => votesCell(breakdown.get(c.id)) }] : []),
    { label: 'Where it stands', class: 'standing', cell: ({ position: p }) => h('span', { class: `pos pos-${p.status}` }, POSITION_WORDS[p.status] || p.status) },
    { label: 'Entries', cell: ({ position: p }) => h('span', {}, entryLink(p.first_seq), p.last_seq !== p.first_seq ? [' \u2026 ', entryLink(p.last_seq)] : null) },
  ];
  return {
    kind: 'good', status: 'positions', words,
    evidence: [table(`Campaigns backed by ${address}`, columns, items, { class: 'data positions' }),
      h('p', { class: 'sub' }, checked
        ? `From the indexed ledger; every position ${checked.ok ? 'matches' : 'does NOT match'} pledgeOf on-chain at block ${checked.block}. `
          + 'To check one contribution against the chain itself, paste the hash of its transaction.'
        : 'From the indexed ledger. To check one contribution against the chain itself, paste the hash of its transaction.')],
  };
}

export async function render(main, ctx) {
  const initial = (ctx.query.get('q') || '').trim();
  const input = h('input', {
    id: 'verify-q', name: 'q', type: 'text', value: initial, autocomplete: 'off', spellcheck: 'false', autocapitalize: 'off',
    required: true, 'aria-describedby': 'verify-hint verify-error', placeholder: '0x\u2026',
  });
  const error = h('p', { id: 'verify-error', class: 'field-error' });
  const verdict = h('div', { id: 'verdict', class: 'verdict', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const evidence = h('div', { id: 'evidence' });
  const button = h('button', { type: 'submit' }, 'Verify');
  const form = h('form', { class: 'verify-form', novalidate: true },
    h('label', { for: 'verify-q' }, 'Transaction hash or address'),
    h('div', { class: 'input-row' }, input, button),
    h('p', { id: 'verify-hint', class: 'hint' }, 'A transaction hash is 0x and 64 hex digits (your wallet shows it after you pledge). '
      + 'An address is 0x and 40 hex digits: it lists every campaign it backed.'),
    error);
  const command = h('div', { class: 'check-yourself' });

  fill(main,
    h('h1', { tabindex: '-1' }, 'Verify my contribution'),
    h('p', { class: 'lede' }, 'Is my money where it should be? The answer is checked against the chain\u2019s own records: '
      + 'the transaction\u2019s receipt, its ledger entries and their place in the hash chain.'),
    form, verdict, evidence, command);

  const config = await siteConfig();
  let running = 0;

  async function run(q) {
    const mine = ++running;
    error.textContent = '';
    input.removeAttribute('aria-invalid');
    if (!TX.test(q) && !ADDRESS.test(q)) {
      input.setAttribute('aria-invalid', 'true');
      error.textContent = q
        ? 'That is neither a transaction hash (0x and 64 hex digits) nor an address (0x and 40 hex digits).'
        : 'Paste a transaction hash or an address.';
      fill(verdict);
      fill(evidence);
      input.focus();
      return;
    }
    button.disabled = true;
    fill(verdict, h('p', { class: 'loading' }, 'Checking against the chain\u2026'));
    fill(evidence);
    fill(command);
    try {
      const answer = TX.test(q) ? await txAnswer(q, ctx.signal, config) : await addressAnswer(q, ctx.signal, config);
      if (mine !== running) return;
      fill(verdict, notice(answer.kind, h('p', { class: 'answer', 'data-status': answer.status }, answer.words)));
      fill(evidence, answer.evidence.length ? [h('h2', {}, 'Evidence'), ...answer.evidence] : []);
      fill(command, TX.test(q) && config.contract
        ? commandBox('cmd-verify', 'Check it yourself against your own node (replace the URL with your node\u2019s):',
          `crowdledger verify --tx ${q} --rpc http://127.0.0.1:8545 --contract ${config.contract}`)
        : null);
    } catch (err) {
      if (err.name === 'AbortError') return;
      fill(verdict, notice('bad', h('p', { class: 'answer', 'data-status': 'error' }, err.detail || String(err))));
    } finally {
      if (mine === running) button.disabled = false;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = input.value.trim();
    replaceQuery('/verify', { q });
    run(q);
  });
  if (initial) run(initial);
  return 'Verify my contribution';
}
