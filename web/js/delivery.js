// A campaign's delivery on its page (#/campaign/3), from GET /campaigns/{id}/milestones and
// /campaigns/{id}/disclosures: one timeline in ledger order of the tranches released, the progress
// reports and disclosures (each linked to its document, which the page hashes and checks itself)
// and the abort, followed by what is still ahead (the tranche up for a vote, with its tally and
// deadline, then the pending or returned tranches). Tranches are numbered from 1 for people.
import { h } from './dom.js';
import { entryLink, hex, money, tallyBar, txHash } from './components.js';
import { documentLine, documentTitle } from './documents.js';
import { ABORT_CAUSES, bps, duration, plural, trancheName, utc } from './format.js';

const TRANCHE_WORDS = {
  released: 'Released', voting: 'Up for a vote', pending: 'Pending', returned: 'Returned to backers',
};
const RETURNED_WHY = {
  aborted: 'the campaign was aborted', failed: 'the goal was missed', cancelled: 'the creator cancelled the campaign',
  expired: 'the creator never claimed the first tranche, so the campaign expired',
};

const capital = (text) => text.charAt(0).toUpperCase() + text.slice(1);

function where(item) {
  if (item.seq === null || item.seq === undefined) return null; // the API could not place it on the ledger
  return h('p', { class: 'sub tl-where' }, 'Ledger entry ', entryLink(item.seq), ' \u00b7 ', txHash(item.tx_hash),
    item.block_time ? ` \u00b7 ${utc(item.block_time)}` : null);
}

/** `in 45 min` until the vote closes; startCountdowns() keeps it moving with the clock. */
function countdown(seconds) {
  return h('span', { class: 'countdown', 'data-seconds-left': String(seconds) }, `in ${duration(seconds)}`);
}

function votePanel(d, asset) {
  const v = d.vote;
  const reason = !v.quorum_reached ? 'the quorum is not reached' : 'not more approving than rejecting weight';
  const verdict = v.status === 'open'
    ? (v.passes
      ? 'If the vote closed now, the tranche would be released.'
      : `If the vote closed now, the campaign would be aborted (${reason}) and backers would get back their share of what was not released.`)
    : (v.passes
      ? 'The vote passed: release() pays the tranche to the creator.'
      : `The vote failed (${reason}): release() aborts the campaign and backers get back their share of what was not released.`);
  const timing = v.status === 'open'
    ? h('p', { class: 'vote-deadline' }, 'Voting closes ', h('strong', {}, utc(v.vote_end)), ' (', countdown(v.seconds_left), ' of chain time).')
    : h('p', { class: 'vote-deadline' }, `Voting closed ${utc(v.vote_end)}. Anyone can now call release(): it settles the vote.`);
  return h('div', { class: `vote-panel vote-${v.status}`, 'data-vote-status': v.status, 'data-vote-end': v.vote_end_unix },
    h('p', {}, h('strong', {}, v.status === 'open' ? 'Backers are voting' : 'The vote is over'),
      ` on releasing ${trancheName(v.tranche)}, `, money(v.at_stake, asset), ', to the creator against the progress report ', hex(v.report_hash),
      ' (request ', entryLink(v.request_seq), ').'),
    timing,
    tallyBar(v, d.total, asset),
    h('ul', { class: 'tally-legend' },
      h('li', { class: 'approve' }, 'Approve ', money(v.approve_weight, asset)),
      h('li', { class: 'reject' }, 'Reject ', money(v.reject_weight, asset)),
      h('li', { class: 'quorum' }, 'Quorum ', money(v.quorum, asset), v.quorum_reached ? ' (reached)' : ' (not reached)'),
      h('li', {}, plural(v.voters, 'voter'))),
    h('p', { class: `vote-verdict ${v.passes ? 'passes' : 'fails'}` }, verdict));
}

function trancheBody(t, d, asset) {
  if (t.status === 'released') {
    return [
      h('p', {}, 'Paid ', money(t.amount, asset), ' to the creator + ', money(t.fee, asset), ' platform fee',
        t.tranche === 0 ? ', claimed once the goal was met (no vote).' : '.'),
      t.report_hash ? h('p', {}, 'Approved ', money(t.approve_weight, asset), ' to ', money(t.reject_weight, asset),
        ' against the report ', hex(t.report_hash), '.') : null,
      where(t),
    ];
  }
  if (t.status === 'voting') return votePanel(d, asset);
  if (t.status === 'returned') {
    return h('p', {}, `Never released: ${RETURNED_WHY[d.state] || 'the campaign ended'}. Backers can refund it.`);
  }
  return h('p', { class: 'sub' }, t.tranche === 0
    ? 'Paid when the creator claims, once the deadline passes with the goal met.'
    : `Paid only if backers approve: the creator asks with a progress report, then backers vote for ${duration(d.voting_period)}.`);
}

