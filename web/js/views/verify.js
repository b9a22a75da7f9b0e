// #/verify?q=...: paste a transaction hash or an address; the answer in plain words (announced
// to screen readers), the evidence underneath (verify-tx.js, verify-address.js).
import { siteConfig } from '../api.js';
import { h, fill, notice } from '../dom.js';
import { commandBox } from '../components.js';
import { replaceQuery } from '../nav.js';
import { addressAnswer } from '../verify-address.js';
import { txAnswer } from '../verify-tx.js';

const TX = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

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
      + 'An address is 0x and 40 hex digits: it lists every campaign it backed and what the escrow owes it.'),
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
      fill(command, config.contract
        ? commandBox('cmd-verify', 'Check it yourself against your own node (replace the URL with your node\u2019s; add --db URL to compare your own indexed copy too):',
          `crowdledger verify ${TX.test(q) ? '--tx' : '--backer'} ${q} --rpc http://127.0.0.1:8545 --contract ${config.contract}`)
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
