// Re-derive an entry's head in the browser (docs/ledger-format.md):
//   head_n = keccak256(abi.encode(bytes32 head_{n-1}, uint64 seq, uint8 kind, uint256 campaignId,
//                                 address account, uint256 amount, bytes32 detail))
// Keccak-256 from @noble/hashes (audited), served from node_modules at /vendor/noble-hashes/
import { keccak_256 } from '/vendor/noble-hashes/sha3.js';
import { bytesToHex } from '/vendor/noble-hashes/utils.js';

const KINDS = {
  campaign_created: 1, pledged: 2, unpledged: 3, cancelled: 4, claimed: 5, refunded: 6, fees_withdrawn: 7,
};

function word(value) {
  const out = new Uint8Array(32);
  let v = BigInt(value);
  if (v < 0n || v >= 1n << 256n) throw new RangeError('not a uint256');
  for (let i = 31; i >= 0; i -= 1) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

const hexWord = (hex) => word(BigInt(hex));

/** The head `entry` must have, given the head before it. */
export function expectedHead(entry, previousHead) {
  const kind = entry.kind ?? KINDS[entry.kind_name];
  const words = [
    hexWord(previousHead), word(entry.seq), word(kind), word(entry.campaign_id),
    hexWord(entry.account), word(entry.amount), hexWord(entry.detail),
  ];
  const preimage = new Uint8Array(224);
  words.forEach((w, i) => preimage.set(w, i * 32));
  return `0x${bytesToHex(keccak_256(preimage))}`;
}
