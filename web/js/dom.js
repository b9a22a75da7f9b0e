// Building DOM nodes without innerHTML: every value from the API lands as text, never as markup.

/** h('a', {href: '#/x', class: 'y'}, 'text', child, [more]) -> an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name === 'style') Object.assign(el.style, value); // CSSOM: allowed by the page's CSP
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace everything inside `el` with `children`. */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** A <dl> from [term, description] pairs (description: text or nodes); null pairs are skipped. */
export function defs(pairs, attrs = {}) {
  const dl = h('dl', { class: 'defs', ...attrs });
  for (const pair of pairs) {
    if (!pair) continue;
    const [term, desc] = pair;
    dl.append(h('div', {}, h('dt', {}, term), h('dd', {}, desc)));
  }
  return dl;
}

/**
 * A table in a keyboard-focusable region. columns: [{label, cell(row) -> node|text, class}].
 * With `stack: true` the rows become labelled blocks on narrow screens (app.css), so the table never
 * scrolls sideways on a phone; otherwise the region scrolls.
 */
export function table(caption, columns, rows, attrs = {}) {
  const { stack = false, captionClass = '', ...rest } = attrs;
  const body = h('tbody');
  const t = h('table', { ...rest, class: `${rest.class || ''}${stack ? ' stack' : ''}`.trim() },
    h('caption', { class: captionClass }, caption),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
    body);
  for (const row of rows) body.append(tableRow(columns, row, { stack }));
  return h('div', { class: `table-wrap${stack ? ' stacked' : ''}`, role: 'region', 'aria-label': caption, tabindex: '0' }, t);
}

/** One row; in a stacked table each cell's content is wrapped once, to sit beside its label. */
export function tableRow(columns, row, { stack = false } = {}) {
  return h('tr', {}, columns.map((c, i) => {
    const content = stack ? h('span', { class: 'cell' }, c.cell(row)) : c.cell(row);
    return i === 0 && c.header !== false
      ? h('th', { scope: 'row', class: c.class, 'data-label': c.label }, content)
      : h('td', { class: c.class, 'data-label': c.label }, content);
  }));
}

/** A message block: kind is good | bad | warn | info. */
export function notice(kind, ...children) {
  return h('div', { class: `notice ${kind}` }, children);
}

export function yesNo(value, yes = 'yes', no = 'no', unknown = 'not checked') {
  if (value === null || value === undefined) return h('span', { class: 'mark unknown' }, h('span', { 'aria-hidden': 'true' }, '? '), unknown);
  return value
    ? h('span', { class: 'mark ok' }, h('span', { 'aria-hidden': 'true' }, '\u2713 '), yes)
    : h('span', { class: 'mark fail' }, h('span', { 'aria-hidden': 'true' }, '\u2717 '), no);
}
