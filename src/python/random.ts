/**
 * `pyRandom(seed)`: Python's `random.Random(seed)` reproduced bit for bit, so a notebook that samples
 * with `random.seed(42); random.sample(range(50257), 100)` picks the same tokens here.
 *
 * The generator is the Mersenne Twister MT19937 that CPython uses; an integer seed is split into
 * 32-bit words (least significant first) and fed to MT19937's init_by_array, as CPython's
 * `random_seed` does for ints; `random()` builds a 53-bit float from two outputs; integer draws
 * use `_randbelow` by rejection with `getrandbits(k)`; `sample` switches between a pool and a set of
 * picked positions at the same population size as Lib/random.py in CPython 3.11. Tested against
 * values printed by CPython 3.11.
 *
 * Only integer seeds are supported (CPython hashes strings and other objects with SHA-512 first).
 */

const N = 624;
const M = 397;

/** MT19937 state and its 32-bit output. */
class Mt19937 {
  private readonly mt = new Uint32Array(N);
  private index = N + 1;

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.index = N;
  }

  /** MT19937's init_by_array with the given 32-bit words. */
  initByArray(key: readonly number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.index = N;
  }

  private twist(): void {
    const mt = this.mt;
    for (let kk = 0; kk < N; kk++) {
      const y = (mt[kk] & 0x80000000) | (mt[(kk + 1) % N] & 0x7fffffff);
      mt[kk] = mt[(kk + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.index = 0;
  }

  /** The next 32-bit output, as an unsigned integer. */
  next(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }
}

/** The 32-bit words of |seed|, least significant first (at least one word), as CPython's random_seed. */
function seedWords(seed: number | bigint): number[] {
  if (typeof seed === "number" && !Number.isSafeInteger(seed)) {
    throw new Error(
      `pyRandom: the seed must be an integer (a safe integer number or a bigint), got ${seed}. ` +
        `Python's string and float seeds are not supported.`
    );
  }
  let a = BigInt(seed);
  if (a < 0n) a = -a;
  const words: number[] = [];
  do {
    words.push(Number(a & 0xffffffffn));
    a >>= 32n;
  } while (a > 0n);
  return words;
}

/** The sequence a sample or choice draws from: an array, or a length n meaning Python's range(n). */
export type Population<T> = readonly T[] | number;

/** Python's `random.Random`: see the module comment. Create one with `pyRandom(seed)`. */
export class PyRandom {
  private readonly mt = new Mt19937();

  constructor(seed: number | bigint) {
    this.seed(seed);
  }

  /** `random.seed(a)` for an integer a: restarts the sequence. */
  seed(seed: number | bigint): void {
    this.mt.initByArray(seedWords(seed));
  }

  /** `random.random()`: a float in [0, 1) with 53 random bits. */
  random(): number {
    const a = this.mt.next() >>> 5; // 27 bits
    const b = this.mt.next() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** `random.getrandbits(k)` for 0 <= k <= 53 (the result must fit a double exactly). */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > 53) {
      throw new Error(`PyRandom.getrandbits: k must be an integer from 0 to 53 here, got ${k}.`);
    }
    if (k === 0) return 0;
    if (k <= 32) return this.mt.next() >>> (32 - k);
    // Least significant word first; the last (most significant) word keeps its top k - 32 bits.
    const low = this.mt.next();
    const high = this.mt.next() >>> (64 - k);
    return high * 4294967296 + low;
  }

  /** CPython's `_randbelow(n)`: uniform in [0, n) by rejection with getrandbits(n.bit_length()). */
  private randbelow(n: number): number {
    const bits = n.toString(2).length; // n.bit_length()
    let r = this.getrandbits(bits);
    while (r >= n) r = this.getrandbits(bits);
    return r;
  }

  /** `random.randrange(start, stop)` (step 1); `randrange(stop)` is `randrange(0, stop)`. */
  randrange(start: number, stop?: number): number {
    if (stop === undefined) [start, stop] = [0, start];
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(stop)) {
      throw new Error(`PyRandom.randrange: bounds must be integers, got ${start} and ${stop}.`);
    }
    if (stop - start < 1) throw new Error(`PyRandom.randrange: empty range (${start}, ${stop}); stop must exceed start.`);
    return start + this.randbelow(stop - start);
  }

  /** `random.randint(a, b)`: an integer in [a, b], both ends included. */
  randint(a: number, b: number): number {
    return this.randrange(a, b + 1);
  }

  /** `random.uniform(a, b)`: a + (b - a) * random(). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.random();
  }

  /** `random.choice(seq)`; a number n means range(n). */
  choice<T>(population: readonly T[]): T;
  choice(population: number): number;
  choice<T>(population: Population<T>): T | number {
    const n = typeof population === "number" ? population : population.length;
    if (n === 0) throw new Error("PyRandom.choice: cannot choose from an empty sequence.");
    const j = this.randbelow(n);
    return typeof population === "number" ? j : population[j];
  }

  /** `random.shuffle(x)`: shuffles the array in place (as Python; returns nothing). */
  shuffle(x: unknown[]): void {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      [x[i], x[j]] = [x[j], x[i]];
    }
  }

  /**
   * `random.sample(population, k)`: k distinct positions drawn without replacement, in selection
   * order. A number n as population means `range(n)`, so `sample(50257, 100)` is
   * `random.sample(range(50257), 100)`. The population is not changed.
   */
  sample<T>(population: readonly T[], k: number): T[];
  sample(population: number, k: number): number[];
  sample<T>(population: Population<T>, k: number): Array<T | number> {
    const n = typeof population === "number" ? population : population.length;
    const at = (j: number): T | number => (typeof population === "number" ? j : population[j]);
    if (!Number.isInteger(k) || k < 0 || k > n) {
      throw new Error(`PyRandom.sample: k must be an integer from 0 to ${n} (the population size), got ${k}.`);
    }
    const result: Array<T | number> = new Array(k);
    // CPython's threshold: below it a copied pool is cheaper than a set of picked positions.
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    if (n <= setsize) {
      const pool = Array.from({ length: n }, (_, j) => at(j));
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        result[i] = pool[j];
        pool[j] = pool[n - i - 1];
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        result[i] = at(j);
      }
    }
    return result;
  }
}

/**
 * `random.Random(seed)`: a generator whose draws equal CPython's for the same integer seed.
 * @example pyRandom(42).sample(50257, 100)   // random.seed(42); random.sample(range(50257), 100)
 */
export function pyRandom(seed: number | bigint): PyRandom {
  return new PyRandom(seed);
}
