// New ledger entries as the server indexes them. The page first catches up through GET /ledger
// (pages of entries after the last seq it has), then opens /ledger/stream from the newest seq:
// the stream refuses to replay far back (400, naming /ledger?after=), and answers 503 with
// Retry-After when it has too many clients. The stream is read with fetch() rather than
// EventSource, so those answers can be told apart and handled: catch up again after a 400, wait as
// asked after a 503, back off after a network error, and always resume from the last seq seen.
import { getJSON } from './api.js';

const PAGE = 500;
const FIRST_DELAY = 1000;
const MAX_DELAY = 60_000;

/** The newest seq the server has indexed now: where a page's catch-up starts from. */
export async function ledgerTip({ signal } = {}) {
  const health = await getJSON('/health', { signal, accept: [503] });
  return Number(health.entries) || 0;
}

class StreamRefused extends Error {
  constructor(status, retryAfter, detail) {
    super(detail || `the stream answered ${status}`);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

function retryAfterMs(response) {
  const value = response.headers.get('Retry-After');
  if (!value) return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds) * 1000;
  const when = Date.parse(value);
  return Number.isNaN(when) ? null : Math.max(0, when - Date.now());
}

/** Every entry after seq `after`, a page at a time, to `onEntry`; returns the newest seq. */
async function catchUp(after, signal, onEntry) {
  let last = after;
  let cursor = null;
  for (;;) {
    const url = cursor ? `/ledger?limit=${PAGE}&cursor=${encodeURIComponent(cursor)}` : `/ledger?after=${last}&limit=${PAGE}`;
    const page = await getJSON(url, { signal });
    for (const entry of page.data) {
      last = entry.seq;
      onEntry(entry);
    }
    if (!page.next) return last;
    cursor = page.next;
  }
}

/** Server-sent events from a fetch() body: calls `dispatch(event, data)` for each complete event. */
async function readEvents(body, dispatch) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (!line || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = text;
        else if (field === 'data') data.push(text);
      }
      if (data.length) dispatch(event, data.join('\n'));
      end = buffer.indexOf('\n\n');
    }
  }
}

/**
 * follow({after, onEntry, onRollback, onState}) -> stop(). Entries after seq `after` go to
 * onEntry in seq order, first from /ledger, then live. onState gets 'connecting', 'live',
 * 'busy' (503: waiting as the server asked) or 'reconnecting' (after an error), with the wait in ms.
 */
export function follow({ after = 0, onEntry, onRollback = () => {}, onState = () => {} }) {
  const controller = new AbortController();
  const { signal } = controller;
  let last = after;
  const deliver = (entry) => {
    if (entry.seq <= last) return;
    last = entry.seq;
    onEntry(entry);
  };

  async function streamFrom(seq) {
    const response = await fetch(`/ledger/stream?after=${seq}`, { headers: { Accept: 'text/event-stream' }, signal, cache: 'no-store' });
    if (!response.ok) {
      let detail = null;
      try { detail = (await response.json()).detail; } catch { /* not JSON */ }
      throw new StreamRefused(response.status, retryAfterMs(response), detail);
    }
    onState('live');
    await readEvents(response.body, (event, data) => {
      let body;
      try {
        body = JSON.parse(data);
      } catch {
        return; // a malformed event is skipped; the next catch-up fills any gap
      }
      if (event === 'entry') deliver(body);
      else if (event === 'rollback' && Number.isInteger(body.last_seq)) {
        last = Math.min(last, body.last_seq);
        onRollback(body);
      }
    });
  }

  async function run() {
    let delay = FIRST_DELAY;
    let refusedFarBack = false;
    onState('connecting');
    while (!signal.aborted) {
      let wait;
      try {
        await catchUp(last, signal, deliver);
        await streamFrom(last);
        delay = FIRST_DELAY; // the server ended the stream (a restart?): resume shortly
        refusedFarBack = false;
        wait = FIRST_DELAY;
        onState('reconnecting', wait);
      } catch (error) {
        if (signal.aborted || error.name === 'AbortError') return;
        if (error.status === 400 && !refusedFarBack) {
          refusedFarBack = true; // too far back: catch up through /ledger again, then retry at once
          continue;
        }
        if (error.status === 503 || error.status === 429) {
          wait = error.retryAfter ?? delay;
          onState('busy', wait);
        } else {
          wait = delay;
          onState('reconnecting', wait);
        }
        refusedFarBack = false;
        delay = Math.min(delay * 2, MAX_DELAY);
      }
      wait = Math.min(wait, MAX_DELAY) + Math.floor(Math.random() * 500); // spread clients out
      await new Promise((resolve) => {
        const timer = window.setTimeout(resolve, wait);
        signal.addEventListener('abort', () => { window.clearTimeout(timer); resolve(); }, { once: true });
      });
    }
  }

  if (!('body' in Response.prototype) || typeof TextDecoderStream === 'undefined') {
    onState('unsupported');
    return () => {};
  }
  run();
  return () => controller.abort();
}
