// Text that anyone could have written (campaign titles and descriptions, token symbols and names):
// control and bidirectional-override characters stripped, lengths capped, and always placed in the
// page as text (dom.js h() never parses markup).

// C0/C1 controls, zero-width and direction marks, bidi embeddings/overrides/isolates, BOM
const INVISIBLE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;

export const LIMITS = { symbol: 16, name: 64, title: 80, summary: 280, description: 8000, line: 120 };

function cap(text, max) {
  const chars = [...text]; // by code point, so a cut never splits a surrogate pair
  return chars.length > max ? `${chars.slice(0, max - 1).join('').trimEnd()}\u2026` : text;
}

/** One line of untrusted text: invisible characters removed, whitespace collapsed, at most `max` characters. */
export function cleanLine(value, max = LIMITS.line) {
  if (typeof value !== 'string') return '';
  return cap(value.replace(INVISIBLE, '').replace(/\s+/g, ' ').trim(), max);
}

/** Untrusted prose as paragraphs (split on blank lines), at most `max` characters in all. */
export function cleanParagraphs(value, max = LIMITS.description) {
  if (typeof value !== 'string') return [];
  const text = cap(value.replace(/\r\n?|[\u2028\u2029]/g, '\n').replace(INVISIBLE, '').trim(), max);
  return text.split(/\n\s*\n/).map((p) => p.replace(/[ \t]+/g, ' ').replace(/ ?\n ?/g, '\n').trim()).filter(Boolean);
}

/** An http(s) URL from untrusted text, or null (no javascript:, data:, or anything else). */
export function safeUrl(value) {
  const text = cleanLine(value, 300);
  if (!text) return null;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : null;
  } catch {
    return null;
  }
}

/** A campaign's name for people: its published title, or "Campaign #id". */
export function campaignName(c) {
  return cleanLine(c?.title, LIMITS.title) || `Campaign #${c?.id ?? c?.campaign_id}`;
}
