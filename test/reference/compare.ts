/**
 * Numeric comparison used by the reference and parity tests: the largest absolute difference
 * relative to the largest reference magnitude, so a tolerance reads as "float32 precision of
 * this tensor's scale". -Infinity (masked attention scores) must sit at the same places in both.
 */

export interface Comparison {
  /** max |actual - expected| over finite entries */
  maxAbsDiff: number;
  /** max |expected| over finite entries */
  maxAbsExpected: number;
  /** maxAbsDiff / (maxAbsExpected + 1e-6) */
  relative: number;
  /** Index of the largest difference (flat), or -1. */
  worstIndex: number;
  /** Entries where one side is infinite/NaN and the other is not the same infinity. */
  nonFiniteMismatches: number;
}

export function compareArrays(actual: ArrayLike<number>, expected: ArrayLike<number>): Comparison {
  if (actual.length !== expected.length) {
    throw new Error(`compareArrays: ${actual.length} values vs ${expected.length} expected`);
  }
  let maxAbsDiff = 0;
  let maxAbsExpected = 0;
  let worstIndex = -1;
  let nonFiniteMismatches = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (!(a === e)) nonFiniteMismatches += 1; // NaN never equals: counted
      continue;
    }
    const diff = Math.abs(a - e);
    if (diff > maxAbsDiff) {
      maxAbsDiff = diff;
      worstIndex = i;
    }
    maxAbsExpected = Math.max(maxAbsExpected, Math.abs(e));
  }
  return { maxAbsDiff, maxAbsExpected, relative: maxAbsDiff / (maxAbsExpected + 1e-6), worstIndex, nonFiniteMismatches };
}

/** Human-readable one-liner for assertion messages. */
export function describeComparison(name: string, c: Comparison): string {
  return `${name}: max|diff| ${c.maxAbsDiff.toExponential(3)} (at flat index ${c.worstIndex}), ` +
    `max|expected| ${c.maxAbsExpected.toExponential(3)}, relative ${c.relative.toExponential(3)}, ` +
    `non-finite mismatches ${c.nonFiniteMismatches}`;
}
