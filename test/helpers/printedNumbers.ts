/**
 * Checking a printed line against reference numbers at the printed precision: the expected line
 * is text with number slots (`num(value, ".2f")`), and each printed number must be within half a
 * unit of its last digit of the float64 reference, plus float32 slack (the library computes in
 * float32, so a value that lies on a rounding boundary may print either way).
 */
import * as assert from "assert";

/** A number slot: the reference value and the Python format spec the notebook prints it with. */
export interface NumberSlot {
  value: number;
  spec: string;
}
export type LinePart = string | NumberSlot;

/** Relative float32 slack on top of the printed half-unit. */
export const FLOAT32_SLACK = 1e-4;

export function num(value: number, spec: string): NumberSlot {
  return { value, spec };
}

function parseSpec(spec: string): { sign: boolean; decimals: number; percent: boolean } {
  const m = /^(\+)?\.(\d+)([f%])$/.exec(spec);
  if (!m) throw new Error(`printedNumbers: unsupported spec ${JSON.stringify(spec)} (use "[+].Nf" or ".N%")`);
  return { sign: m[1] === "+", decimals: Number(m[2]), percent: m[3] === "%" };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Asserts `actual` is the expected line: literal parts equal, each number within its printed precision. */
export function expectLine(actual: string, parts: LinePart[], what = "line"): void {
  const slots = parts.filter((p): p is NumberSlot => typeof p !== "string");
  const pattern = parts
    .map((p) => {
      if (typeof p === "string") return escapeRegExp(p);
      const { sign, decimals, percent } = parseSpec(p.spec);
      return `(${sign ? "[+-]" : "-?"}\\d+\\.\\d{${decimals}})${percent ? "%" : ""}`;
    })
    .join("");
  const expectedText = parts.map((p) => (typeof p === "string" ? p : `<${p.value} as ${p.spec}>`)).join("");
  const m = new RegExp(`^${pattern}$`).exec(actual);
  assert.ok(m, `${what}: printed ${JSON.stringify(actual)}, expected the form ${JSON.stringify(expectedText)}`);
  slots.forEach((slot, i) => {
    const { decimals, percent } = parseSpec(slot.spec);
    const printed = Number(m[i + 1]);
    const expected = percent ? slot.value * 100 : slot.value;
    const tol = 0.5 * 10 ** -decimals + FLOAT32_SLACK * Math.max(1, Math.abs(expected));
    assert.ok(
      Math.abs(printed - expected) <= tol,
      `${what}: number ${i + 1} printed ${m[i + 1]}, reference ${expected} (${slot.spec}, tolerance ${tol.toExponential(2)}) in ${JSON.stringify(actual)}`
    );
  });
}

/** Asserts every line in turn (same count). */
export function expectLines(actual: string[], expected: LinePart[][], what: string): void {
  assert.strictEqual(actual.length, expected.length, `${what}: ${actual.length} lines printed, ${expected.length} expected:\n${actual.join("\n")}`);
  actual.forEach((line, i) => expectLine(line, expected[i], `${what}, line ${i + 1}`));
}

/**
 * The order a notebook printed `printedKeys` in agrees with the reference ranking `reference`
 * (best first): position by position the printed key is the reference's, or one whose score is
 * within `tol` of it (a near tie that float32 may order either way).
 */
export function expectRanking(printedKeys: string[], reference: [string, number][], score: (v: number) => number, what: string, tol = 1e-4): void {
  const scores = new Map(reference);
  assert.strictEqual(new Set(printedKeys).size, printedKeys.length, `${what}: a key printed twice: ${printedKeys.join(", ")}`);
  printedKeys.forEach((key, i) => {
    assert.ok(scores.has(key), `${what}: printed ${key}, which the reference does not have`);
    const want = reference[i];
    const diff = Math.abs(score(scores.get(key)!) - score(want[1]));
    assert.ok(key === want[0] || diff <= tol, `${what}: position ${i + 1} printed ${key} (${scores.get(key)}), reference ${want[0]} (${want[1]})`);
  });
}
