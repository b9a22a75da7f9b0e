// "About this campaign": the campaign's metadata document (JSON: title, summary, description,
// optional website and image), shown only once the page has hashed it and found the metadata hash
// the campaign was created with. Every field is untrusted text: cleaned, capped, placed as text.
import { h, notice } from './dom.js';
import { hex } from './components.js';
import { documentCheck, imageUrl, loadDocument } from './documents.js';
import { LIMITS, cleanLine, cleanParagraphs, safeUrl } from './text.js';

function image(hash) {
  const slot = h('div', { class: 'about-image' });
  loadDocument(hash).then((doc) => {
    const url = imageUrl(doc);
    slot.dataset.documentStatus = doc.status;
    if (url) slot.replaceChildren(h('img', { src: url, alt: 'The campaign\u2019s picture (its hash is in its metadata document)' }));
  });
  return slot;
}

function content(meta, apiTitle) {
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) {
    return [h('p', {}, 'The document is not a campaign description (JSON with a title and a description).')];
  }
  const title = cleanLine(meta.title, LIMITS.title);
  const website = safeUrl(meta.website);
  const imageHash = typeof meta.image === 'string' && /^0x[0-9a-fA-F]{64}$/.test(meta.image) ? meta.image : null;
  return [
    title && apiTitle && title !== apiTitle
      ? notice('warn', `The document\u2019s title is \u201c${title}\u201d; the server named the campaign differently. Trust the document.`) : null,
    cleanLine(meta.summary, LIMITS.summary) ? h('p', { class: 'about-summary' }, cleanLine(meta.summary, LIMITS.summary)) : null,
    imageHash ? image(imageHash) : null,
    h('div', { class: 'about-description' }, cleanParagraphs(meta.description).map((p) => h('p', {}, p))),
    website ? h('p', {}, 'Website: ', h('a', { href: website, rel: 'noopener noreferrer nofollow', target: '_blank' }, website)) : null,
  ];
}

/** The section, filled when the document has been fetched and checked. */
export function aboutSection(c, apiTitle) {
  const body = h('div', { class: 'about-body' }, h('p', { class: 'loading' }, 'Checking the campaign\u2019s description\u2026'));
  const section = h('section', { 'aria-labelledby': 'h-about', class: 'about', 'data-document-status': 'checking' },
    h('h2', { id: 'h-about' }, 'About this campaign'), body);
  loadDocument(c.metadata_hash).then((doc) => {
    section.dataset.documentStatus = doc.status;
    const check = h('p', { class: 'doc-check sub', 'data-document-status': doc.status }, 'Metadata document ', hex(c.metadata_hash, { class: 'hex doc-hash' }),
      ' (the hash the campaign was created with). ', documentCheck(doc));
    body.replaceChildren(...(doc.status === 'verified' ? content(doc.json, apiTitle) : []).filter(Boolean), check);
  });
  return section;
}
