/**
 * Sparse autoencoders: configs of both SAELens generations, encode/decode/forward against the float64
 * reference, fromPretrained of gpt2-small-res-jb through the loopback hub and through SAE_OVERRIDE_DIR,
 * every bad input with its error and nothing left behind, and a leak check for each public operation.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HookedTransformer, SAE, initBackend, tf } from "../src";
import { saeConfigFromDict } from "../src/sae";
import { writeTinyCheckpoint } from "./fixtures/checkpoint";
import { GPT2_SMALL_RES_JB_IDS, SaeFixtureOptions, saeCfgJson, writeGpt2SmallResJbFixture, writeSaeFixture } from "./fixtures/sae";
import { LoopbackHub, LoopbackHubFile } from "./helpers/loopbackHub";
import { compareArrays } from "./reference/compare";
import { ReferenceSae, readReferenceSae, referenceDecode, referenceEncode } from "./reference/sae";
import { assertFailsCleanly } from "./helpers/assertions";

const REPO = "jbloom/GPT2-Small-SAEs-Reformatted";
const ENV_VARS = ["SAE_OVERRIDE_DIR", "HF_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HUB_CACHE", "HF_HOME"];
const quiet = { onProgress: () => {}, warn: () => {} };

function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mechinterp-sae-${tag}-`));
}

/** Every file under `dir`, relative, sorted (to show that a failed call wrote nothing). */
function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => !fs.statSync(path.join(dir, f)).isDirectory()).sort();
}

/** Deterministic inputs of unit scale. */
function inputs(n: number, seed = 7): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 4 - 2;
  }
  return out;
}

function assertClose(actual: tf.Tensor, expected: ArrayLike<number>, what: string, tol = 1e-5): void {
  const c = compareArrays(actual.dataSync(), expected);
  assert.ok(c.relative < tol, `${what}: relative difference ${c.relative.toExponential(2)} (max abs ${c.maxAbsDiff}) over ${tol}`);
}

