/**
 * Self-tests of the test reference (fixture writer, safetensors reader, naive float64 GPT-2,
 * processed-model identities). None of this touches src/: if these pass, a parity failure is the
 * library's.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { writeTinyCheckpoint, WrittenCheckpoint, Rng } from "./fixtures/checkpoint";
import {
  SafetensorsDtype, bfloat16Bits, float16Bits, writeSafetensors, DTYPE_BYTE_SIZE,
} from "./fixtures/safetensorsWriter";
import { decodeBfloat16, decodeFloat16, readSafetensorsF64, readSafetensorsFile, F64Tensor } from "./reference/safetensorsRead";
import {
  Gpt2Config, Gpt2Params, NdArray, geluNew, gpt2Params, lmCrossEntropyLoss, logSoftmax, naiveForward,
  transformerLensHookNames, WeightTensor,
} from "./reference/naiveGpt2";
import { centerLastAxis, processedExpectations } from "./reference/processed";
import { processWeightsByHand } from "./reference/processedWeights";
import { compareArrays, describeComparison } from "./reference/compare";

function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mechinterp-ref-${tag}-`));
}

function assertClose(name: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  const c = compareArrays(actual, expected);
  assert.ok(c.nonFiniteMismatches === 0 && c.relative <= tol, `${describeComparison(name, c)} (tolerance ${tol})`);
}

function at(a: NdArray, ...idx: number[]): number {
  let flat = 0;
  for (let i = 0; i < idx.length; i++) flat = flat * a.shape[i] + idx[i];
  return a.data[flat];
}

// -------------------------------------------------------------------------------------------
describe("reference: float16 / bfloat16 bit patterns", () => {
  const halfTable: Array<[number, number]> = [
    [0x3c00, 1], [0xc000, -2], [0x7bff, 65504], [0x0400, 2 ** -14], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24],
    [0x3555, 0.333251953125], [0x8000, -0], [0x7c00, Infinity], [0xfc00, -Infinity], [0x3800, 0.5],
  ];
  const bf16Table: Array<[number, number]> = [
    [0x3f80, 1], [0xc040, -3], [0x4049, 3.140625], [0x7f7f, 3.3895313892515355e38], [0x0080, 2 ** -126],
    [0x0001, 2 ** -133], [0x7f80, Infinity], [0xff80, -Infinity], [0x3eab, 0.333984375],
  ];

  it("decodes known float16 patterns", () => {
    for (const [bits, value] of halfTable) assert.ok(Object.is(decodeFloat16(bits), value), `0x${bits.toString(16)} → ${decodeFloat16(bits)}, want ${value}`);
    assert.ok(Number.isNaN(decodeFloat16(0x7e00)));
  });

  it("decodes known bfloat16 patterns", () => {
    for (const [bits, value] of bf16Table) assert.ok(Object.is(decodeBfloat16(bits), value), `0x${bits.toString(16)} → ${decodeBfloat16(bits)}, want ${value}`);
    assert.ok(Number.isNaN(decodeBfloat16(0x7fc0)));
  });

  it("encodes with round-to-nearest-even", () => {
    assert.strictEqual(float16Bits(1 / 3), 0x3555);
    assert.strictEqual(float16Bits(1 + 2 ** -11), 0x3c00); // tie → even mantissa (0)
    assert.strictEqual(float16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie → even mantissa (2)
    assert.strictEqual(float16Bits(65520), 0x7c00); // rounds past the largest half: Infinity
    assert.strictEqual(float16Bits(2 ** -25), 0x0000); // tie with zero → even (0)
    assert.strictEqual(float16Bits(3 * 2 ** -25), 0x0002); // subnormal tie → even
    assert.strictEqual(bfloat16Bits(Math.PI), 0x4049);
    assert.strictEqual(bfloat16Bits(1 + 2 ** -8), 0x3f80); // tie → even
    assert.strictEqual(bfloat16Bits(1 + 3 * 2 ** -8), 0x3f82);
  });

  it("round-trips every non-NaN 16-bit pattern through decode then encode", () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const h = decodeFloat16(bits);
      if (!Number.isNaN(h)) assert.strictEqual(float16Bits(h), bits, `float16 0x${bits.toString(16)}`);
      const b = decodeBfloat16(bits);
      if (!Number.isNaN(b)) assert.strictEqual(bfloat16Bits(b), bits, `bfloat16 0x${bits.toString(16)}`);
    }
  });
});

// -------------------------------------------------------------------------------------------
describe("reference: safetensors writer ↔ reader", () => {
  let dir: string;
  before(() => (dir = tmpDir("st")));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("round-trips every dtype, with an 8-byte aligned data section", () => {
    const values = [0, 1, -2.5, 0.1, 3.3333, -7, 100.75, 1e-3];
    const dtypes: SafetensorsDtype[] = ["F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"];
    const tensors = dtypes.map((dtype, i) => ({
      name: `t.${dtype}`, dtype, shape: [2, 4],
      data: dtype.startsWith("U") || dtype === "BOOL" ? values.map((v) => Math.abs(v)) : values.map((v) => v * (dtype === "I8" ? 1 : i + 1)),
    }));
    tensors.push({ name: "scalar", dtype: "F32", shape: [], data: [-1e4] });
    const file = path.join(dir, "all.safetensors");
    writeSafetensors(file, tensors);
    const { tensors: read, metadata, dataStart } = readSafetensorsFile(file);
    assert.deepStrictEqual(metadata, { format: "pt" });
    assert.strictEqual(dataStart % 8, 0);
    const expectedBytes = tensors.reduce((s, t) => s + t.data.length * DTYPE_BYTE_SIZE[t.dtype], 0);
    assert.strictEqual(fs.statSync(file).size, dataStart + expectedBytes);
    for (const t of tensors) {
      const r = read.get(t.name)!;
      assert.deepStrictEqual(r.shape, t.shape, t.name);
      assert.strictEqual(r.dtype, t.dtype);
      const expected = t.data.map((v) => {
        switch (t.dtype) {
          case "F64": return v;
          case "F32": return Math.fround(v);
          case "F16": return decodeFloat16(float16Bits(v));
          case "BF16": return decodeBfloat16(bfloat16Bits(v));
          case "BOOL": return v !== 0 ? 1 : 0;
          default: return Math.trunc(v);
        }
      });
      assert.deepStrictEqual(Array.from(r.data), expected, t.name);
    }
  });
});

// -------------------------------------------------------------------------------------------
describe("reference: tiny GPT-2 checkpoints", function () {
  this.timeout(60_000);
  let root: string;
  before(() => (root = tmpDir("ckpt")));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("writes a Hugging Face GPT2Config and every hub tensor with its shape", () => {
    const ck = writeTinyCheckpoint(path.join(root, "plain"), { nLayers: 2, nHeads: 4, dModel: 16, nCtx: 8, dVocab: 50 });
    const cfg = JSON.parse(fs.readFileSync(ck.configPath, "utf8"));
    assert.strictEqual(cfg.model_type, "gpt2");
    assert.deepStrictEqual(cfg.architectures, ["GPT2LMHeadModel"]);
    assert.strictEqual(cfg.activation_function, "gelu_new");
    assert.deepStrictEqual(
      [cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.n_positions, cfg.n_ctx, cfg.vocab_size, cfg.layer_norm_epsilon],
      [2, 4, 16, 8, 8, 50, 1e-5]
    );
    const w = readSafetensorsF64(ck.weightsPath);
    const expected: Record<string, number[]> = { "wte.weight": [50, 16], "wpe.weight": [8, 16], "ln_f.weight": [16], "ln_f.bias": [16] };
    for (const l of [0, 1]) {
      Object.assign(expected, {
        [`h.${l}.ln_1.weight`]: [16], [`h.${l}.ln_1.bias`]: [16],
        [`h.${l}.attn.bias`]: [1, 1, 8, 8], [`h.${l}.attn.masked_bias`]: [],
        [`h.${l}.attn.c_attn.weight`]: [16, 48], [`h.${l}.attn.c_attn.bias`]: [48],
        [`h.${l}.attn.c_proj.weight`]: [16, 16], [`h.${l}.attn.c_proj.bias`]: [16],
        [`h.${l}.ln_2.weight`]: [16], [`h.${l}.ln_2.bias`]: [16],
        [`h.${l}.mlp.c_fc.weight`]: [16, 64], [`h.${l}.mlp.c_fc.bias`]: [64],
        [`h.${l}.mlp.c_proj.weight`]: [64, 16], [`h.${l}.mlp.c_proj.bias`]: [16],
      });
    }
    assert.deepStrictEqual([...w.keys()].sort(), Object.keys(expected).sort());
    for (const [name, shape] of Object.entries(expected)) assert.deepStrictEqual(w.get(name)!.shape, shape, name);
    // Buffers: lower-triangular ones and the -1e4 scalar.
    const mask = w.get("h.1.attn.bias")!;
    for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) assert.strictEqual(mask.data[i * 8 + j], j <= i ? 1 : 0);
    assert.deepStrictEqual(Array.from(w.get("h.0.attn.masked_bias")!.data), [-1e4]);
    // Non-trivial LayerNorm parameters and biases.
    const lnw = w.get("h.0.ln_1.weight")!.data;
    assert.ok(lnw.every((x) => x >= 0.5 && x <= 1.5) && lnw.some((x) => Math.abs(x - 1) > 0.2));
    for (const name of ["h.0.ln_1.bias", "h.0.attn.c_attn.bias", "h.1.mlp.c_fc.bias", "ln_f.bias"]) {
      assert.ok(w.get(name)!.data.some((x) => Math.abs(x) > 0.1), `${name} should be non-zero`);
    }
  });

  it("is deterministic per seed and differs across seeds", () => {
    const a = writeTinyCheckpoint(path.join(root, "s1a"), { seed: 7, dVocab: 20, dModel: 8, nHeads: 2, nCtx: 4 });
    const b = writeTinyCheckpoint(path.join(root, "s1b"), { seed: 7, dVocab: 20, dModel: 8, nHeads: 2, nCtx: 4 });
    const c = writeTinyCheckpoint(path.join(root, "s2"), { seed: 8, dVocab: 20, dModel: 8, nHeads: 2, nCtx: 4 });
    assert.ok(fs.readFileSync(a.weightsPath).equals(fs.readFileSync(b.weightsPath)));
    assert.ok(!fs.readFileSync(a.weightsPath).equals(fs.readFileSync(c.weightsPath)));
  });

  it("F16 / BF16 files hold the F32 values rounded; mask buffers in F32, U8 or BOOL", () => {
    const base = { seed: 3, dVocab: 40, dModel: 16, nHeads: 2, nCtx: 6 };
    const f32 = readSafetensorsF64(writeTinyCheckpoint(path.join(root, "f32"), base).weightsPath);
    const f16 = readSafetensorsF64(writeTinyCheckpoint(path.join(root, "f16"), { ...base, dtype: "F16", maskDtype: "U8" }).weightsPath);
    const bf16 = readSafetensorsF64(writeTinyCheckpoint(path.join(root, "bf16"), { ...base, dtype: "BF16", maskDtype: "BOOL" }).weightsPath);
    for (const [name, t] of f32) {
      if (name.endsWith("attn.bias") || name.endsWith("masked_bias")) continue;
      assert.strictEqual(f16.get(name)!.dtype, "F16");
      assert.strictEqual(bf16.get(name)!.dtype, "BF16");
      for (let i = 0; i < t.data.length; i++) {
        assert.ok(Math.abs(f16.get(name)!.data[i] - t.data[i]) <= Math.abs(t.data[i]) * 2 ** -11 + 2 ** -24, name);
        assert.ok(Math.abs(bf16.get(name)!.data[i] - t.data[i]) <= Math.abs(t.data[i]) * 2 ** -8, name);
      }
    }
    assert.strictEqual(f16.get("h.0.attn.bias")!.dtype, "U8");
    assert.strictEqual(bf16.get("h.0.attn.bias")!.dtype, "BOOL");
    assert.deepStrictEqual(Array.from(f16.get("h.0.attn.bias")!.data), Array.from(f32.get("h.0.attn.bias")!.data));
    assert.deepStrictEqual(Array.from(bf16.get("h.0.attn.bias")!.data), Array.from(f32.get("h.0.attn.bias")!.data));
  });

  it("prefixes keys with transformer. and ties or unties lm_head.weight", () => {
    const base = { seed: 5, dVocab: 30, dModel: 8, nHeads: 2, nCtx: 4 };
    const plain = readSafetensorsF64(writeTinyCheckpoint(path.join(root, "p0"), base).weightsPath);
    const tied = readSafetensorsF64(writeTinyCheckpoint(path.join(root, "p1"), { ...base, keyPrefix: "transformer." }).weightsPath);
    const untied = readSafetensorsF64(writeTinyCheckpoint(path.join(root, "p2"), { ...base, keyPrefix: "transformer.", untiedLmHead: true }).weightsPath);
    const noMasks = readSafetensorsF64(writeTinyCheckpoint(path.join(root, "p3"), { ...base, includeMaskBuffers: false }).weightsPath);
    assert.ok(!plain.has("lm_head.weight"));
    for (const name of plain.keys()) {
      assert.deepStrictEqual(Array.from(tied.get(`transformer.${name}`)!.data), Array.from(plain.get(name)!.data), name);
    }
    assert.deepStrictEqual([...tied.keys()].filter((k) => !k.startsWith("transformer.")), ["lm_head.weight"]);
    assert.deepStrictEqual(Array.from(tied.get("lm_head.weight")!.data), Array.from(plain.get("wte.weight")!.data));
    assert.deepStrictEqual(untied.get("lm_head.weight")!.shape, [30, 8]);
    assert.notDeepStrictEqual(Array.from(untied.get("lm_head.weight")!.data), Array.from(plain.get("wte.weight")!.data));
    assert.ok(![...noMasks.keys()].some((k) => k.endsWith(".attn.bias") || k.endsWith("masked_bias")));
    assert.strictEqual(noMasks.size, plain.size - 4);
  });

  describe("broken files", () => {
    const base = { seed: 9, dVocab: 30, dModel: 8, nHeads: 2, nCtx: 4, nLayers: 1 };
    const cases: Array<[string, Parameters<typeof writeTinyCheckpoint>[1], RegExp]> = [
      ["truncate", { corrupt: { kind: "truncate" } }, /outside the .*data section/],
      ["headerLengthTooLarge", { corrupt: { kind: "headerLengthTooLarge" } }, /header length .* exceeds the file/],
      ["headerNotJson", { corrupt: { kind: "headerNotJson" } }, /header is not JSON/],
      ["offsetsBeyondData", { corrupt: { kind: "offsetsBeyondData" } }, /"h\.0\.ln_1\.weight" offsets .* outside/],
      ["offsetsDisagreeWithShape", { corrupt: { kind: "offsetsDisagreeWithShape" } }, /"h\.0\.ln_1\.weight" offsets .* do not match/],
    ];
    for (const [label, opts, message] of cases) {
      it(`${label}: the reference reader rejects it`, () => {
        const ck = writeTinyCheckpoint(path.join(root, `bad-${label}`), { ...base, ...opts });
        assert.throws(() => readSafetensorsF64(ck.weightsPath), message);
      });
    }

    it("shapeMismatch / missingTensor / unsupportedDtype: readable files that disagree with config.json", () => {
      const shape = writeTinyCheckpoint(path.join(root, "bad-shape"), { ...base, corrupt: { kind: "shapeMismatch" } });
      const wShape = readSafetensorsF64(shape.weightsPath);
      assert.deepStrictEqual(wShape.get("h.0.attn.c_attn.weight")!.shape, [24, 8]);
      assert.throws(() => gpt2Params(wShape, shape.config), /"h\.0\.attn\.c_attn\.weight" has shape \[24,8\], expected \[8,24\]/);

      const missing = writeTinyCheckpoint(path.join(root, "bad-missing"), { ...base, corrupt: { kind: "missingTensor" } });
      const wMissing = readSafetensorsF64(missing.weightsPath);
      assert.ok(!wMissing.has("h.0.mlp.c_proj.weight"));
      assert.throws(() => gpt2Params(wMissing, missing.config), /"h\.0\.mlp\.c_proj\.weight" missing/);

      const dtype = writeTinyCheckpoint(path.join(root, "bad-dtype"), { ...base, corrupt: { kind: "unsupportedDtype" } });
      assert.strictEqual(readSafetensorsF64(dtype.weightsPath).get("h.0.mlp.c_fc.weight")!.dtype, "I64");

      const cfg = writeTinyCheckpoint(path.join(root, "bad-config"), { ...base, configOverrides: { n_layer: 2 } });
      assert.strictEqual(cfg.config.n_layer, 2);
      assert.throws(() => gpt2Params(readSafetensorsF64(cfg.weightsPath), cfg.config), /"h\.1\.ln_1\.weight" missing/);
    });
  });
});

// -------------------------------------------------------------------------------------------
describe("reference: naive GPT-2 forward", function () {
  this.timeout(60_000);
  let root: string;
  let ck: WrittenCheckpoint;
  let weights: Map<string, F64Tensor>;
  let params: Gpt2Params;
  const tokens = [
    [17, 3, 999, 42, 42, 7, 500, 1, 0, 256, 11, 64],
    [5, 900, 12, 12, 12, 77, 300, 2, 8, 640, 13, 99],
  ];
  before(() => {
    root = tmpDir("fwd");
    ck = writeTinyCheckpoint(path.join(root, "m"), { seed: 11, nLayers: 2, nHeads: 4, dModel: 32, nCtx: 16, dVocab: 1000 });
    weights = readSafetensorsF64(ck.weightsPath);
    params = gpt2Params(weights, ck.config);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("records exactly TransformerLens's hook names, in cache order, with TransformerLens's shapes", () => {
    const { cache, logits } = naiveForward(params, ck.config, tokens);
    assert.deepStrictEqual([...cache.keys()], transformerLensHookNames(2));
    assert.strictEqual(transformerLensHookNames(12).length, 208); // len(cache) for gpt2-small
    const [B, P, D, H, E, M] = [2, 12, 32, 4, 8, 128];
    const shapeOf = (name: string): number[] => {
      if (/hook_scale$/.test(name)) return [B, P, 1];
      if (/attn\.hook_(q|k|v|z)$/.test(name)) return [B, P, H, E];
      if (/hook_(attn_scores|pattern)$/.test(name)) return [B, H, P, P];
      if (/mlp\.hook_(pre|post)$/.test(name)) return [B, P, M];
      return [B, P, D];
    };
    for (const [name, act] of cache) assert.deepStrictEqual(act.shape, shapeOf(name), name);
    assert.deepStrictEqual(logits.shape, [B, P, 1000]);
  });

  it("is causal: changing a later token leaves earlier positions unchanged", () => {
    const a = naiveForward(params, ck.config, [tokens[0]]);
    const changed = [...tokens[0]];
    changed[7] = 123;
    const b = naiveForward(params, ck.config, [changed]);
    for (const [name, act] of a.cache) {
      const other = b.cache.get(name)!;
      if (/hook_(attn_scores|pattern)$/.test(name)) {
        // [1, head, query, key]: queries before 7 see only keys before 7
        const [, H, P] = act.shape;
        for (let h = 0; h < H; h++) for (let q = 0; q < 7; q++) for (let k = 0; k < P; k++) {
          assert.ok(Object.is(at(act, 0, h, q, k), at(other, 0, h, q, k)), `${name} [${h},${q},${k}]`);
        }
        assert.notStrictEqual(at(act, 0, 0, 7, 7), at(other, 0, 0, 7, 7));
      } else {
        const per = act.data.length / act.shape[1]; // values per position (batch is 1)
        assert.deepStrictEqual(Array.from(act.data.subarray(0, 7 * per)), Array.from(other.data.subarray(0, 7 * per)), name);
        if (name !== "hook_pos_embed") {
          assert.notDeepStrictEqual(Array.from(act.data.subarray(7 * per, 8 * per)), Array.from(other.data.subarray(7 * per, 8 * per)), name);
        }
      }
    }
  });

  it("attention: rows sum to 1, nothing above the diagonal, scores -Infinity there, far from uniform", () => {
    const { cache } = naiveForward(params, ck.config, tokens);
    let peaked = 0;
    let rows = 0;
    for (let l = 0; l < 2; l++) {
      const pattern = cache.get(`blocks.${l}.attn.hook_pattern`)!;
      const scores = cache.get(`blocks.${l}.attn.hook_attn_scores`)!;
      const [B, H, P] = pattern.shape;
      for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let q = 0; q < P; q++) {
        let sum = 0;
        let max = 0;
        for (let k = 0; k < P; k++) {
          const p = at(pattern, b, h, q, k);
          if (k > q) {
            assert.strictEqual(p, 0);
            assert.strictEqual(at(scores, b, h, q, k), -Infinity);
          } else {
            assert.ok(Number.isFinite(at(scores, b, h, q, k)));
          }
          sum += p;
          max = Math.max(max, p);
        }
        assert.ok(Math.abs(sum - 1) < 1e-12, `row sum ${sum}`);
        if (q >= 3) {
          rows += 1;
          if (max > 0.6) peaked += 1;
        }
      }
    }
    // The fixture's large W_Q/W_K make most attention rows dominated by one key.
    assert.ok(peaked / rows > 0.5, `only ${peaked}/${rows} rows have a key with weight > 0.6`);
  });

  it("the residual stream adds up: resid_mid = pre + attn_out, resid_post = mid + mlp_out, next pre = post", () => {
    const { cache } = naiveForward(params, ck.config, tokens);
    const embed = cache.get("hook_embed")!.data;
    const pos = cache.get("hook_pos_embed")!.data;
    assertClose("resid_pre 0", cache.get("blocks.0.hook_resid_pre")!.data, embed.map((x, i) => x + pos[i]));
    for (let l = 0; l < 2; l++) {
      const pre = cache.get(`blocks.${l}.hook_resid_pre`)!.data;
      const attn = cache.get(`blocks.${l}.hook_attn_out`)!.data;
      const mid = cache.get(`blocks.${l}.hook_resid_mid`)!.data;
      const mlp = cache.get(`blocks.${l}.hook_mlp_out`)!.data;
      const post = cache.get(`blocks.${l}.hook_resid_post`)!.data;
      assertClose(`resid_mid ${l}`, mid, pre.map((x, i) => x + attn[i]));
      assertClose(`resid_post ${l}`, post, pre.map((x, i) => x + attn[i] + mlp[i]));
      if (l + 1 < 2) assert.deepStrictEqual(Array.from(cache.get(`blocks.${l + 1}.hook_resid_pre`)!.data), Array.from(post));
      const mlpPre = cache.get(`blocks.${l}.mlp.hook_pre`)!.data;
      assertClose(`post ${l}`, cache.get(`blocks.${l}.mlp.hook_post`)!.data, mlpPre.map(geluNew));
    }
  });

  it("LayerNorm: scale is sqrt(mean(centered^2) + eps) and hook_normalized is centered / scale * w + b", () => {
    const { cache } = naiveForward(params, ck.config, tokens);
    const resid = cache.get("blocks.1.hook_resid_mid")!;
    const scale = cache.get("blocks.1.ln2.hook_scale")!;
    const normalized = cache.get("blocks.1.ln2.hook_normalized")!;
    const w = weights.get("h.1.ln_2.weight")!.data;
    const b = weights.get("h.1.ln_2.bias")!.data;
    const D = 32;
    for (let r = 0; r < 24; r++) {
      const row = Array.from(resid.data.subarray(r * D, (r + 1) * D));
      const mean = row.reduce((s, x) => s + x, 0) / D;
      const variance = row.reduce((s, x) => s + (x - mean) ** 2, 0) / D;
      assert.ok(Math.abs(scale.data[r] - Math.sqrt(variance + 1e-5)) < 1e-12);
      for (let i = 0; i < D; i++) {
        assert.ok(Math.abs(normalized.data[r * D + i] - (((row[i] - mean) / scale.data[r]) * w[i] + b[i])) < 1e-12);
      }
    }
  });

  it("the epsilon comes from config.json", () => {
    const cfg: Gpt2Config = { ...ck.config, layer_norm_epsilon: 0.5 };
    const a = naiveForward(params, ck.config, [tokens[0]]).cache.get("blocks.0.ln1.hook_scale")!;
    const b = naiveForward(gpt2Params(weights, cfg), cfg, [tokens[0]]).cache.get("blocks.0.ln1.hook_scale")!;
    for (let i = 0; i < a.data.length; i++) assert.ok(Math.abs(b.data[i] ** 2 - a.data[i] ** 2 - (0.5 - 1e-5)) < 1e-9);
  });

  it("loss is the mean next-token cross-entropy of the log-softmax", () => {
    const { logits } = naiveForward(params, ck.config, tokens);
    const perToken = lmCrossEntropyLoss(logits, tokens, { perToken: true });
    assert.deepStrictEqual(perToken.shape, [2, 11]);
    const lp = logSoftmax(logits);
    // Spot-check by hand: position 3 of batch 1 predicts tokens[1][4].
    const row = Array.from(logits.data.subarray((1 * 12 + 3) * 1000, (1 * 12 + 4) * 1000));
    const lse = Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
    assert.ok(Math.abs(perToken.data[11 + 3] - (lse - row[tokens[1][4]])) < 1e-10);
    assert.ok(Math.abs(at(lp, 1, 3, tokens[1][4]) + perToken.data[14]) < 1e-12);
    const mean = Array.from(perToken.data).reduce((s, x) => s + x, 0) / 22;
    assert.ok(Math.abs(lmCrossEntropyLoss(logits, tokens) - mean) < 1e-12);
    assert.ok(mean > 0);
  });

  it("hooks: a replacement flows downstream, in-place edits too, wrong shapes are refused", () => {
    const clean = naiveForward(params, ck.config, tokens);
    // Patch resid_pre of layer 1, batch 0 position 5, with the value at position 2.
    const D = 32;
    const patched = naiveForward(params, ck.config, tokens, {
      hooks: {
        "blocks.1.hook_resid_pre": (act) => {
          const out = { shape: [...act.shape], data: Float64Array.from(act.data) };
          out.data.set(act.data.subarray(2 * D, 3 * D), 5 * D);
          return out;
        },
      },
    });
    const pre = patched.cache.get("blocks.1.hook_resid_pre")!.data;
    assert.deepStrictEqual(Array.from(pre.subarray(5 * D, 6 * D)), Array.from(clean.cache.get("blocks.1.hook_resid_pre")!.data.subarray(2 * D, 3 * D)));
    const V = 1000;
    const logitsDiff = (pos: number, b = 0) =>
      Math.max(...Array.from(patched.logits.data.subarray((b * 12 + pos) * V, (b * 12 + pos + 1) * V)).map((x, i) => Math.abs(x - clean.logits.data[(b * 12 + pos) * V + i])));
    for (let p = 0; p < 5; p++) assert.strictEqual(logitsDiff(p), 0, `position ${p} is before the patch`);
    assert.ok(logitsDiff(5) > 1e-3 && logitsDiff(8) > 0, "the patch changes position 5 and later ones");
    assert.strictEqual(logitsDiff(5, 1), 0, "batch 1 is untouched");

    // Zero-ablate head 2 of layer 0 in place through hook_z.
    const [H, E] = [4, 8];
    const ablated = naiveForward(params, ck.config, tokens, {
      hooks: { "blocks.0.attn.hook_z": (z) => { for (let r = 0; r < z.data.length / (H * E); r++) z.data.fill(0, r * H * E + 2 * E, r * H * E + 3 * E); } },
    });
    const z = ablated.cache.get("blocks.0.attn.hook_z")!;
    const cleanZ = clean.cache.get("blocks.0.attn.hook_z")!;
    // attn_out = z (head-major) @ c_proj + bias; removing head 2 subtracts exactly its share.
    const W = weights.get("h.0.attn.c_proj.weight")!.data;
    const expected = Float64Array.from(clean.cache.get("blocks.0.hook_attn_out")!.data);
    for (let r = 0; r < 24; r++) {
      for (let e = 0; e < E; e++) assert.strictEqual(z.data[r * H * E + 2 * E + e], 0);
      for (let o = 0; o < D; o++) {
        let share = 0;
        for (let e = 0; e < E; e++) share += cleanZ.data[r * H * E + 2 * E + e] * W[(2 * E + e) * D + o];
        expected[r * D + o] -= share;
      }
    }
    assertClose("ablated attn_out", ablated.cache.get("blocks.0.hook_attn_out")!.data, expected, 1e-12);
    assert.ok(compareArrays(ablated.logits.data, clean.logits.data).maxAbsDiff > 1e-3);

    assert.throws(
      () => naiveForward(params, ck.config, tokens, { hooks: { "blocks.0.mlp.hook_post": () => ({ shape: [1], data: new Float64Array(1) }) } }),
      /hook blocks\.0\.mlp\.hook_post returned shape \[1\]/
    );
  });

  it("matches a 1-layer, 1-head, d_model 2 model computed by hand", () => {
    // W_E rows: [1,-1], [2,0], [0,3]; W_pos rows: [0,0], [1,1], [0,-2], [0,0]; tokens [1, 2].
    // LN weights 1, biases 0. W_Q = I, W_K = 2I with b_K = [0, 1], W_V = I. W_O = 0 with b_O = [0.5, -0.5].
    // MLP: W_in = 0, b_in = [1, -1, 0, 2, 0.5, -3, 0, 0]; W_out = 0, b_out = 0.
    const t = (shape: number[], values: number[]): WeightTensor => ({ shape, data: Float64Array.from(values) });
    const cfg: Gpt2Config = { n_layer: 1, n_head: 1, n_embd: 2, n_positions: 4, vocab_size: 3, layer_norm_epsilon: 1e-5, activation_function: "gelu_new" };
    const w = new Map<string, WeightTensor>([
      ["wte.weight", t([3, 2], [1, -1, 2, 0, 0, 3])],
      ["wpe.weight", t([4, 2], [0, 0, 1, 1, 0, -2, 0, 0])],
      ["h.0.ln_1.weight", t([2], [1, 1])], ["h.0.ln_1.bias", t([2], [0, 0])],
      // Conv1D [in=2, out=6]: out columns q0 q1 k0 k1 v0 v1
      ["h.0.attn.c_attn.weight", t([2, 6], [1, 0, 2, 0, 1, 0, 0, 1, 0, 2, 0, 1])],
      ["h.0.attn.c_attn.bias", t([6], [0, 0, 0, 1, 0, 0])],
      ["h.0.attn.c_proj.weight", t([2, 2], [0, 0, 0, 0])], ["h.0.attn.c_proj.bias", t([2], [0.5, -0.5])],
      ["h.0.ln_2.weight", t([2], [1, 1])], ["h.0.ln_2.bias", t([2], [0, 0])],
      ["h.0.mlp.c_fc.weight", t([2, 8], new Array(16).fill(0))], ["h.0.mlp.c_fc.bias", t([8], [1, -1, 0, 2, 0.5, -3, 0, 0])],
      ["h.0.mlp.c_proj.weight", t([8, 2], new Array(16).fill(0))], ["h.0.mlp.c_proj.bias", t([2], [0, 0])],
      ["ln_f.weight", t([2], [1, 1])], ["ln_f.bias", t([2], [0, 0])],
    ]);
    const { cache } = naiveForward(w, cfg, [[1, 2]]);
    // resid_pre: position 0 = [2, 0] (centred [1, -1], variance 1); position 1 = [0,3] + [1,1] = [1, 4] (centred [-1.5, 1.5], variance 2.25).
    const s0 = Math.sqrt(1 + 1e-5);
    const s1 = Math.sqrt(2.25 + 1e-5);
    const n0 = [1 / s0, -1 / s0];
    const n1 = [-1.5 / s1, 1.5 / s1];
    assertClose("resid_pre", cache.get("blocks.0.hook_resid_pre")!.data, [2, 0, 1, 4]);
    assertClose("scale", cache.get("blocks.0.ln1.hook_scale")!.data, [s0, s1]);
    assertClose("normalized", cache.get("blocks.0.ln1.hook_normalized")!.data, [...n0, ...n1]);
    // q = n, k = 2n + [0, 1]; scores = q.k / sqrt(d_head = 2).
    const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1];
    const k0 = [2 * n0[0], 2 * n0[1] + 1];
    const k1 = [2 * n1[0], 2 * n1[1] + 1];
    assertClose("k", cache.get("blocks.0.attn.hook_k")!.data, [...k0, ...k1]);
    const s00 = dot(n0, k0) / Math.SQRT2;
    const s10 = dot(n1, k0) / Math.SQRT2;
    const s11 = dot(n1, k1) / Math.SQRT2;
    const scores = cache.get("blocks.0.attn.hook_attn_scores")!.data;
    assertClose("scores", [scores[0], scores[2], scores[3]], [s00, s10, s11]);
    assert.strictEqual(scores[1], -Infinity);
    const p10 = Math.exp(s10) / (Math.exp(s10) + Math.exp(s11));
    const p11 = 1 - p10;
    assertClose("pattern", cache.get("blocks.0.attn.hook_pattern")!.data, [1, 0, p10, p11]);
    // z = pattern @ v with v = n.
    assertClose("z", cache.get("blocks.0.attn.hook_z")!.data, [...n0, p10 * n0[0] + p11 * n1[0], p10 * n0[1] + p11 * n1[1]]);
    assertClose("attn_out", cache.get("blocks.0.hook_attn_out")!.data, [0.5, -0.5, 0.5, -0.5]);
    // gelu_new(b_in): gelu_new(1) = 0.8411919906..., gelu_new(-1) = -0.1588080093..., gelu_new(2) = 1.9545976940...
    const post = cache.get("blocks.0.mlp.hook_post")!.data;
    assertClose("post", post.subarray(0, 8),
      [0.8411919906082768, -0.15880800939172324, 0, 1.954597694087775, 0.34571400982514394, -0.0036373920817729943, 0, 0], 1e-14);
  });
});

// -------------------------------------------------------------------------------------------
describe("reference: processed-model expectations", function () {
  this.timeout(60_000);
  let root: string;
  let ck: WrittenCheckpoint;
  let weights: Map<string, F64Tensor>;
  const tokens = [[3, 14, 15, 92, 65, 35, 89, 79, 32, 38], [2, 71, 82, 81, 82, 8, 45, 90, 45, 23]];
  before(() => {
    root = tmpDir("proc");
    ck = writeTinyCheckpoint(path.join(root, "m"), { seed: 21, nLayers: 2, nHeads: 4, dModel: 32, nCtx: 16, dVocab: 100 });
    weights = readSafetensorsF64(ck.weightsPath);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it("agree with a forward pass on weights processed as TransformerLens's process_weights does", () => {
    const p = gpt2Params(weights, ck.config);
    const unprocessed = naiveForward(p, ck.config, tokens);
    const expected = processedExpectations(unprocessed, p, ck.config);
    const byHand = naiveForward(processWeightsByHand(p), ck.config, tokens);
    assert.deepStrictEqual([...expected.cache.keys()], [...byHand.cache.keys()]);
    for (const [name, act] of expected.cache) assertClose(name, byHand.cache.get(name)!.data, act.data, 1e-10);
    assertClose("logits", byHand.logits.data, expected.logits.data, 1e-10);
  });

  it("change what they should: centred residual stream, shifted v/z, LayerNormPre output, centred logits", () => {
    const unprocessed = naiveForward(weights, ck.config, tokens);
    const processed = processedExpectations(unprocessed, weights, ck.config);
    for (const name of ["hook_embed", "hook_pos_embed", "blocks.1.hook_resid_post", "blocks.0.hook_attn_out"]) {
      const a = processed.cache.get(name)!;
      assertClose(`${name} is centred`, centerLastAxis(a).data, a.data, 1e-12);
      assert.ok(compareArrays(a.data, unprocessed.cache.get(name)!.data).maxAbsDiff > 1e-3, `${name} changed`);
    }
    for (const name of ["blocks.0.attn.hook_q", "blocks.1.attn.hook_pattern", "blocks.1.ln2.hook_scale", "blocks.0.mlp.hook_post"]) {
      assert.deepStrictEqual(Array.from(processed.cache.get(name)!.data), Array.from(unprocessed.cache.get(name)!.data), name);
    }
    for (const name of ["blocks.0.attn.hook_v", "blocks.1.attn.hook_z", "blocks.0.ln1.hook_normalized", "ln_final.hook_normalized"]) {
      assert.ok(compareArrays(processed.cache.get(name)!.data, unprocessed.cache.get(name)!.data).maxAbsDiff > 1e-3, `${name} changed`);
    }
    // Same log-probs and loss.
    assertClose("log-probs", logSoftmax(processed.logits).data, logSoftmax(unprocessed.logits).data, 1e-12);
    assert.ok(Math.abs(lmCrossEntropyLoss(processed.logits, tokens) - lmCrossEntropyLoss(unprocessed.logits, tokens)) < 1e-12);
    // Flags off → identical to the unprocessed run.
    const none = processedExpectations(unprocessed, weights, ck.config, { foldLn: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false });
    for (const [name, act] of none.cache) assert.deepStrictEqual(Array.from(act.data), Array.from(unprocessed.cache.get(name)!.data), name);
  });
});

// Keep the PRNG honest: uniform mean and normal variance.
describe("reference: fixture PRNG", () => {
  it("draws uniforms with mean 1/2 and normals with variance 1", () => {
    const rng = new Rng(123);
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      su += rng.uniform();
      const z = rng.normal();
      sn += z;
      sn2 += z * z;
    }
    assert.ok(Math.abs(su / n - 0.5) < 0.005);
    assert.ok(Math.abs(sn / n) < 0.01);
    assert.ok(Math.abs(sn2 / n - 1) < 0.02);
  });
});
