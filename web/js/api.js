// Reading the API: JSON with one error type whose message is the API's own `detail` sentence.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

/** GET `path` as JSON. `accept` lists non-2xx statuses whose JSON body is still wanted (e.g. 503 /health). */
export async function getJSON(path, { signal, accept = [] } = {}) {
  let response;
  try {
    response = await fetch(path, { headers: { Accept: 'application/json' }, signal });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'The server did not answer. Check your connection and try again.');
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok && !accept.includes(response.status)) {
    const detail = body && typeof body.detail === 'string' ? body.detail : `The server answered ${response.status}.`;
    throw new ApiError(response.status, detail);
  }
  return body;
}

/** Every item of a keyset-paginated list (`data`, `next`), up to `maxPages` pages of `limit`. */
export async function getAll(path, { signal, limit = 500, maxPages = 40 } = {}) {
  const items = [];
  let cursor = null;
  for (let pageNo = 0; pageNo < maxPages; pageNo += 1) {
    const sep = path.includes('?') ? '&' : '?';
    const url = `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page = await getJSON(url, { signal });
    items.push(...page.data);
    cursor = page.next;
    if (!cursor) return { items, complete: true, first: page };
  }
  return { items, complete: false };
}

/** The page's facts about the deployment (api/routes/web.py); null fields when unknown. */
let configPromise = null;
export function siteConfig() {
  if (!configPromise) {
    configPromise = getJSON('/web/config').catch(() => {
      configPromise = null;
      return { contract: null, chain_id: null, finality_depth: null, indexed_block: null, node: null };
    });
  }
  return configPromise;
}
