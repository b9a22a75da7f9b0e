// #/audit: the latest audit (replay of the chain's logs vs. the contract and the database), the
// export to download, and the command that re-runs the audit on anyone's own node.
import { getJSON, siteConfig } from '../api.js';
import { h, fill, defs, notice, table, yesNo } from '../dom.js';
import { assetChip, commandBox, entryLink, hex, money } from '../components.js';
import { assetOf } from '../assets.js';
import { big, grouped, plural, utc } from '../format.js';

const DEFAULT_RPC = 'http://127.0.0.1:8545';

function headline(a) {
  switch (a.status) {
    case 'ok':
      return notice('good', h('p', { class: 'answer', 'data-status': 'ok' },
        h('strong', {}, 'The ledger matches the chain. '),
        `At block ${grouped(a.block)}, replaying all ${plural(a.length, 'entry', 'entries')} from the chain\u2019s logs ends on the head the contract stores, `
        + `the indexed database agrees on every entry compared (${a.db_entries_compared ?? 0}), and the escrow holds enough of every asset.`));
    case 'findings':
      return notice('bad', h('p', { class: 'answer', 'data-status': 'findings' },
        h('strong', {}, `The audit found ${plural(a.findings.length, 'problem')}. `),
        a.onchain_match
          ? 'The chain\u2019s own ledger is consistent (its replay ends on the contract\u2019s head), so the problems are in what this server indexed: '
            + 'do not trust its pages until they are fixed. Re-audit with your own node below.'
          : 'The ledger replayed from the chain does not match the contract\u2019s head and length.'));
    case 'error':
      return notice('bad', h('p', { class: 'answer', 'data-status': 'error' }, h('strong', {}, 'The last audit could not run: '), a.error || 'unknown error'));
    case 'pending':
      return notice('info', h('p', { class: 'answer', 'data-status': 'pending' }, 'The first audit is running; this page updates when it finishes.'));
    case 'disabled':
    default:
      return notice('warn', h('p', { class: 'answer', 'data-status': 'disabled' },
        'This server does not audit itself (it has no node configured). You can still re-audit the ledger with the command below.'));
  }
}

function findingsList(findings) {
  return table(`Findings (${findings.length})`, [
    { label: 'What', cell: (f) => h('code', {}, f.code) },
    { label: 'Entry', cell: (f) => (f.seq ? entryLink(f.seq) : '\u2014') },
    { label: 'Campaign', cell: (f) => (f.campaign_id ? h('a', { href: `#/campaign/${f.campaign_id}` }, `#${f.campaign_id}`) : '\u2014') },
    { label: 'Message', cell: (f) => [f.message, f.fields ? h('span', { class: 'sub' }, ` (fields: ${Object.keys(f.fields).join(', ')})`) : null] },
  ], findings, { class: 'data findings', stack: true });
}

/** Every amount on this page is exact: an audit is about the last base unit. */
function exact(value, asset) {
  return money(value, asset, { exact: true });
}

function solvencyTable(rows) {
  return table('Solvency per asset', [
    { label: 'Asset', cell: (s) => h('span', { title: s.token, class: 'nowrap' }, assetChip(assetOf(s))) },
    { label: 'Escrow balance', class: 'num', cell: (s) => exact(s.balance, assetOf(s)) },
    { label: 'Owed', class: 'num', cell: (s) => exact(s.owed, assetOf(s)) },
    { label: 'Surplus', class: 'num', cell: (s) => (big(s.surplus) < 0n ? h('strong', {}, exact(s.surplus, assetOf(s))) : exact(s.surplus, assetOf(s))) },
    { label: 'Solvent', cell: (s) => yesNo(s.solvent, 'solvent', 'INSOLVENT') },
  ], rows, { class: 'data solvency', stack: true });
}

/** When the audit ran by the server's clock, beside the chain's own time at the indexed tip. */
function finishedWords(a, chain) {
  const took = a.duration_seconds !== null && a.duration_seconds !== undefined ? `, took ${a.duration_seconds} s` : '';
  const chainTime = chain && chain.as_of ? `; the chain\u2019s time at block ${grouped(chain.indexed_block)} is ${utc(chain.as_of)}` : '';
  return `${utc(a.finished_at)} by the server\u2019s clock${took}${chainTime}`;
}