describe("SAE", function () {
  let root: string;
  let saved: Record<string, string | undefined>;

  before(async () => {
    root = tmpDir("root");
    await initBackend();
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  beforeEach(() => {
    saved = Object.fromEntries(ENV_VARS.map((k) => [k, process.env[k]]));
    for (const k of ENV_VARS) delete process.env[k];
  });
  afterEach(() => {
    for (const k of ENV_VARS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  describe("config (cfg.json of both SAELens generations)", () => {
    const pre6 = saeCfgJson({ generation: "pre6", dIn: 8, dSae: 16, hookName: "blocks.8.hook_resid_pre" });
    const v6 = saeCfgJson({ generation: "6", dIn: 8, dSae: 16, hookName: "blocks.3.hook_resid_post" });

    const table: [string, Record<string, unknown>, Partial<Record<string, unknown>>][] = [
      ["pre-6.0 (hook_point, hook_point_layer; defaults)", pre6, { dIn: 8, dSae: 16, hookName: "blocks.8.hook_resid_pre", hookLayer: 8, applyBDecToInput: true, dtype: "torch.float32", saeLensVersion: null }],
      ["6.x (metadata.hook_name)", v6, { dIn: 8, dSae: 16, hookName: "blocks.3.hook_resid_post", hookLayer: 3, applyBDecToInput: true, dtype: "float32", saeLensVersion: "6.12.1" }],
      ["pre-6.0, apply_b_dec_to_input false", { ...pre6, apply_b_dec_to_input: false }, { applyBDecToInput: false }],
      ["pre-6.0, normalize_activations false (old boolean form)", { ...pre6, normalize_activations: false }, { normalizeActivations: "none" }],
      ["pre-6.0, activation_fn_str relu", { ...pre6, activation_fn_str: "relu" }, { activationFn: "relu" }],
      ["hook outside the blocks: no layer", { ...pre6, hook_point: "hook_embed", hook_point_layer: undefined }, { hookName: "hook_embed", hookLayer: null }],
    ];
    for (const [what, raw, expected] of table) {
      it(`${what} → ${JSON.stringify(expected)}`, () => {
        const { cfg } = saeConfigFromDict(raw, "cfg.json");
        for (const [k, v] of Object.entries(expected)) assert.deepEqual((cfg as unknown as Record<string, unknown>)[k], v, k);
      });
    }

    it("cfgDict is renamed to the 6.x names with SAELens's defaults; the input is untouched", () => {
      const copy = JSON.parse(JSON.stringify(pre6));
      const { cfgDict } = saeConfigFromDict(copy, "cfg.json");
      assert.equal(cfgDict.hook_name, "blocks.8.hook_resid_pre");
      assert.equal(cfgDict.hook_head_index, null);
      assert.equal("hook_point" in cfgDict, false);
      assert.deepEqual([cfgDict.apply_b_dec_to_input, cfgDict.normalize_activations, cfgDict.architecture, cfgDict.activation_fn], [true, "none", "standard", "relu"]);
      assert.deepEqual(copy, pre6);
    });

    const errors: [string, Record<string, unknown>, RegExp[]][] = [
      ["architecture jumprelu (6.x)", { ...v6, architecture: "jumprelu" }, [/unsupported architecture "jumprelu"/, /field "architecture"/, /"standard"/]],
      ["architecture gated (pre-6)", { ...pre6, architecture: "gated" }, [/field "architecture"/, /"gated"/]],
      ["activation_fn_str topk (pre-6)", { ...pre6, activation_fn_str: "topk" }, [/field "activation_fn"/, /"topk"/]],
      ["normalize_activations true (pre-6 boolean)", { ...pre6, normalize_activations: true }, [/field "normalize_activations"/, /expected_average_only_in/]],
      ["normalize_activations layer_norm (6.x)", { ...v6, normalize_activations: "layer_norm" }, [/field "normalize_activations"/, /"layer_norm"/]],
      ["reshape_activations hook_z", { ...v6, reshape_activations: "hook_z" }, [/field "reshape_activations"/]],
      ["no hook name", { ...pre6, hook_point: undefined }, [/no hook name/, /hook_point/]],
      ["d_sae missing", { ...pre6, d_sae: undefined }, [/"d_sae" must be a positive integer/]],
      ["not an object", [] as unknown as Record<string, unknown>, [/not a JSON object/]],
    ];
    for (const [what, raw, patterns] of errors) {
      it(`rejects ${what}`, () => assert.throws(() => saeConfigFromDict(raw, "x/cfg.json"), (e: Error) => patterns.every((p) => p.test(e.message)) && /x\/cfg\.json/.test(e.message)));
    }
  });

  describe("encode / decode / forward against the float64 reference", () => {
    const cases: [string, SaeFixtureOptions][] = [
      ["pre-6.0 config, F32", { generation: "pre6" }],
      ["6.x config, F32", { generation: "6" }],
      ["apply_b_dec_to_input false", { generation: "6", applyBDecToInput: false }],
      ["BF16 weights (widened to float32)", { generation: "pre6", dtype: "BF16" }],
    ];
    for (const [what, opts] of cases) {
      describe(what, () => {
        let dir: string;
        let sae: SAE;
        let ref: ReferenceSae;
        before(async () => {
          dir = path.join(root, `enc-${what.replace(/\W+/g, "-")}`);
          writeSaeFixture(dir, { dIn: 64, dSae: 256, ...opts });
          sae = await SAE.fromDir(dir);
          ref = readReferenceSae(dir);
        });
        after(() => sae.dispose());

        for (const shape of [[64], [5, 64], [2, 3, 64]]) {
          it(`input ${JSON.stringify(shape)}: encode → [..., 256], decode → [..., 64], forward = decode(encode)`, () => {
            const n = shape.reduce((a, b) => a * b, 1);
            const data = inputs(n);
            const x = tf.tensor(data, shape);
            const before = tf.memory().numTensors;
            const f = sae.encode(x);
            const xHat = sae.decode(f);
            const fwd = sae.forward(x);
            assert.equal(tf.memory().numTensors, before + 3, "each call returns exactly one new tensor");
            assert.deepEqual(f.shape, [...shape.slice(0, -1), 256]);
            assert.deepEqual(xHat.shape, shape);
            const refF = referenceEncode(ref, data);
            assertClose(f, refF, "encode");
            assertClose(xHat, referenceDecode(ref, f.dataSync()), "decode");
            assertClose(fwd, referenceDecode(ref, refF), "forward", 1e-4);
            const active = refF.filter((v) => v > 0).length / refF.length;
            assert.ok(active > 0.05 && active < 0.95, `fixture should have some features on, some off (${active})`);
            assert.deepEqual(Array.from(x.dataSync()), Array.from(data), "input untouched");
            for (const t of [x, f, xHat, fwd]) t.dispose();
          });
        }
      });
    }

    it("weights have SAELens's names and shapes; cfg exposes dIn, dSae, hookName, hookLayer", async () => {
      const dir = path.join(root, "shapes");
      writeSaeFixture(dir, { dIn: 16, dSae: 48, hookName: "blocks.5.hook_resid_pre" });
      const sae = await SAE.fromDir(dir);
      assert.deepEqual([sae.W_enc.shape, sae.b_enc.shape, sae.W_dec.shape, sae.b_dec.shape], [[16, 48], [48], [48, 16], [16]]);
      assert.deepEqual([sae.cfg.dIn, sae.cfg.dSae, sae.cfg.hookName, sae.cfg.hookLayer], [16, 48, "blocks.5.hook_resid_pre", 5]);
      const ref = readReferenceSae(dir);
      assertClose(sae.W_dec, ref.W_dec, "W_dec", 1e-7);
      sae.dispose();
    });
  });

  describe("fromPretrained through the loopback hub", () => {
    let hub: LoopbackHub;
    let cacheDir: string;
    let withSparsity: string;
    let withoutSparsity: string;

    before(async () => {
      withSparsity = path.join(root, "hub", "blocks.8.hook_resid_pre");
      withoutSparsity = path.join(root, "hub", "blocks.0.hook_resid_pre");
      writeSaeFixture(withSparsity, { hookName: "blocks.8.hook_resid_pre", dIn: 32, dSae: 96 });
      writeSaeFixture(withoutSparsity, { hookName: "blocks.0.hook_resid_pre", dIn: 32, dSae: 96, sparsity: false });
      const files: Record<string, LoopbackHubFile> = {};
      for (const dir of [withSparsity, withoutSparsity]) {
        for (const f of fs.readdirSync(dir)) files[`${path.basename(dir)}/${f}`] = { content: fs.readFileSync(path.join(dir, f)), lfs: f !== "cfg.json" };
      }
      // A folder whose weights file is missing, for the error test.
      files["blocks.3.hook_resid_pre/cfg.json"] = files["blocks.0.hook_resid_pre/cfg.json"];
      hub = await LoopbackHub.start({ repoId: REPO, files });
    });
    after(async () => hub.close());
    beforeEach(() => {
      cacheDir = tmpDir("cache");
    });
    afterEach(() => fs.rmSync(cacheDir, { recursive: true, force: true }));

    const load = (saeId: string, extra: object = {}) =>
      SAE.fromPretrained({ release: "gpt2-small-res-jb", saeId, cacheDir, endpoint: hub.url, ...quiet, ...extra });

    it("downloads cfg.json, the weights and sparsity into the HF cache; a second load makes no request", async () => {
      const before = tf.memory().numTensors;
      const events: string[] = [];
      const first = await load("blocks.8.hook_resid_pre", { onProgress: (e: { status: string; file: string }) => events.push(`${e.status} ${e.file}`) });
      assert.ok(events.includes("done blocks.8.hook_resid_pre/sae_weights.safetensors"), events.join("; "));
      assert.deepEqual([first.sae.cfg.dIn, first.sae.cfg.dSae, first.sae.cfg.hookName], [32, 96, "blocks.8.hook_resid_pre"]);
      assert.equal(first.cfgDict.hook_name, "blocks.8.hook_resid_pre");
      const ref = readReferenceSae(withSparsity);
      assert.ok(first.sparsity);
      assert.deepEqual(first.sparsity.shape, [96]);
      assertClose(first.sparsity, ref.sparsity!, "sparsity", 1e-7);
      const x = tf.tensor(inputs(3 * 32), [1, 3, 32]);
      const f = first.sae.encode(x);
      assertClose(f, referenceEncode(ref, x.dataSync()), "encode after download");
      tf.dispose([x, f, first.sparsity]);
      first.sae.dispose();
      const snapshot = path.join(cacheDir, "models--jbloom--GPT2-Small-SAEs-Reformatted", "snapshots", hub.commit, "blocks.8.hook_resid_pre");
      assert.deepEqual(fs.readdirSync(snapshot).sort(), ["cfg.json", "sae_weights.safetensors", "sparsity.safetensors"]);

      const requests = hub.requests.length;
      const second = await load("blocks.8.hook_resid_pre");
      assert.equal(hub.requests.length, requests, "the second load must be served from the cache");
      second.sae.dispose();
      second.sparsity?.dispose();
      assert.equal(tf.memory().numTensors, before, "load + dispose leaks nothing");
    });

    it("an SAE without sparsity.safetensors gives sparsity null, and the absence is cached too", async () => {
      const first = await load("blocks.0.hook_resid_pre");
      assert.equal(first.sparsity, null);
      first.sae.dispose();
      const noExist = path.join(cacheDir, "models--jbloom--GPT2-Small-SAEs-Reformatted", ".no_exist", hub.commit, "blocks.0.hook_resid_pre", "sparsity.safetensors");
      assert.ok(fs.existsSync(noExist), "the missing file is recorded as huggingface_hub does");
      const requests = hub.requests.length;
      const second = await load("blocks.0.hook_resid_pre");
      assert.equal(hub.requests.length, requests);
      assert.equal(second.sparsity, null);
      second.sae.dispose();
    });

    it("a release folder without sae_weights.safetensors fails naming the file", async () => {
      await assertFailsCleanly(() => load("blocks.3.hook_resid_pre"), /blocks\.3\.hook_resid_pre\/sae_weights\.safetensors was not found/, /404/);
    });

    it("offline with an empty cache: the error points at SAE_OVERRIDE_DIR, not the model's variable", async () => {
      process.env.HF_HUB_OFFLINE = "1";
      const err = await assertFailsCleanly(() => load("blocks.8.hook_resid_pre"), /not in the cache/, /set SAE_OVERRIDE_DIR/, /SAE\.fromDir/);
      assert.doesNotMatch(err.message, /MODEL_OVERRIDE_DIR/);
    });

    it("unknown release or saeId fail before any request, listing the known names, writing nothing", async () => {
      const requests = hub.requests.length;
      await assertFailsCleanly(() => SAE.fromPretrained({ release: "gpt2-small-res-xx", saeId: "blocks.8.hook_resid_pre", cacheDir, endpoint: hub.url, ...quiet }), /Unknown SAE release "gpt2-small-res-xx"/, /Known releases: gpt2-small-res-jb/);
      const err = await assertFailsCleanly(() => load("blocks.12.hook_resid_pre"), /no SAE "blocks\.12\.hook_resid_pre"/);
      for (const id of GPT2_SMALL_RES_JB_IDS) assert.ok(err.message.includes(id), `lists ${id}`);
      assert.equal(hub.requests.length, requests);
      assert.deepEqual(listFiles(cacheDir), []);
    });
  });

  describe("SAE_OVERRIDE_DIR and a 12-layer model", () => {
    let overrideDir: string;
    let model: HookedTransformer;
    before(async () => {
      overrideDir = path.join(root, "override");
      writeGpt2SmallResJbFixture(overrideDir, { dIn: 32, dSae: 64 });
      writeTinyCheckpoint(path.join(root, "tiny12"), { nLayers: 12, nHeads: 4, dModel: 32, nCtx: 16 });
      model = await HookedTransformer.fromPretrained(path.join(root, "tiny12"), quiet);
    });
    after(() => model.dispose());

    it("the fixture writes one folder per SAE id of gpt2-small-res-jb", () => {
      assert.deepEqual(fs.readdirSync(overrideDir).sort(), [...GPT2_SMALL_RES_JB_IDS].sort());
    });

    it("every SAE of the release loads from the override (no network), fits the model and encodes its hook", async () => {
      process.env.SAE_OVERRIDE_DIR = overrideDir;
      const warnings: string[] = [];
      const tokens = model.toTokens("The Golden Gate Bridge");
      const [logits, cache] = model.runWithCache(tokens);
      for (const saeId of GPT2_SMALL_RES_JB_IDS) {
        const { sae, sparsity } = await SAE.fromPretrained({ release: "gpt2-small-res-jb", saeId, endpoint: "http://127.0.0.1:9", onProgress: () => {}, warn: (m) => warnings.push(m) });
        sae.checkCompatible(model);
        const acts = cache.get(saeId);
        const f = sae.encode(acts);
        assert.deepEqual(f.shape, [1, tokens.shape[1], 64]);
        assertClose(f, referenceEncode(readReferenceSae(path.join(overrideDir, saeId)), acts.dataSync()), `${saeId} encode`);
        tf.dispose([f, sparsity!]);
        sae.dispose();
      }
      assert.equal(warnings.length, GPT2_SMALL_RES_JB_IDS.length);
      assert.match(warnings[0], /SAE_OVERRIDE_DIR is set/);
      tf.dispose([tokens, logits]);
      cache.dispose();
    });

    it("an override that is not a directory, or lacks the SAE's folder, is a clear error", async () => {
      process.env.SAE_OVERRIDE_DIR = path.join(root, "nope");
      await assertFailsCleanly(() => SAE.fromPretrained({ release: "gpt2-small-res-jb", saeId: "blocks.8.hook_resid_pre", ...quiet }), /SAE_OVERRIDE_DIR is set to .*nope, which is not a directory/);
      process.env.SAE_OVERRIDE_DIR = path.join(root, "tiny12");
      await assertFailsCleanly(() => SAE.fromPretrained({ release: "gpt2-small-res-jb", saeId: "blocks.8.hook_resid_pre", ...quiet }), /blocks\.8\.hook_resid_pre does not exist/);
    });

    it("an SAE on the wrong model: other width, or a hook the model lacks (closest names listed)", async () => {
      const wide = path.join(root, "wide");
      writeSaeFixture(wide, { dIn: 64, dSae: 128, hookName: "blocks.8.hook_resid_pre" });
      const sae = await SAE.fromDir(wide);
      await assertFailsCleanly(() => sae.checkCompatible(model), /d_in 64/, /is 32 wide/, /gpt2-small/);
      const acts = tf.zeros([1, 4, 32]);
      await assertFailsCleanly(() => sae.encode(acts), /shape \[1, 4, 32\]/, /d_in = 64/);
      sae.dispose();
      const farDir = path.join(root, "far");
      writeSaeFixture(farDir, { dIn: 32, dSae: 64, hookName: "blocks.20.hook_resid_pre" });
      const far = await SAE.fromDir(farDir);
      await assertFailsCleanly(() => far.checkCompatible(model), /"blocks\.20\.hook_resid_pre", which model .* does not have/, /Closest hook names: blocks\.\d+\.hook_resid_pre/);
      far.dispose();
      await assertFailsCleanly(() => far.encode(acts), /disposed/);
      acts.dispose();
    });
  });

  describe("bad SAE folders: a clear error, no tensor left, no file written", () => {
    const table: [string, SaeFixtureOptions, RegExp[]][] = [
      ["missing weights file", { omit: "sae_weights.safetensors" }, [/missing sae_weights\.safetensors/]],
      ["missing cfg.json", { omit: "cfg.json" }, [/missing cfg\.json/]],
      ["W_enc stored transposed", { transpose: "W_enc" }, [/"W_enc" has shape \[256, 64\]/, /needs \[64, 256\]/, /transposed/]],
      ["W_dec stored transposed", { transpose: "W_dec" }, [/"W_dec" has shape \[64, 256\]/, /needs \[256, 64\]/]],
      ["d_sae in cfg.json disagrees with the weights", { cfgOverrides: { d_sae: 300 } }, [/"W_enc" has shape \[64, 256\]/, /d_sae 300/]],
      ["unsupported architecture", { generation: "6", cfgOverrides: { architecture: "topk" } }, [/unsupported architecture "topk"/, /field "architecture"/]],
      ["unsupported normalisation", { generation: "6", cfgOverrides: { normalize_activations: "expected_average_only_in" } }, [/field "normalize_activations"/]],
      ["a JumpReLU threshold in a 'standard' file", { extraTensors: { threshold: { shape: [256], value: 0.1 } } }, [/tensors a standard SAE does not: threshold/]],
      ["a NaN in W_dec", { nanAt: { tensor: "W_dec", index: 64 * 3 + 5 } }, [/"W_dec" in .* holds NaN at \[3, 5\]/]],
      ["a NaN in b_enc (BF16 file)", { dtype: "BF16", nanAt: { tensor: "b_enc", index: 7 } }, [/"b_enc" in .* holds NaN at \[7\]/]],
      ["a scaling_factor that is not all ones", { extraTensors: { scaling_factor: { shape: [256], value: 2 } } }, [/"scaling_factor" that is not all ones/]],
    ];
    for (const [what, opts, patterns] of table) {
      it(what, async () => {
        const dir = path.join(root, `bad-${what.replace(/\W+/g, "-")}`);
        writeSaeFixture(dir, opts);
        const files = listFiles(dir);
        await assertFailsCleanly(() => SAE.fromDir(dir), ...patterns);
        assert.deepEqual(listFiles(dir), files);
      });
    }

    it("a folder that does not exist", async () => {
      await assertFailsCleanly(() => SAE.fromDir(path.join(root, "absent")), /does not exist or is not a directory/);
    });

    it("sparsity.safetensors of the wrong length", async () => {
      const dir = path.join(root, "bad-sparsity");
      writeSaeFixture(dir, { dSae: 256 });
      writeSaeFixture(path.join(root, "other-sparsity"), { dSae: 128 });
      fs.copyFileSync(path.join(root, "other-sparsity", "sparsity.safetensors"), path.join(dir, "sparsity.safetensors"));
      process.env.SAE_OVERRIDE_DIR = root;
      // Served as if it were the release's blocks.8 folder.
      fs.renameSync(dir, path.join(root, "blocks.8.hook_resid_pre"));
      await assertFailsCleanly(() => SAE.fromPretrained({ release: "gpt2-small-res-jb", saeId: "blocks.8.hook_resid_pre", ...quiet }), /"sparsity" of shape \[256\]/, /shape \[128\]/);
    });
  });

  it("an all-ones scaling_factor (older saves) is dropped, as SAELens does", async () => {
    const dir = path.join(root, "ones-scaling");
    writeSaeFixture(dir, { extraTensors: { scaling_factor: { shape: [256], value: 1 } } });
    const before = tf.memory().numTensors;
    const sae = await SAE.fromDir(dir);
    assert.equal(tf.memory().numTensors, before + 4);
    sae.dispose();
  });

  it("dispose frees the four weights; twice is harmless", async () => {
    const dir = path.join(root, "dispose");
    writeSaeFixture(dir);
    const before = tf.memory().numTensors;
    const sae = await SAE.fromDir(dir);
    assert.equal(tf.memory().numTensors, before + 4);
    sae.dispose();
    sae.dispose();
    assert.equal(tf.memory().numTensors, before);
    assert.equal(sae.isDisposed, true);
  });
});
