/**
 * Choosing the next token from one row of logits, as TransformerLens's `utils.sample_logits`:
 *
 *   temperature 0           → argmax (greedy; the other options are ignored, as in TransformerLens)
 *   otherwise, in this order: logits / temperature
 *                             logits − freqPenalty × (times each token occurs in the sequence so far)
 *                             topK: keep the k largest (ties with the k-th kept), the rest −∞
 *                             else topP: keep the smallest set of most likely tokens whose
 *                               probability reaches topP (the most likely always kept), the rest −∞
 *                             sample from softmax(logits)
 *
 * topK and topP are exclusive: when both are given topK wins (TransformerLens's `elif`).
 * Everything here is plain JavaScript on host arrays (no tensors), so it is cheap to test on
 * hand-made logits and repeatable with a seeded generator.
 */

/** A uniform [0, 1) generator. */
export type Random = () => number;

export interface SampleOptions {
  /** Divides the logits; 0 means greedy. Default 1. */
  temperature?: number;
  /** Sample only from the k most likely tokens. Default: all. */
  topK?: number;
  /** Sample only from the most likely tokens whose total probability reaches topP, in (0, 1]. Default: all. */
  topP?: number;
  /** Subtracted from a token's logit once per earlier occurrence (after the temperature). Default 0. */
  freqPenalty?: number;
}

/** Checks the options once, before a generation starts; errors say which value is wrong. */
export function validateSampleOptions({ temperature = 1, topK, topP, freqPenalty = 0 }: SampleOptions): void {
  if (!Number.isFinite(temperature) || temperature < 0) throw new Error(`temperature must be a number ≥ 0 (0 = greedy); got ${temperature}.`);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) throw new Error(`topK must be a positive integer; got ${topK}.`);
  if (topP !== undefined && !(topP > 0 && topP <= 1)) throw new Error(`topP must be in (0, 1]; got ${topP}.`);
  if (!Number.isFinite(freqPenalty) || freqPenalty < 0) throw new Error(`freqPenalty must be a number ≥ 0; got ${freqPenalty}.`);
}

/** Index of the largest value (the first one on ties, as torch.argmax). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * The logits the sampler draws from after temperature, frequency penalty and top-k / top-p
 * filtering (filtered tokens are −Infinity). Not for temperature 0 (that is argmax).
 * @param logits [d_vocab] @param previous the token ids so far (prompt included) @returns [d_vocab], a new array
 */
export function processLogits(logits: ArrayLike<number>, options: SampleOptions, previous: readonly number[] = []): Float64Array {
  const { temperature = 1, topK, topP, freqPenalty = 0 } = options;
  const V = logits.length;
  const out = new Float64Array(V);
  for (let i = 0; i < V; i++) out[i] = logits[i] / temperature;
  if (freqPenalty > 0) for (const t of previous) if (t >= 0 && t < V) out[t] -= freqPenalty;
  if (topK !== undefined) {
    const k = Math.min(topK, V);
    const kth = [...out].sort((a, b) => b - a)[k - 1];
    for (let i = 0; i < V; i++) if (out[i] < kth) out[i] = -Infinity;
  } else if (topP !== undefined) {
    const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => out[b] - out[a]);
    const probs = softmax(order.map((i) => out[i]));
    // Remove a token when the mass before it already exceeds topP: the one that crosses topP stays.
    let before = 0;
    for (let r = 0; r < V; r++) {
      if (r > 0 && before > topP) out[order[r]] = -Infinity;
      before += probs[r];
    }
  }
  return out;
}

/** softmax in float64; −Infinity entries get probability 0. */
export function softmax(logits: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const p = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += p[i] = Math.exp(logits[i] - max);
  for (let i = 0; i < p.length; i++) p[i] /= sum;
  return p;
}

/** A draw from softmax(logits) using one uniform number (inverse CDF). */
export function sampleCategorical(logits: ArrayLike<number>, random: Random): number {
  const p = softmax(logits);
  const u = random();
  let cumulative = 0;
  let last = 0;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === 0) continue;
    cumulative += p[i];
    last = i;
    if (u < cumulative) return i;
  }
  return last; // rounding left the total just under u
}

/**
 * The next token for one row, as TransformerLens's `sample_logits`.
 * @param logits [d_vocab] @param previous the row's tokens so far (for freqPenalty) @returns a token id
 */
export function sampleLogits(logits: ArrayLike<number>, options: SampleOptions, previous: readonly number[], random: Random): number {
  if ((options.temperature ?? 1) === 0) return argmax(logits);
  return sampleCategorical(processLogits(logits, options, previous), random);
}

/**
 * A seeded uniform [0, 1) generator (sfc32, seeded through splitmix32), so a seeded generation
 * repeats exactly: JavaScript has no torch.manual_seed. Without a seed, a random one.
 */
export function seededRandom(seed?: number): Random {
  if (seed !== undefined && !Number.isFinite(seed)) throw new Error(`seed must be a finite number; got ${seed}.`);
  let s = (seed === undefined ? Math.floor(Math.random() * 2 ** 32) : Math.floor(seed)) >>> 0;
  const splitmix = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix(), b = splitmix(), c = splitmix(), d = splitmix();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  return () => next() / 4294967296;
}
