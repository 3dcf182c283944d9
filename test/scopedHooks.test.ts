/**
 * Scoped and model-level hooks, as TransformerLens's `with model.hooks(...)`, `add_hook` and
 * `reset_hooks`: hooks are attached exactly for the scope, removed after returns, throws and
 * settled promises, nested scopes remove only their own hooks, and nothing leaks.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HookedTransformer, tf, at } from "../src";
import { writeTinyCheckpoint } from "./fixtures/checkpoint";

const Z0 = "blocks.0.attn.hook_z";
const MLP1 = "blocks.1.hook_mlp_out";

describe("scoped hooks (model.hooks, addHook, resetHooks)", function () {
  let dir: string;
  let model: HookedTransformer;
  let clean: number[];

  /** Names of hook points that have hooks attached now. */
  const attached = () => [...model.hookDict.values()].filter((h) => h.hasHooks).map((h) => h.name);
  /** Last-position logits of a fixed prompt, as numbers. */
  const lastLogits = (): number[] => tf.tidy(() => Array.from(at(model.forward("The cat sat"), 0, -1).dataSync()));
  const zero = (act: tf.Tensor) => tf.zerosLike(act);
  const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-hooks-"));
    writeTinyCheckpoint(path.join(dir, "tiny"), { nLayers: 2, nHeads: 4, dModel: 32, nCtx: 16 });
    model = await HookedTransformer.fromPretrained(path.join(dir, "tiny"), { warn: () => {}, onProgress: () => {} });
    clean = lastLogits();
  });
  after(() => {
    model?.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => model.resetHooks({ includingPermanent: true }));

  it("hooks(): the hooks act inside the scope, and are gone after it; the scope's value is returned", () => {
    const seen: string[] = [];
    const inside = model.hooks({ fwdHooks: [[MLP1, (a, h) => { seen.push(h.name); return zero(a); }]] }, () => {
      assert.deepEqual(attached(), [MLP1]);
      return lastLogits();
    });
    assert.deepEqual(seen, [MLP1]);
    assert.ok(maxDiff(inside, clean) > 1e-4, "zeroing the last MLP changed nothing");
    assert.deepEqual(attached(), []);
    assert.ok(maxDiff(lastLogits(), clean) < 1e-6);
  });

  it("hooks(): removed when the scope throws, and the error comes through unchanged", () => {
    const boom = new Error("boom in scope");
    assert.throws(() => model.hooks({ fwdHooks: [[Z0, zero]] }, () => { throw boom; }), (e) => e === boom);
    assert.deepEqual(attached(), []);
  });

  it("hooks(): removed when a hook throws during the forward pass", () => {
    assert.throws(
      () => model.hooks({ fwdHooks: [[Z0, () => { throw new Error("bad hook"); }]] }, () => model.forward("Hi")),
      /Hook on "blocks\.0\.attn\.hook_z" threw: bad hook/
    );
    assert.deepEqual(attached(), []);
  });

  it("hooks(): nested scopes remove only their own hooks, innermost first", () => {
    const order: string[] = [];
    model.hooks({ fwdHooks: [[Z0, () => { order.push("outer"); }]] }, () => {
      model.hooks({ fwdHooks: [[Z0, () => { order.push("inner"); }], [MLP1, () => { order.push("mlp"); }]] }, () => {
        assert.deepEqual(attached().sort(), [Z0, MLP1].sort());
        tf.dispose(model.forward("Hi"));
      });
      assert.deepEqual(attached(), [Z0]);
      tf.dispose(model.forward("Hi"));
    });
    assert.deepEqual(order, ["outer", "inner", "mlp", "outer"]);
    assert.deepEqual(attached(), []);
  });

  it("hooks(): an unknown name attaches nothing (all or none) and lists the closest names", () => {
    assert.throws(() => model.hooks({ fwdHooks: [[Z0, zero], ["blocks.0.hook_z", zero]] }, () => 1), /Unknown hook name "blocks\.0\.hook_z".*blocks\.0\.attn\.hook_z/);
    assert.deepEqual(attached(), []);
  });

  it("hooks(): an async scope keeps its hooks until its promise settles, resolved or rejected", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const pending = model.hooks({ fwdHooks: [[MLP1, zero]] }, async () => {
      await gate;
      return lastLogits();
    });
    assert.deepEqual(attached(), [MLP1]);
    release();
    const inside = await pending;
    assert.ok(maxDiff(inside, clean) > 1e-4);
    assert.deepEqual(attached(), []);
    await assert.rejects(model.hooks({ fwdHooks: [[MLP1, zero]] }, async () => { throw new Error("late"); }), /late/);
    assert.deepEqual(attached(), []);
  });

  it("hooks(): resetHooksEnd false leaves the hooks on until resetHooks()", () => {
    model.hooks({ fwdHooks: [[MLP1, zero]], resetHooksEnd: false }, () => undefined);
    assert.deepEqual(attached(), [MLP1]);
    model.resetHooks();
    assert.deepEqual(attached(), []);
  });

  it("hooks(): a predicate attaches to every matching hook point", () => {
    const names: string[] = [];
    model.hooks({ fwdHooks: [[(n) => n.endsWith("hook_resid_pre"), (_a, h) => { names.push(h.name); }]] }, () => tf.dispose(model.forward("Hi")));
    assert.deepEqual(names, ["blocks.0.hook_resid_pre", "blocks.1.hook_resid_pre"]);
  });

  it("runWithHooks is hooks() around forward: same logits, typed like forward, hooks removed", () => {
    const viaRun = tf.tidy(() => Array.from(at(model.runWithHooks("The cat sat", { fwdHooks: [[MLP1, zero]] }), 0, -1).dataSync()));
    const viaScope = model.hooks({ fwdHooks: [[MLP1, zero]] }, () => lastLogits());
    assert.deepEqual(viaRun, viaScope);
    const loss = model.runWithHooks("The cat sat", { fwdHooks: [[MLP1, zero]], returnType: "loss" });
    assert.equal(loss.rank, 0);
    loss.dispose();
    assert.deepEqual(attached(), []);
    assert.throws(() => model.runWithHooks("Hi", {} as never), /fwdHooks array/);
  });

  it("addHook stays until resetHooks(); permanent hooks survive it unless includingPermanent", () => {
    const calls: string[] = [];
    const remove = model.addHook(Z0, () => { calls.push("temp"); });
    model.addHook(Z0, () => { calls.push("perm"); }, { isPermanent: true });
    tf.dispose(model.forward("Hi"));
    assert.deepEqual(calls, ["temp", "perm"]);
    model.resetHooks();
    tf.dispose(model.forward("Hi"));
    assert.deepEqual(calls, ["temp", "perm", "perm"]);
    remove(); // already gone: a no-op
    model.resetHooks({ includingPermanent: true });
    assert.deepEqual(attached(), []);
  });

  it("a hook calling resetHooks() mid-run does not empty runWithCache's cache", () => {
    model.addHook(Z0, () => { model.resetHooks(); });
    const [logits, cache] = model.runWithCache("Hi");
    try {
      assert.equal(cache.size, model.hookDict.size);
    } finally {
      logits.dispose();
      cache.dispose();
    }
  });

  it("tokenizer.decode takes an id, an array or a 1-D tensor", () => {
    const ids = model.toTokens("The cat", { prependBos: false });
    const row = at(ids, 0);
    try {
      assert.equal(model.tokenizer.decode(464), "The");
      assert.equal(model.tokenizer.decode([464, 3797]), "The cat");
      assert.equal(model.tokenizer.decode(row), "The cat");
      assert.throws(() => model.tokenizer.decode(ids), /1-D sequence.*\[1, 2\]/);
    } finally {
      tf.dispose([ids, row]);
    }
  });

  it("leaks no tensors: scopes, nested scopes, throws, addHook and runWithHooks", () => {
    const before = tf.memory().numTensors;
    model.hooks({ fwdHooks: [[Z0, zero]] }, () => model.hooks({ fwdHooks: [[MLP1, zero]] }, () => tf.dispose(model.forward("Hi"))));
    assert.throws(() => model.hooks({ fwdHooks: [[Z0, () => { throw new Error("x"); }]] }, () => model.forward("Hi")));
    model.addHook(MLP1, zero);
    tf.dispose(model.runWithHooks("Hi", { fwdHooks: [[Z0, zero]] }));
    model.resetHooks();
    assert.equal(tf.memory().numTensors, before);
  });
});
