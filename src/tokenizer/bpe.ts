/**
 * GPT-2's byte-pair encoding of one pre-tokenized piece, in O(n log n).
 *
 * The rule is tiktoken's: start from single bytes and repeatedly merge the adjacent pair whose
 * concatenation has the lowest rank, the leftmost one on ties, until no adjacent pair is a token.
 * js-tiktoken rescans every pair after each merge, which is quadratic (or worse) in the piece's
 * length: 20,000 letters in a row took 86 s. Here the candidate pairs sit in a binary heap keyed by
 * (rank, start byte), and a pair is checked against the current parts when it is popped, so each
 * merge costs O(log n) and the merges happen in exactly the same order.
 */

/** Bytes as a latin1 string (one char per byte): a cheap, exact Map key. */
export function bytesKey(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i += 4096) s += String.fromCharCode(...bytes.subarray(i, Math.min(end, i + 4096)));
  return s;
}

/**
 * Min-heap of candidate merges on (rank, start): the pair tiktoken would merge next is on top.
 * Each entry is (rank, start, mid, end) in parallel typed arrays; `start`/`mid`/`end` identify the
 * pair so that entries made stale by other merges can be recognised and skipped.
 */
class CandidateHeap {
  size = 0;
  private rank: Int32Array;
  private start: Int32Array;
  private mid: Int32Array;
  private end: Int32Array;
  // The popped entry.
  topRank = 0;
  topStart = 0;
  topMid = 0;
  topEnd = 0;

  constructor(capacity: number) {
    this.rank = new Int32Array(capacity);
    this.start = new Int32Array(capacity);
    this.mid = new Int32Array(capacity);
    this.end = new Int32Array(capacity);
  }
  private less(i: number, j: number): boolean {
    return this.rank[i] < this.rank[j] || (this.rank[i] === this.rank[j] && this.start[i] < this.start[j]);
  }
  private swap(i: number, j: number): void {
    for (const a of [this.rank, this.start, this.mid, this.end]) {
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
  push(rank: number, start: number, mid: number, end: number): void {
    if (this.size === this.rank.length) this.grow();
    let i = this.size++;
    this.rank[i] = rank;
    this.start[i] = start;
    this.mid[i] = mid;
    this.end[i] = end;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  /** Removes the top entry into topRank/topStart/topMid/topEnd. */
  pop(): void {
    this.topRank = this.rank[0];
    this.topStart = this.start[0];
    this.topMid = this.mid[0];
    this.topEnd = this.end[0];
    const last = --this.size;
    if (last === 0) return;
    this.rank[0] = this.rank[last];
    this.start[0] = this.start[last];
    this.mid[0] = this.mid[last];
    this.end[0] = this.end[last];
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.less(l, m)) m = l;
      if (r < last && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
  private grow(): void {
    const more = (a: Int32Array) => {
      const b = new Int32Array(a.length * 2 + 16);
      b.set(a);
      return b;
    };
    this.rank = more(this.rank);
    this.start = more(this.start);
    this.mid = more(this.mid);
    this.end = more(this.end);
  }
}

/**
 * What the merges need: the token of each single byte, and the token (if any) that two adjacent
 * tokens concatenate to, looked up by ids and remembered, so merging builds no byte strings after
 * a pair's first sighting. GPT-2's token ids are its merge ranks.
 */
export class MergeTable {
  /** Token id of each byte 0..255. */
  readonly byteToken = new Int32Array(256).fill(-1);
  private readonly bytesOf: string[] = [];
  private readonly vocab: number;
  /** left id * vocab + right id → merged id, or -1 when the concatenation is not a token. */
  private readonly pairs = new Map<number, number>();

  /** @param ranks byte string (see bytesKey) → token id, for every token of the vocabulary */
  constructor(readonly ranks: ReadonlyMap<string, number>) {
    for (const [key, id] of ranks) {
      this.bytesOf[id] = key;
      if (key.length === 1) this.byteToken[key.charCodeAt(0)] = id;
    }
    this.vocab = this.bytesOf.length;
    if (this.byteToken.some((t) => t < 0)) throw new Error("Internal error: the vocabulary lacks a token for some byte");
  }

  /** The bytes of a token, as a latin1 string. */
  tokenBytes(id: number): string {
    const b = this.bytesOf[id];
    if (b === undefined) throw new Error(`Internal error: no bytes for token ${id}`);
    return b;
  }

  /** The token `left` + `right` concatenate to, or -1. */
  merged(left: number, right: number): number {
    const key = left * this.vocab + right;
    let id = this.pairs.get(key);
    if (id === undefined) {
      id = this.ranks.get(this.bytesOf[left] + this.bytesOf[right]) ?? -1;
      this.pairs.set(key, id);
    }
    return id;
  }
}

/**
 * The token ids of one piece (the UTF-8 bytes of a pre-tokenizer match), as tiktoken merges it.
 */
export function bytePairEncode(piece: Uint8Array, table: MergeTable): number[] {
  const n = piece.length;
  if (n <= 128) {
    const whole = table.ranks.get(bytesKey(piece, 0, n));
    if (whole !== undefined) return [whole];
  }
  // Parts as a linked list over start bytes: next[s] is the start of the part after the one at s
  // (n at the end), prev[s] the one before (-1 at the front); tok[s] is the part's token id.
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const tok = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
    tok[i] = table.byteToken[piece[i]];
  }
  const heap = new CandidateHeap(2 * n);
  const consider = (start: number) => {
    if (start < 0) return;
    const mid = next[start];
    if (mid >= n) return;
    const rank = table.merged(tok[start], tok[mid]);
    if (rank >= 0) heap.push(rank, start, mid, next[mid]);
  };
  for (let i = 0; i + 1 < n; i++) consider(i);
  while (heap.size > 0) {
    heap.pop();
    const { topRank: rank, topStart: start, topMid: mid, topEnd: end } = heap;
    // Stale: one of the two parts has been merged into something else since this was pushed.
    if (!alive[start] || !alive[mid] || next[start] !== mid || next[mid] !== end) continue;
    alive[mid] = 0;
    tok[start] = rank;
    next[start] = end;
    if (end < n) prev[end] = start;
    consider(prev[start]);
    consider(start);
  }
  const ids: number[] = [];
  for (let s = 0; s < n; s = next[s]) ids.push(tok[s]);
  return ids;
}
