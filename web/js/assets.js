// The asset of an amount (ETH or an ERC-20 token, as the API describes it: address, symbol, name,
// decimals, assumed) and amounts formatted with that asset's own decimals and symbol.
import { ETH_TOKEN, SHOWN_DECIMALS, formatUnits, shortHex } from './format.js';
import { LIMITS, cleanLine } from './text.js';

export const ETHER = Object.freeze({
  address: null, symbol: 'ETH', name: 'Ether', decimals: 18, assumed: false, label: 'ETH',
});

export function isEth(token) {
  return !token || token.toLowerCase() === ETH_TOKEN;
}

/**
 * The asset of `source`, an API answer that carries one (`asset` as an object, beside `token`),
 * cleaned for display: the symbol is untrusted text (at most 16 characters), `label` is the
 * symbol the page shows after amounts (the API's display symbol, which names the short address
 * when two assets share a symbol), `assumed` says the decimals were not read from the token.
 */
export function assetOf(source) {
  const a = source && typeof source.asset === 'object' && source.asset !== null ? source.asset : null;
  const token = a ? a.address : source?.token;
  if (isEth(token)) return ETHER;
  const valid = a && Number.isInteger(a.decimals) && a.decimals >= 0 && a.decimals <= 255;
  const symbol = cleanLine(a?.symbol, LIMITS.symbol) || shortHex(token);
  return {
    address: token,
    symbol,
    name: cleanLine(a?.name, LIMITS.name),
    decimals: valid ? a.decimals : 18,
    assumed: !valid || Boolean(a.assumed),
    label: cleanLine(a?.label ?? a?.display_symbol, LIMITS.symbol + 16) || symbol,
  };
}

/** '1,000.25 tUSDC': rounded by the page's rule, or exact with `exact`. */
export function amount(value, asset, { exact = false } = {}) {
  return `${formatUnits(value, { decimals: asset.decimals, maxFraction: exact ? null : SHOWN_DECIMALS })} ${asset.label}`;
}

/** The asset in a few words: 'ETH', or 'tUSDC (Test USD, ERC-20 0x1a2b…9f0e)'. */
export function assetDescription(asset) {
  if (!asset.address) return 'ETH (ether)';
  const name = asset.name ? `${asset.name}, ` : '';
  return `${asset.label} (${name}ERC-20 token ${shortHex(asset.address)}${asset.assumed ? '; its decimals could not be read: 18 assumed' : ''})`;
}