function auditDetails(a, chain) {
  return [
    h('div', { class: 'audit-status' }, headline(a)),
    a.status === 'findings' ? h('section', { 'aria-labelledby': 'h-findings' }, h('h2', { id: 'h-findings' }, 'What the audit found'), findingsList(a.findings)) : null,
    a.block !== undefined && a.block !== null ? h('section', { 'aria-labelledby': 'h-latest' },
      h('h2', { id: 'h-latest' }, 'Latest audit'),
      defs([
        ['Audited at block', grouped(a.block)],
        ['Finished', finishedWords(a, chain)],
        ['Replayed head', hex(a.head)],
        ['Replayed length', plural(a.length, 'entry', 'entries')],
        ['On-chain ledgerHead()', hex(a.onchain_head)],
        ['On-chain ledgerLength()', String(a.onchain_length)],
        ['Chain match', yesNo(a.onchain_match, 'the replay equals the contract\u2019s head and length', 'MISMATCH')],
        ['Database entries compared', String(a.db_entries_compared ?? 0)],
        ['Audits run since the server started', String(a.audits_run)],
      ], { class: 'defs audit-facts' }),
      a.solvency.length ? solvencyTable(a.solvency) : null,
      a.notes.length ? h('ul', { class: 'notes' }, a.notes.map((n) => h('li', {}, n))) : null) : null,
  ];
}

export async function render(main, ctx) {
  const [first, config, chain] = await Promise.all([
    getJSON('/audit', { signal: ctx.signal }), siteConfig(), getJSON('/stats', { signal: ctx.signal }).catch(() => null),
  ]);
  let a = first;
  const contract = config.contract || '<escrow address>';
  const rpcInput = h('input', { id: 'rpc-url', type: 'url', value: DEFAULT_RPC, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'rpc-hint' });
  const online = () => `crowdledger audit --rpc ${rpcInput.value.trim() || DEFAULT_RPC} --contract ${contract}`;
  const offline = () => `crowdledger audit --from crowdledger-ledger.ndjson --chain-id ${config.chain_id ?? '<chain id>'} --contract ${contract}`
    + ` --expect-head ${a.onchain_head || '<ledgerHead() from a block explorer>'}`;
  const onlineBox = commandBox('cmd-online', 'Replay the ledger from your node\u2019s logs and compare it with the contract:', online());
  const offlineBox = commandBox('cmd-offline', 'Or replay the downloaded file with no node at all (the expected head is the contract\u2019s ledgerHead(), which any block explorer shows):', offline());
  rpcInput.addEventListener('input', () => { onlineBox.querySelector('code').textContent = online(); });
  const details = h('div', { class: 'audit-details' }, auditDetails(a, chain));
  const refreshNote = h('span', { class: 'sub', role: 'status', 'aria-live': 'polite' });
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Check for a newer audit');
  let timer = null;

  async function update() {
    refresh.disabled = true;
    try {
      const before = a.finished_at;
      a = await getJSON('/audit', { signal: ctx.signal });
      fill(details, auditDetails(a, chain));
      offlineBox.querySelector('code').textContent = offline();
      window.dispatchEvent(new Event('crowdledger:status'));
      refreshNote.textContent = a.finished_at && a.finished_at !== before
        ? ` Updated: audit of block ${a.block}, ${a.status === 'ok' ? 'clean' : a.status}.` : ' No newer audit yet.';
    } catch (error) {
      if (error.name === 'AbortError') return;
      refreshNote.textContent = ` ${error.detail || error}`;
    } finally {
      refresh.disabled = false;
    }
    if (a.status === 'pending') timer = window.setTimeout(update, 3000);
  }
  refresh.addEventListener('click', update);
  ctx.onCleanup(() => window.clearTimeout(timer));

  fill(main,
    h('h1', { tabindex: '-1' }, 'Audit'),
    h('p', { class: 'lede' }, 'The server re-audits the ledger regularly: it replays every entry from the chain\u2019s own logs, '
      + 'checks the result against the head and length the contract stores, checks that the escrow can pay everything it owes, '
      + 'and compares what it indexed. You do not have to trust it: run the same audit yourself.'),
    details,
    h('p', {}, refresh, refreshNote),
    h('section', { 'aria-labelledby': 'h-export' },
      h('h2', { id: 'h-export' }, 'Download the ledger'),
      h('p', { class: 'downloads' }, 'Every entry in order, with its block, transaction and head: ',
        h('a', { href: '/ledger/export?format=ndjson', download: 'crowdledger-ledger.ndjson', class: 'button-link' }, 'NDJSON'), ' ',
        h('a', { href: '/ledger/export?format=csv', download: 'crowdledger-ledger.csv', class: 'button-link' }, 'CSV'))),
    h('section', { 'aria-labelledby': 'h-yourself' },
      h('h2', { id: 'h-yourself' }, 'Re-audit it yourself'),
      h('p', {}, 'Install CrowdLedger (the ', h('code', {}, 'crowdledger'), ' command) and point it at any node of this chain',
        config.chain_id !== null && config.chain_id !== undefined ? ` (chain id ${config.chain_id})` : '', '.'),
      h('div', { class: 'field' }, h('label', { for: 'rpc-url' }, 'Your node\u2019s JSON-RPC URL'), rpcInput,
        h('span', { id: 'rpc-hint', class: 'hint' }, 'Updates the command below. Use your own node or a provider you trust, not this server.')),
      onlineBox,
      offlineBox));

  if (a.status === 'pending') timer = window.setTimeout(update, 3000);
  return 'Audit';
}
