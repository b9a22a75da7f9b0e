// The hash's query string, changed in place (filters, the verify box) without a re-render.

export function replaceQuery(path, params) {
  const query = new URLSearchParams(
    Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== ''),
  ).toString();
  window.history.replaceState(null, '', `#${path}${query ? `?${query}` : ''}`);
}
