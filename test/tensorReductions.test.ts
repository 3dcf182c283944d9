import * as assert from "assert";
import { tf, initBackend } from "../src/backend";
import { fractionPositive, variance, normAlong, argmax, argmax2d, topK2d } from "../src/tensor";

/** Runs `fn` and checks that it left exactly `extra` more tensors behind. */
function counted<T>(fn: () => T, extra = 0): T {
  const before = tf.memory().numTensors;
  const result = fn();
  assert.strictEqual(tf.memory().numTensors, before + extra, "tensor count after the call");
  return result;
}

/** Calls fn on a tensor of ones of the given shape, disposing it afterwards. */
function withOnes(shape: number[], fn: (x: tf.Tensor) => unknown): unknown {
  const t = tf.ones(shape);
  try {
    return fn(t);
  } finally {
    t.dispose();
  }
}

/** Expected values are worked out by hand in float64 (inputs chosen exact in float32). */
describe("tensor reductions", () => {
  before(async () => {
    await initBackend();
  });

  /** Runs a number-valued reduction on an array and on a tensor of it, checking for leaks. */
  function both(values: number[], shape: number[], fn: (x: tf.Tensor | number[]) => number): number[] {
    const t = tf.tensor(values, shape);
    const out = [fn(values), counted(() => fn(t))];
    t.dispose();
    return out;
  }

  const cases: Array<{ py: string; values: number[]; shape: number[]; fn: (x: tf.Tensor | number[]) => number; expected: number }> = [
    { py: "(x > 0).float().mean() on [[1, -2, 0], [3, 0.5, -1]]", values: [1, -2, 0, 3, 0.5, -1], shape: [2, 3], fn: fractionPositive, expected: 0.5 },
    { py: "(x > 0).float().mean() on [0, 0, NaN, 2]", values: [0, 0, NaN, 2], shape: [4], fn: fractionPositive, expected: 0.25 },
    { py: "x.var() on [1, 2, 3, 4] (5 / 3)", values: [1, 2, 3, 4], shape: [4], fn: (x) => variance(x), expected: 5 / 3 },
    { py: "x.var(unbiased=False) on [1, 2, 3, 4]", values: [1, 2, 3, 4], shape: [2, 2], fn: (x) => variance(x, { unbiased: false }), expected: 1.25 },
    { py: "x.var() on [0.5, 1.5, 4] (6.5 / 2)", values: [0.5, 1.5, 4], shape: [3], fn: (x) => variance(x), expected: 3.25 },
    { py: "x.var(unbiased=False) on [0.5, 1.5, 4] (6.5 / 3)", values: [0.5, 1.5, 4], shape: [3], fn: (x) => variance(x, { unbiased: false }), expected: 6.5 / 3 },
    { py: "x.var() on [7] is nan", values: [7], shape: [1], fn: (x) => variance(x), expected: NaN },
    { py: "x.var(unbiased=False) on [7]", values: [7], shape: [1], fn: (x) => variance(x, { unbiased: false }), expected: 0 },
    { py: "x.argmax() on [1, 5, 5, 2]: the first maximum", values: [1, 5, 5, 2], shape: [4], fn: argmax, expected: 1 },
    { py: "x.argmax() on [1, nan, 7]: nan counts as largest", values: [1, NaN, 7], shape: [3], fn: argmax, expected: 1 },
    { py: "x.argmax() on [-3, -1, -2]", values: [-3, -1, -2], shape: [3], fn: argmax, expected: 1 },
  ];
  for (const { py, values, shape, fn, expected } of cases) {
    it(`${py} = ${expected} (array and tensor, no leak)`, () => {
      for (const got of both(values, shape, fn)) assert.ok(Object.is(got, expected) || got === expected, `got ${got}`);
    });
  }

  describe("normAlong", () => {
    const x = [[3, 4], [6, 8]];
    const rows: Array<{ py: string; options: { dim?: number; keepdim?: boolean }; shape: number[]; expected: number[] }> = [
      { py: "x.norm(dim=-1)", options: {}, shape: [2], expected: [5, 10] },
      { py: "x.norm(dim=-1, keepdim=True)", options: { dim: -1, keepdim: true }, shape: [2, 1], expected: [5, 10] },
      { py: "x.norm(dim=0)", options: { dim: 0 }, shape: [2], expected: [Math.sqrt(45), Math.sqrt(80)] },
      { py: "x.norm(dim=-2, keepdim=True)", options: { dim: -2, keepdim: true }, shape: [1, 2], expected: [Math.sqrt(45), Math.sqrt(80)] },
    ];
    for (const { py, options, shape, expected } of rows) {
      it(`${py} -> shape [${shape.join(", ")}]`, () => {
        const t = tf.tensor2d(x);
        const r = counted(() => normAlong(t, options), 1);
        assert.deepStrictEqual(r.shape, shape);
        Array.from(r.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6 * expected[i], `${v} vs ${expected[i]}`));
        tf.dispose([t, r]);
      });
    }
    it("rejects a dim out of range, naming the valid dims, leaking nothing", () => {
      const t = tf.ones([2, 3]);
      counted(() => assert.throws(() => normAlong(t, { dim: 2 }), /dim 2 is out of range for a tensor of shape \[2, 3\]; valid dims are -2\.\.1/));
      t.dispose();
    });
  });

  describe("argmax2d and topK2d", () => {
    const table = [[1, 9, 3], [9, 0, 2]];
    it("argmax2d: the first maximum in row-major order, on arrays and tensors", () => {
      const t = tf.tensor2d(table);
      for (const x of [table, t]) assert.deepStrictEqual(counted(() => argmax2d(x)), { row: 0, col: 1, value: 9 });
      t.dispose();
    });
    it("topK2d: largest first, ties in row-major order, on arrays and tensors", () => {
      const t = tf.tensor2d(table);
      const expected = [
        { row: 0, col: 1, value: 9 },
        { row: 1, col: 0, value: 9 },
        { row: 0, col: 2, value: 3 },
        { row: 1, col: 2, value: 2 },
      ];
      for (const x of [table, t]) assert.deepStrictEqual(counted(() => topK2d(x, 4)), expected);
      t.dispose();
    });
    it("topK2d puts NaN first and -Infinity last, as torch.topk", () => {
      assert.deepStrictEqual(topK2d([[-Infinity, NaN], [1, -Infinity]], 4), [
        { row: 0, col: 1, value: NaN },
        { row: 1, col: 0, value: 1 },
        { row: 0, col: 0, value: -Infinity },
        { row: 1, col: 1, value: -Infinity },
      ]);
    });
    const errors: Array<{ what: string; run: () => unknown; message: RegExp }> = [
      { what: "argmax on a 2-D tensor", run: () => withOnes([2, 2], argmax), message: /must be 1-D, got shape \[2, 2\].*argmax2d/ },
      { what: "argmax2d on a 1-D tensor", run: () => withOnes([3], argmax2d), message: /must be 2-D, got shape \[3\]/ },
      { what: "topK2d with k too large", run: () => topK2d(table, 7), message: /k must be an integer from 1 to 6.*got 7/ },
      { what: "argmax of nothing", run: () => argmax([]), message: /empty/ },
      { what: "ragged rows", run: () => argmax2d([[1, 2], [3]]), message: /rows of the input differ/ },
    ];
    for (const { what, run, message } of errors) {
      it(`rejects ${what} clearly, leaking nothing`, () => counted(() => assert.throws(run, message)));
    }
  });
});
