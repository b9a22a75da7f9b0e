// New ledger entries as the server indexes them (server-sent events from /ledger/stream). The
// browser reconnects by itself and sends Last-Event-ID, so nothing is missed across a reconnect.

/**
 * subscribe({onEntry, onRollback, onState}) -> close(). onState gets 'connecting' | 'live' | 'reconnecting'.
 */
export function subscribe({ onEntry, onRollback = () => {}, onState = () => {} }) {
  if (!('EventSource' in window)) {
    onState('unsupported');
    return () => {};
  }
  onState('connecting');
  const source = new EventSource('/ledger/stream');
  source.addEventListener('open', () => onState('live'));
  source.addEventListener('error', () => onState(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting'));
  source.addEventListener('entry', (event) => {
    try {
      onEntry(JSON.parse(event.data));
    } catch (error) {
      console.warn('bad entry event', error); // eslint-disable-line no-console
    }
  });
  source.addEventListener('rollback', (event) => {
    try {
      onRollback(JSON.parse(event.data));
    } catch (error) {
      console.warn('bad rollback event', error); // eslint-disable-line no-console
    }
  });
  return () => source.close();
}
