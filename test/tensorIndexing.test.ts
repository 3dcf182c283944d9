import * as assert from "assert";
import { tf, initBackend } from "../src/backend";
import { idx, setIdx, type IndexItem } from "../src/tensor";

/**
 * Expected values: numpy 1.24 on x = 100*i + 10*j + k of shape [2, 3, 4] (i, j, k its indices),
 * printed once with /usr/bin/python3 and stored here. Where numpy's mixed-index rule would move an
 * id list's dimension first (an integer and a list separated by a slice), the table uses the chained
 * form x[0][:, ids], which is what idx (and torch) give.
 */
const nested = [0, 1].map((i) => [0, 1, 2].map((j) => [0, 1, 2, 3].map((k) => 100 * i + 10 * j + k)));

/** Runs `fn` and checks that it left exactly `extra` more tensors behind. */
function counted<T>(fn: () => T, extra = 0): T {
  const before = tf.memory().numTensors;
  const result = fn();
  assert.strictEqual(tf.memory().numTensors, before + extra, "tensor count after the call");
  return result;
}

describe("tensor indexing", () => {
  let x: tf.Tensor3D;
  before(async () => {
    await initBackend();
    x = tf.tensor3d(nested, undefined, "int32");
  });
  after(() => x.dispose());

  describe("idx reads as numpy", () => {
    const cases: Array<{ py: string; index: IndexItem[]; shape: number[]; expected: unknown }> = [
      { py: "x[0]", index: [0], shape: [3, 4], expected: [[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]] },
      { py: "x[-1]", index: [-1], shape: [3, 4], expected: [[100, 101, 102, 103], [110, 111, 112, 113], [120, 121, 122, 123]] },
      { py: "x[:, -1]", index: [":", -1], shape: [2, 4], expected: [[20, 21, 22, 23], [120, 121, 122, 123]] },
      { py: "x[0, -1, 2]", index: [0, -1, 2], shape: [], expected: 22 },
      { py: "x[1:]", index: ["1:"], shape: [1, 3, 4], expected: [[[100, 101, 102, 103], [110, 111, 112, 113], [120, 121, 122, 123]]] },
      { py: "x[:, :2]", index: [":", ":2"], shape: [2, 2, 4], expected: [[[0, 1, 2, 3], [10, 11, 12, 13]], [[100, 101, 102, 103], [110, 111, 112, 113]]] },
      { py: "x[:, -2:]", index: [":", "-2:"], shape: [2, 2, 4], expected: [[[10, 11, 12, 13], [20, 21, 22, 23]], [[110, 111, 112, 113], [120, 121, 122, 123]]] },
      { py: "x[:, :, ::2]", index: [":", ":", "::2"], shape: [2, 3, 2], expected: [[[0, 2], [10, 12], [20, 22]], [[100, 102], [110, 112], [120, 122]]] },
      { py: "x[:, :, ::-1]", index: [":", ":", "::-1"], shape: [2, 3, 4], expected: [[[3, 2, 1, 0], [13, 12, 11, 10], [23, 22, 21, 20]], [[103, 102, 101, 100], [113, 112, 111, 110], [123, 122, 121, 120]]] },
      { py: "x[:, 2:0:-1]", index: [":", "2:0:-1"], shape: [2, 2, 4], expected: [[[20, 21, 22, 23], [10, 11, 12, 13]], [[120, 121, 122, 123], [110, 111, 112, 113]]] },
      { py: "x[:, 5:]", index: [":", "5:"], shape: [2, 0, 4], expected: [[], []] },
      { py: "x[:, -10:2]", index: [":", "-10:2"], shape: [2, 2, 4], expected: [[[0, 1, 2, 3], [10, 11, 12, 13]], [[100, 101, 102, 103], [110, 111, 112, 113]]] },
      { py: "x[:, :, 1:3]", index: [":", ":", "1:3"], shape: [2, 3, 2], expected: [[[1, 2], [11, 12], [21, 22]], [[101, 102], [111, 112], [121, 122]]] },
      { py: "x[:, [2, 0, 2]]", index: [":", [2, 0, 2]], shape: [2, 3, 4], expected: [[[20, 21, 22, 23], [0, 1, 2, 3], [20, 21, 22, 23]], [[120, 121, 122, 123], [100, 101, 102, 103], [120, 121, 122, 123]]] },
      { py: "x[0][:, [-1, 1]]", index: [0, ":", [-1, 1]], shape: [3, 2], expected: [[3, 1], [13, 11], [23, 21]] },
      { py: "x[None]", index: [null], shape: [1, 2, 3, 4], expected: [[[[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]], [[100, 101, 102, 103], [110, 111, 112, 113], [120, 121, 122, 123]]]] },
      { py: "x[:, None, 1]", index: [":", null, 1], shape: [2, 1, 4], expected: [[[10, 11, 12, 13]], [[110, 111, 112, 113]]] },
      { py: "x[1, 2, 3, None]", index: [1, 2, 3, null], shape: [1], expected: [123] },
      { py: "x[]", index: [], shape: [2, 3, 4], expected: [[[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]], [[100, 101, 102, 103], [110, 111, 112, 113], [120, 121, 122, 123]]] },
      { py: "x[1][::2, [3]]", index: [1, "::2", [3]], shape: [2, 1], expected: [[103], [123]] },
    ];
    for (const { py, index, shape, expected } of cases) {
      it(`${py} -> shape [${shape.join(", ")}], one new tensor`, () => {
        const r = counted(() => idx(x, ...index), 1);
        assert.deepStrictEqual(r.shape, shape);
        // tfjs prints an empty tensor as [] whatever its shape, so an empty result is checked by size.
        if (r.size === 0) assert.ok(shape.includes(0));
        else assert.deepStrictEqual(r.arraySync(), expected);
        assert.strictEqual(r.dtype, "int32");
        r.dispose();
      });
    }

    it("returns a tensor distinct from the input even for idx(x)", () => {
      const r = idx(x);
      assert.notStrictEqual(r, x);
      r.dispose();
      assert.deepStrictEqual(x.arraySync(), nested, "disposing the result leaves the input intact");
    });

    it("gives ranked types: W_U[:, id] is 1-D and W_U[:, ids].T type-checks as 2-D", () => {
      const W_U = tf.tensor2d([[1, 2, 3], [4, 5, 6]]); // [d_model 2, d_vocab 3]
      const column: tf.Tensor1D = idx(W_U, ":", 2);
      const picked: tf.Tensor2D = idx(W_U, ":", [2, 0]).transpose();
      const last: tf.Scalar = idx(x, 0, -1, 3);
      assert.deepStrictEqual(column.arraySync(), [3, 6]);
      assert.deepStrictEqual(picked.arraySync(), [[3, 6], [1, 4]]);
      assert.strictEqual(last.arraySync(), 23);
      tf.dispose([W_U, column, picked, last]);
    });

    const errors: Array<{ index: IndexItem[]; message: RegExp }> = [
      { index: [2], message: /idx: index 2 is out of range for dimension 0 of size 2 \(tensor shape \[2, 3, 4\]; valid indices are -2\.\.1\)/ },
      { index: [":", -4], message: /index -4 is out of range for dimension 1 of size 3/ },
      { index: [":", [0, 3]], message: /index 3 is out of range for dimension 1 of size 3/ },
      { index: [0, 0, 0, 0], message: /4 indices given for a tensor of rank 3 \(shape \[2, 3, 4\]\)/ },
      { index: [null, 0, 0, 0, 0], message: /4 indices given for a tensor of rank 3/ },
      { index: ["1-2"], message: /"1-2" for dimension 0 is not a slice \(tensor shape \[2, 3, 4\]\)/ },
      { index: ["1"], message: /"1" for dimension 0 is not a slice/ },
      { index: ["::0"], message: /step 0/ },
      { index: [0.5], message: /index 0\.5 for dimension 0 is not an integer/ },
      { index: [[0], ":", [1]], message: /2 id lists/ },
    ];
    for (const { index, message } of errors) {
      it(`rejects ${JSON.stringify(index)} clearly, leaking nothing`, () => {
        counted(() => assert.throws(() => idx(x, ...index), message));
      });
    }
  });

  describe("bool masks (numpy's t[mask])", () => {
    // Expected values worked out by hand from x = 100*i + 10*j + k.
    it("x[mask] with a mask of x's first two dimensions -> [count, 4], row-major order", () => {
      const mask = tf.tensor2d([[true, false, true], [false, false, true]], undefined, "bool");
      const r = counted(() => idx(x, mask), 1);
      assert.deepStrictEqual(r.arraySync(), [nested[0][0], nested[0][2], nested[1][2]]);
      tf.dispose([mask, r]);
    });
    it("sims[~eye] picks the off-diagonal entries of a square table", () => {
      const sims = tf.tensor2d([[1, 2], [3, 4]]);
      const offDiagonal = tf.tensor2d([[false, true], [true, false]], undefined, "bool");
      const r = counted(() => idx(sims, offDiagonal), 1);
      assert.deepStrictEqual(r.arraySync(), [2, 3]);
      tf.dispose([sims, offDiagonal, r]);
    });
    it("setIdx(scores, [mask], -Infinity) is scores[mask] = -inf on a copy", () => {
      const scores = tf.tensor2d([[1, 2], [3, 4]]);
      const upper = tf.tensor2d([[false, true], [false, false]], undefined, "bool");
      const r = counted(() => setIdx(scores, [upper], -Infinity), 1);
      assert.deepStrictEqual(r.arraySync(), [[1, -Infinity], [3, 4]]);
      assert.deepStrictEqual(scores.arraySync(), [[1, 2], [3, 4]]);
      const rows = tf.tensor1d([false, true], "bool");
      const s = counted(() => setIdx(scores, [rows], tf.scalar(9)), 2); // the result and the scalar
      assert.deepStrictEqual(s.arraySync(), [[1, 2], [9, 9]]);
      tf.dispose([scores, upper, r, rows, s]);
    });
    it("rejects a mask of the wrong shape or dtype, or mixed with other items, leaking nothing", () => {
      const wrong = tf.tensor1d([true, false, true], "bool");
      const ints = tf.tensor1d([0, 1], "int32");
      counted(() => assert.throws(() => idx(x, wrong), /mask of shape \[3\] does not match .*\[2, 3, 4\]; it must have shape \[2\]/));
      counted(() => assert.throws(() => idx(x, ints), /must be a bool mask, got dtype int32/));
      counted(() => assert.throws(() => idx(x, 0, wrong), /bool mask given as the only item/));
      const rows = tf.tensor1d([true, false], "bool");
      const two = tf.ones([2]);
      counted(() => assert.throws(() => setIdx(x, [rows], two), /one-element tensor, got shape \[2\]/));
      tf.dispose([wrong, ints, rows, two]);
    });
  });

  describe("setIdx edits a copy as numpy assignment does", () => {
    const cases: Array<{ py: string; index: IndexItem[]; value: number | unknown[]; expected: unknown }> = [
      { py: "x[:, :, 1] = 0", index: [":", ":", 1], value: 0, expected: [[[0, 0, 2, 3], [10, 0, 12, 13], [20, 0, 22, 23]], [[100, 0, 102, 103], [110, 0, 112, 113], [120, 0, 122, 123]]] },
      { py: "x[-1] = -5", index: [-1], value: -5, expected: [[[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]], [[-5, -5, -5, -5], [-5, -5, -5, -5], [-5, -5, -5, -5]]] },
      { py: "x[:, 1:, ::2] = 7", index: [":", "1:", "::2"], value: 7, expected: [[[0, 1, 2, 3], [7, 11, 7, 13], [7, 21, 7, 23]], [[100, 101, 102, 103], [7, 111, 7, 113], [7, 121, 7, 123]]] },
      { py: "x[:, [2, 0]] = 1", index: [":", [2, 0]], value: 1, expected: [[[1, 1, 1, 1], [10, 11, 12, 13], [1, 1, 1, 1]], [[1, 1, 1, 1], [110, 111, 112, 113], [1, 1, 1, 1]]] },
      { py: "x[0, :, -1] = [1, 2, 3]", index: [0, ":", -1], value: [1, 2, 3], expected: [[[0, 1, 2, 1], [10, 11, 12, 2], [20, 21, 22, 3]], [[100, 101, 102, 103], [110, 111, 112, 113], [120, 121, 122, 123]]] },
      { py: "x[:, [2, 0], 0] = [[1, 2], [3, 4]]", index: [":", [2, 0], 0], value: [[1, 2], [3, 4]], expected: [[[2, 1, 2, 3], [10, 11, 12, 13], [1, 21, 22, 23]], [[4, 101, 102, 103], [110, 111, 112, 113], [3, 121, 122, 123]]] },
      { py: "x[1, ::-1, 0] = [1, 2, 3]", index: [1, "::-1", 0], value: [1, 2, 3], expected: [[[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]], [[3, 101, 102, 103], [2, 111, 112, 113], [1, 121, 122, 123]]] },
      { py: "x[:, 1] = [9, 8, 7, 6]", index: [":", 1], value: [9, 8, 7, 6], expected: [[[0, 1, 2, 3], [9, 8, 7, 6], [20, 21, 22, 23]], [[100, 101, 102, 103], [9, 8, 7, 6], [120, 121, 122, 123]]] },
      { py: "x[:, :, [3, 3]] = [[[1, 2]]]", index: [":", ":", [3, 3]], value: [[[1, 2]]], expected: [[[0, 1, 2, 2], [10, 11, 12, 2], [20, 21, 22, 2]], [[100, 101, 102, 2], [110, 111, 112, 2], [120, 121, 122, 2]]] },
      { py: "x[:] = 4", index: [":"], value: 4, expected: [[[4, 4, 4, 4], [4, 4, 4, 4], [4, 4, 4, 4]], [[4, 4, 4, 4], [4, 4, 4, 4], [4, 4, 4, 4]]] },
      { py: "x[None, 0, 0] = [[1, 2, 3, 4]]", index: [null, 0, 0], value: [[1, 2, 3, 4]], expected: [[[1, 2, 3, 4], [10, 11, 12, 13], [20, 21, 22, 23]], [[100, 101, 102, 103], [110, 111, 112, 113], [120, 121, 122, 123]]] },
      { py: "x[:, 5:] = 1 (empty)", index: [":", "5:"], value: 1, expected: [[[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]], [[100, 101, 102, 103], [110, 111, 112, 113], [120, 121, 122, 123]]] },
    ];
    for (const { py, index, value, expected } of cases) {
      for (const as of typeof value === "number" ? ["number", "tensor"] : ["tensor"]) {
        it(`${py} (value as a ${as}), input unchanged`, () => {
          const v = as === "number" ? (value as number) : tf.tensor(value as number[], undefined, "float32");
          const r = counted(() => setIdx(x, index, v), 1);
          assert.deepStrictEqual(r.shape, [2, 3, 4]);
          assert.strictEqual(r.dtype, "int32");
          assert.deepStrictEqual(r.arraySync(), expected);
          assert.deepStrictEqual(x.arraySync(), nested, "the input is unchanged");
          r.dispose();
          if (v instanceof tf.Tensor) v.dispose();
        });
      }
    }

    it("resid[:, pos, :] = other[:, pos, :] with float tensors", () => {
      const resid = tf.zeros([1, 3, 2]);
      const other = tf.tensor3d([[[1, 2], [3, 4], [5, 6]]]);
      const r = tf.tidy(() => setIdx(resid, [":", 1, ":"], idx(other, ":", 1, ":")));
      assert.deepStrictEqual(r.arraySync(), [[[0, 0], [3, 4], [0, 0]]]);
      tf.dispose([resid, other, r]);
    });

    it("copies infinities and NaN unchanged (attention scores carry -inf)", () => {
      const scores = tf.tensor2d([[1, -Infinity], [NaN, 4]]);
      const patch = tf.tensor1d([Infinity, 5]);
      const r = counted(() => setIdx(scores, [":", 0], patch), 1);
      assert.deepStrictEqual(r.arraySync(), [[Infinity, -Infinity], [5, 4]]);
      const s = counted(() => setIdx(scores, [0, 0], -Infinity), 1);
      assert.deepStrictEqual(s.arraySync(), [[-Infinity, -Infinity], [NaN, 4]]);
      tf.dispose([scores, patch, r, s]);
    });

    it("rejects a value that does not broadcast to the region, naming both shapes and leaking nothing", () => {
      const v = tf.ones([2]);
      counted(() =>
        assert.throws(() => setIdx(x, [0, ":", "1:"], v), /value of shape \[2\] does not broadcast to the selected region of shape \[3, 3\] \(tensor shape \[2, 3, 4\]/)
      );
      v.dispose();
      counted(() => assert.throws(() => setIdx(x, [5], 0), /setIdx: index 5 is out of range for dimension 0 of size 2/));
    });
  });
});
