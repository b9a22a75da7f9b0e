// Documents the ledger commits to by hash (a campaign's metadata, progress reports, disclosures),
// fetched from GET /documents/0x{hash} and checked here: the page hashes the bytes itself with
// Keccak-256 (@noble/hashes, served from node_modules) and trusts them only if the hash is the one
// on the ledger. The server's own word ("published") is never taken for it.
import { keccak_256 } from '/vendor/noble-hashes/sha3.js';
import { bytesToHex } from '/vendor/noble-hashes/utils.js';
import { h } from './dom.js';
import { hex } from './components.js';
import { LIMITS, cleanLine } from './text.js';

const HASH = /^0x[0-9a-f]{64}$/;
const cache = new Map();

export function keccakHex(bytes) {
  return `0x${bytesToHex(keccak_256(bytes))}`;
}

export function documentUrl(hash) {
  return `/documents/${hash.toLowerCase()}`;
}

async function fetchDocument(hash) {
  let response;
  try {
    response = await fetch(documentUrl(hash), { cache: 'no-cache' });
  } catch {
    return { hash, status: 'unavailable', detail: 'the server did not answer' };
  }
  if (response.status === 404) return { hash, status: 'not_published' };
  if (!response.ok) return { hash, status: 'unavailable', detail: `the server answered ${response.status}` };
  const bytes = new Uint8Array(await response.arrayBuffer());
  const got = keccakHex(bytes);
  if (got !== hash) return { hash, status: 'mismatch', got, size: bytes.length };
  let text = null;
  let json = null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    json = JSON.parse(text);
  } catch { /* not UTF-8 text, or not JSON */ }
  return { hash, status: 'verified', bytes, size: bytes.length, text, json };
}

/**
 * The document with `hash`, checked: {status: 'verified' (bytes, text, json), 'not_published',
 * 'mismatch' (got: the hash of what the server sent) or 'unavailable'}. Each hash is fetched once.
 */
export function loadDocument(hash) {
  const key = String(hash).toLowerCase();
  if (!HASH.test(key)) return Promise.resolve({ hash: key, status: 'unavailable', detail: 'not a document hash' });
  if (!cache.has(key)) {
    cache.set(key, fetchDocument(key).then((doc) => {
      if (doc.status === 'unavailable' || doc.status === 'not_published') cache.delete(key); // ask again next time
      return doc;
    }));
  }
  return cache.get(key);
}

function size(bytes) {
  return bytes < 1024 ? `${bytes} bytes` : `${(bytes / 1024).toFixed(1).replace(/\.0$/, '')} KB`;
}

function kindOf(doc) {
  if (doc.json !== null) return 'JSON';
  return doc.text !== null ? 'text' : 'file';
}

/** What a verified document calls itself: a JSON document's title, or a text's first line. */
export function documentTitle(doc) {
  if (doc.status !== 'verified') return '';
  if (doc.json && typeof doc.json === 'object') return cleanLine(doc.json.title, LIMITS.title);
  return doc.text ? cleanLine(doc.text.split('\n').find((line) => line.trim()) || '', LIMITS.title) : '';
}

/** The check's outcome in words, with a link to the document when the server has it. */
export function documentCheck(doc) {
  const link = (words) => h('a', { href: documentUrl(doc.hash), target: '_blank', rel: 'noopener noreferrer' }, words);
  switch (doc.status) {
    case 'verified':
      return [
        h('span', { class: 'mark ok' }, h('span', { 'aria-hidden': 'true' }, '\u2713 '), 'Verified by this page'),
        ': its Keccak-256 is the hash on the ledger. ', link(`Open the document (${kindOf(doc)}, ${size(doc.size)})`), '.',
      ];
    case 'mismatch':
      return [
        h('span', { class: 'mark fail' }, h('span', { 'aria-hidden': 'true' }, '\u2717 '), 'Does NOT match'),
        ': the server\u2019s copy hashes to ', hex(doc.got), ', not to the hash on the ledger. Do not trust it.',
      ];
    case 'not_published':
      return [h('span', { class: 'mark unknown' }, 'Not published'),
        ': this server has no document with this hash yet. Anyone holding it can publish it (crowdledger publish FILE); the page will check it.'];
    default:
      return [h('span', { class: 'mark unknown' }, 'Not checked'), `: ${doc.detail || 'the document could not be loaded'}.`];
  }
}

/**
 * A document's line on the page: a placeholder now, filled with the check's outcome (and
 * `describe(doc)`'s extra nodes, for a verified one) when the document has been hashed.
 */
export function documentLine(hash, describe = () => null) {
  const line = h('p', { class: 'doc-check', 'data-document-status': 'checking', 'data-hash': hash }, 'Checking the document\u2026');
  loadDocument(hash).then((doc) => {
    line.dataset.documentStatus = doc.status;
    line.replaceChildren(...[describe(doc), documentCheck(doc)].flat().filter(Boolean));
  });
  return line;
}

const IMAGE_TYPES = [
  ['image/png', [0x89, 0x50, 0x4e, 0x47]],
  ['image/jpeg', [0xff, 0xd8, 0xff]],
  ['image/gif', [0x47, 0x49, 0x46, 0x38]],
  ['image/webp', [0x52, 0x49, 0x46, 0x46, null, null, null, null, 0x57, 0x45, 0x42, 0x50]], // RIFF....WEBP
];

/** A verified document's bytes as a data: URL when they are a PNG, JPEG, GIF or WebP image; else null. */
export function imageUrl(doc) {
  if (doc.status !== 'verified') return null;
  const found = IMAGE_TYPES.find(([, magic]) => magic.every((byte, i) => byte === null || doc.bytes[i] === byte));
  if (!found) return null;
  let binary = '';
  for (let i = 0; i < doc.bytes.length; i += 0x8000) binary += String.fromCharCode(...doc.bytes.subarray(i, i + 0x8000));
  return `data:${found[0]};base64,${btoa(binary)}`;
}
