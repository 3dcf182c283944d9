/**
 * idx and setIdx where the notebooks use them: inside forward hooks of a tiny random GPT-2.
 * `act[:, :, head, :] = 0` written as `return setIdx(act, [":", ":", head, ":"], 0)` must change
 * exactly that head's slice of hook_z, leave every other value as the clean run has it, and leak nothing.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HookedTransformer, tf, idx, setIdx } from "../src";
import { writeTinyCheckpoint } from "./fixtures/checkpoint";

const Z0 = "blocks.0.attn.hook_z"; // [batch, pos, head_index, d_head]
const RESID1 = "blocks.1.hook_resid_pre"; // [batch, pos, d_model]

describe("idx and setIdx inside hooks", function () {
  let dir: string;
  let model: HookedTransformer;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-tensor-hooks-"));
    writeTinyCheckpoint(path.join(dir, "tiny"), { nLayers: 2, nHeads: 4, dModel: 32, nCtx: 16 });
    model = await HookedTransformer.fromPretrained(path.join(dir, "tiny"), { warn: () => {}, onProgress: () => {} });
  });
  after(() => {
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("act[:, :, 2, :] = 0 on hook_z: a later hook sees head 2 zeroed and the rest unchanged", () => {
    const [logits, cache] = model.runWithCache("The cat sat");
    const clean = cache.get(Z0).arraySync() as number[][][][];
    logits.dispose();
    cache.dispose();
    let seen: number[][][][] = [];
    const before = tf.memory().numTensors;
    const out = model.runWithHooks("The cat sat", {
      fwdHooks: [
        [Z0, (z) => setIdx(z, [":", ":", 2, ":"], 0)],
        [Z0, (z) => { seen = z.arraySync() as number[][][][]; }],
      ],
    });
    out.dispose();
    assert.strictEqual(tf.memory().numTensors, before, "no tensor left behind");
    const expected = clean.map((b) => b.map((p) => p.map((head, h) => (h === 2 ? head.map(() => 0) : head))));
    assert.deepStrictEqual(seen, expected);
  });

  it("resid[:, 1, :] = other[:, 1, :] on resid_pre: position 1 comes from the other run", () => {
    const [l1, other] = model.runWithCache("A dog ran");
    const [l2, clean] = model.runWithCache("The cat sat");
    const otherResid = other.get(RESID1);
    const expected = clean.get(RESID1).arraySync() as number[][][];
    expected[0][1] = (otherResid.arraySync() as number[][][])[0][1];
    let seen: number[][][] = [];
    const before = tf.memory().numTensors;
    const out = model.runWithHooks("The cat sat", {
      fwdHooks: [
        [RESID1, (resid) => tf.tidy(() => setIdx(resid, [":", 1, ":"], idx(otherResid, ":", 1, ":")))],
        [RESID1, (resid) => { seen = resid.arraySync() as number[][][]; }],
      ],
    });
    out.dispose();
    assert.strictEqual(tf.memory().numTensors, before, "no tensor left behind");
    assert.deepStrictEqual(seen, expected);
    tf.dispose([l1, l2]);
    other.dispose();
    clean.dispose();
  });
});
