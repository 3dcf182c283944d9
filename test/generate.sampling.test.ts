/**
 * The sampler's rules (TransformerLens's utils.sample_logits) as tables on hand-made logits, the
 * seeded generator, and the progress bar. model.generate itself: generate.test.ts.
 */
import { strict as assert } from "assert";
import { stderrProgress } from "../src/generation/progress";
import { argmax, processLogits, sampleCategorical, sampleLogits, seededRandom, validateSampleOptions } from "../src/generation/sampling";

describe("sampling (hand-made logits)", () => {
  const table: { name: string; logits: number[]; options: Parameters<typeof processLogits>[1]; previous?: number[]; expected: number[] }[] = [
    { name: "temperature 2 halves the logits", logits: [1, 2, 3, -4], options: { temperature: 2 }, expected: [0.5, 1, 1.5, -2] },
    { name: "temperature 0.5 doubles them", logits: [1, 2, 3, -4], options: { temperature: 0.5 }, expected: [2, 4, 6, -8] },
    { name: "topK 2 keeps the two largest", logits: [1, 3, 2, 0], options: { topK: 2 }, expected: [-Infinity, 3, 2, -Infinity] },
    { name: "topK keeps ties with the k-th", logits: [1, 3, 2, 3], options: { topK: 2 }, expected: [-Infinity, 3, -Infinity, 3] },
    { name: "topK past the vocabulary keeps all", logits: [1, 3, 2], options: { topK: 10 }, expected: [1, 3, 2] },
    // probabilities 0.5, 0.3, 0.15, 0.05 (logits are their logs)
    { name: "topP 0.4 keeps the most likely only", logits: [0.5, 0.3, 0.15, 0.05].map(Math.log), options: { topP: 0.4 }, expected: [Math.log(0.5), -Infinity, -Infinity, -Infinity] },
    { name: "topP 0.6 keeps the token that crosses it", logits: [0.3, 0.5, 0.05, 0.15].map(Math.log), options: { topP: 0.6 }, expected: [Math.log(0.3), Math.log(0.5), -Infinity, -Infinity] },
    { name: "topP 0.9 keeps three", logits: [0.5, 0.3, 0.15, 0.05].map(Math.log), options: { topP: 0.9 }, expected: [0.5, 0.3, 0.15, -Infinity].map((p) => (p < 0 ? p : Math.log(p))) },
    { name: "topP 1 keeps all", logits: [0.5, 0.3, 0.15, 0.05].map(Math.log), options: { topP: 1 }, expected: [0.5, 0.3, 0.15, 0.05].map(Math.log) },
    { name: "topK wins over topP", logits: [0.5, 0.3, 0.15, 0.05].map(Math.log), options: { topK: 3, topP: 0.4 }, expected: [0.5, 0.3, 0.15, -Infinity].map((p) => (p < 0 ? p : Math.log(p))) },
    { name: "freqPenalty subtracts per occurrence", logits: [2, 2, 2, 2], options: { freqPenalty: 0.5 }, previous: [1, 1, 3], expected: [2, 1, 2, 1.5] },
    { name: "freqPenalty comes after the temperature", logits: [2, 2, 2, 2], options: { temperature: 2, freqPenalty: 0.5 }, previous: [1, 1, 3], expected: [1, 0, 1, 0.5] },
    { name: "freqPenalty before topK", logits: [3, 2, 1, 0], options: { freqPenalty: 2, topK: 2 }, previous: [0], expected: [1, 2, 1, -Infinity] },
  ];
  for (const row of table) {
    it(row.name, () => {
      const got = Array.from(processLogits(row.logits, row.options, row.previous));
      assert.equal(got.length, row.expected.length);
      got.forEach((g, i) => {
        const e = row.expected[i];
        if (e === -Infinity) assert.equal(g, -Infinity, `index ${i}: ${got}`);
        else assert.ok(Math.abs(g - e) < 1e-12, `index ${i}: got ${g}, expected ${e}`);
      });
    });
  }

  it("temperature 0 is argmax (first of equal maxima), whatever the random numbers", () => {
    const cases: [number[], number][] = [[[0, 5, 1], 1], [[7, 7, 1], 0], [[-3, -1, -2], 1]];
    for (const [logits, id] of cases) {
      assert.equal(argmax(logits), id);
      assert.equal(sampleLogits(logits, { temperature: 0, topK: 1, freqPenalty: 9 }, [id], () => 0.999), id);
    }
  });

  it("draws follow softmax and never pick a filtered token", () => {
    const random = seededRandom(7);
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleCategorical([0.5, 0.3, 0.2, 0].map(Math.log), random)]++;
    [0.5, 0.3, 0.2, 0].forEach((p, i) => assert.ok(Math.abs(counts[i] / n - p) < 0.015, `token ${i}: ${counts[i] / n} vs ${p}`));
    const topK1 = [0, 0, 0];
    for (let i = 0; i < 200; i++) topK1[sampleLogits([1, 2, 1.9], { topK: 1 }, [], random)]++;
    assert.deepEqual(topK1, [0, 200, 0]);
  });

  it("a seed repeats its sequence; another seed differs", () => {
    const take = (r: () => number) => Array.from({ length: 5 }, r);
    const a = take(seededRandom(42));
    assert.deepEqual(take(seededRandom(42)), a);
    assert.notDeepEqual(take(seededRandom(43)), a);
    for (const x of take(seededRandom(1))) assert.ok(x >= 0 && x < 1);
  });

  const bad: [Parameters<typeof validateSampleOptions>[0], RegExp][] = [
    [{ temperature: -1 }, /temperature must be a number ≥ 0/],
    [{ temperature: NaN }, /temperature/],
    [{ topK: 0 }, /topK must be a positive integer; got 0/],
    [{ topK: 1.5 }, /topK/],
    [{ topP: 0 }, /topP must be in \(0, 1\]; got 0/],
    [{ topP: 1.2 }, /topP/],
    [{ freqPenalty: -1 }, /freqPenalty must be a number ≥ 0/],
  ];
  for (const [options, message] of bad) it(`rejects ${JSON.stringify(options)}`, () => assert.throws(() => validateSampleOptions(options), message));
});

describe("progress bar (verbose)", () => {
  /** Runs fn with a fake clock and captures stderr. */
  function capture(fn: (advance: (ms: number) => void) => void): string {
    const realNow = Date.now;
    const realWrite = process.stderr.write;
    let now = 1_000_000;
    let out = "";
    Date.now = () => now;
    process.stderr.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stderr.write;
    try {
      fn((ms) => (now += ms));
    } finally {
      Date.now = realNow;
      process.stderr.write = realWrite;
    }
    return out;
  }
  it("quiet during the first second and when verbose is false; then a bar with the rate, ended by a newline", () => {
    const short = capture((advance) => {
      const p = stderrProgress(10, { enabled: true });
      advance(900);
      p.update(5);
      p.close();
    });
    assert.equal(short, "");
    const off = capture((advance) => {
      const p = stderrProgress(10, { enabled: false });
      advance(5000);
      p.update(10);
      p.close();
    });
    assert.equal(off, "");
    const long = capture((advance) => {
      const p = stderrProgress(10, { enabled: true });
      advance(2000);
      p.update(4);
      advance(50); // under 100 ms since the last draw: skipped
      p.update(5);
      advance(450);
      p.update(10);
      p.close();
    });
    assert.equal(long, `\rgenerate: 4/10 [${"█".repeat(8)}${" ".repeat(12)}] 2.0 tokens/s\rgenerate: 10/10 [${"█".repeat(20)}] 4.0 tokens/s\n`);
  });
});