function trancheItem(t, d, asset) {
  return h('li', { class: `tl-item tl-tranche ${t.status}`, 'data-kind': 'tranche', 'data-tranche': t.tranche, 'data-status': t.status },
    h('p', { class: 'tl-head' }, h('strong', {}, capital(trancheName(t.tranche))), ` \u00b7 ${bps(t.bps)} \u00b7 `,
      money(t.gross, asset), ' ', h('span', { class: `tag tranche-${t.status}` }, TRANCHE_WORDS[t.status])),
    trancheBody(t, d, asset));
}

function documentItem(doc) {
  const report = doc.kind === 'report';
  const named = (checked) => {
    const title = documentTitle(checked);
    return title ? [h('strong', { class: 'doc-title' }, title), '. '] : null;
  };
  return h('li', { class: `tl-item tl-doc ${doc.kind}`, 'data-kind': doc.kind, 'data-seq': doc.seq },
    h('p', { class: 'tl-head' }, h('strong', {}, report ? `Progress report for ${trancheName(doc.tranche)}` : 'Disclosure')),
    h('p', {}, report ? 'The creator asked backers to release the tranche against the document with the hash '
      : 'The creator published the document with the hash ', hex(doc.hash, { class: 'hex doc-hash' }), '.'),
    documentLine(doc.hash, named),
    where(doc));
}

function abortItem(d, asset, cause) {
  const a = d.abort;
  const why = cause === 'silence'
    ? 'The creator asked for no release vote for more than 180 days, so anyone could abort the campaign, and someone did: the '
    : `The vote on ${d.vote ? trancheName(d.vote.tranche) : 'a tranche'} failed, so the `;
  return h('li', { class: 'tl-item tl-abort', 'data-kind': 'abort', 'data-seq': a.seq, 'data-cause': cause || 'failed_vote' },
    h('p', { class: 'tl-head' }, h('strong', {}, 'Aborted'), h('span', { class: 'sub' }, ` \u00b7 ${ABORT_CAUSES[cause] || ABORT_CAUSES.failed_vote}`)),
    h('p', {}, why, money(a.remaining, asset), ' not released goes back to the backers, each in proportion to their pledge.'),
    h('ul', { class: 'abort-facts' },
      h('li', {}, 'Released to the creator before the abort: ', money(d.released_gross, asset), ' (fees included)'),
      h('li', {}, 'Refunded so far: ', money(a.refunded, asset)),
      h('li', { class: 'refundable' }, 'Still refundable: ', money(a.owed, asset)),
      h('li', {}, 'Rounding dust: ', money(a.dust, asset), a.dust_settled
        ? ' (moved to the platform\u2019s fees with the last refund)' : ' (goes to the platform\u2019s fees with the last refund)')),
    where(a));
}

/**
 * The timeline of `d` (a MilestonesPublic, or null for a plain campaign) and its `documents`, with
 * amounts in `asset`; `cause` is the campaign's abort_cause.
 */
export function deliveryTimeline(d, documents, asset, cause = null) {
  const past = documents.map((doc) => ({ seq: doc.seq, node: documentItem(doc) }));
  const ahead = [];
  for (const t of d ? d.tranches : []) {
    if (t.status === 'released') past.push({ seq: t.seq, node: trancheItem(t, d, asset) });
    else ahead.push(trancheItem(t, d, asset));
  }
  if (d?.abort) past.push({ seq: d.abort.seq ?? Number.MAX_SAFE_INTEGER, node: abortItem(d, asset, cause) });
  past.sort((a, b) => a.seq - b.seq);
  return h('ol', { class: 'timeline' }, past.map((item) => item.node), ahead);
}

/** One line on where the delivery stands. */
export function deliverySummary(d, asset) {
  return h('p', { class: 'delivery-summary' },
    `${d.tranches_released} of ${plural(d.tranche_count, 'tranche')} released: `, money(d.released_gross, asset),
    ' of ', money(d.total, asset), ' (fees included). Still in the escrow: ', money(d.escrowed, asset), '.');
}

/** Keep every countdown under `root` moving with the clock; returns the function that stops them. */
export function startCountdowns(root) {
  const clocks = [...root.querySelectorAll('.countdown[data-seconds-left]')];
  if (!clocks.length) return () => {};
  const started = Date.now();
  const timer = window.setInterval(() => {
    const gone = Math.floor((Date.now() - started) / 1000);
    for (const clock of clocks) {
      const left = Math.max(0, Number(clock.dataset.secondsLeft) - gone);
      clock.textContent = left > 0 ? `in ${duration(left)}` : 'about now';
    }
  }, 1000);
  return () => window.clearInterval(timer);
}
