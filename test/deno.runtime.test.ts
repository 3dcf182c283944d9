/**
 * The package under Deno (the runtime of Deno's Jupyter kernel): test/deno/publicApi.mts runs with
 * `deno run --check -A` from this checkout, so the named imports must resolve and type-check, and
 * the public operations must work there: the wasm backend with the native kernels (a Node-API
 * addon), loading from a folder and from the hub cache (a loopback hub), forward / runWithCache /
 * generate, SAEs from a folder, charts (with resvg's PNG, another Node-API addon) and display. Its
 * numbers are checked here against the float64 reference.
 *
 * Needs the optional dependency `deno` in node_modules: skipped with the reason without it, except
 * under CI, where it is required.
 */
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { denoBinary, denoMissingReason } from "../kernel-setup/denoKernel";
import { projectRoot } from "../kernel-setup/kernelspec";
import { nativeKernelsStatus } from "../src/kernels/nativeKernels";
import { writeTinyCheckpoint } from "./fixtures/checkpoint";
import { writeSaeFixture } from "./fixtures/sae";
import { LoopbackHub } from "./helpers/loopbackHub";
import { requireTool } from "./helpers/requireTool";
import { compareArrays, describeComparison } from "./reference/compare";
import { logSoftmax, naiveForward, naiveGreedyContinuation, ndarray } from "./reference/naiveGpt2";
import { readSafetensorsF64 } from "./reference/safetensorsRead";
import { readReferenceSae, referenceDecode, referenceEncode } from "./reference/sae";

const TOKENS = [
  [50256, 464, 3139, 286, 4881, 318],
  [50256, 11, 12, 13, 14, 15],
];
const NEW_TOKENS = 3;
const TOL = 1e-5;
/** Rows for the SAE: [3][32], values in [-2, 2]. */
const SAE_INPUT = Array.from({ length: 3 }, (_, r) => Array.from({ length: 32 }, (_, i) => Math.sin(1.7 * r + 0.37 * i) * 2));

interface DenoReport {
  exportNames: string[];
  backend: { backend: string; device: string; nativeMatMul: boolean };
  lastLogits: number[][];
  cachedActivations: number;
  generatedTokens: number[];
  hubLayers: number;
  saeFeatures: number[][];
  saeReconstruction: number[][];
  leaks: Record<string, number>;
  bundleMimes: string[];
  svgStart: string;
  pngStart: string;
  routes: string[];
}

function runDeno(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(denoBinary() as string, args, { cwd: projectRoot(), env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("the package under Deno", function () {
  this.timeout(300_000);
  let tmp: string;
  let hub: LoopbackHub;
  let report: DenoReport;
  let stdout: string;
  let weightsPath: string;
  let config: Parameters<typeof naiveForward>[1];
  let saeDir: string;

  before(async function () {
    requireTool(this, "Deno (the optional dependency deno)", denoMissingReason());
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-deno-"));
    const ck = writeTinyCheckpoint(path.join(tmp, "tiny"), { seed: 31, nLayers: 2, nHeads: 4, dModel: 32, nCtx: 64, dVocab: 50257 });
    weightsPath = ck.weightsPath;
    config = ck.config;
    hub = await LoopbackHub.start({
      repoId: "openai-community/gpt2",
      files: {
        "config.json": { content: fs.readFileSync(ck.configPath), lfs: false },
        "model.safetensors": { content: fs.readFileSync(ck.weightsPath) },
      },
    });
    saeDir = path.join(tmp, "sae");
    writeSaeFixture(saeDir, { dIn: 32, dSae: 96, hookName: "blocks.1.hook_resid_pre", seed: 5 });
    const input = { folder: ck.dir, tokens: TOKENS, hubCache: path.join(tmp, "hf-cache"), hub: hub.url, newTokens: NEW_TOKENS, sae: saeDir, saeInput: SAE_INPUT };
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };
    for (const k of ["MODEL_OVERRIDE_DIR", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE"]) delete env[k];
    const r = await runDeno(["run", "--check", "-A", path.join("test", "deno", "publicApi.mts"), JSON.stringify(input)], env);
    assert.strictEqual(r.code, 0, `deno run failed (exit ${r.code}):\n${r.stderr.slice(-3000)}`);
    stdout = r.stdout;
    report = JSON.parse(r.stdout.trim().split("\n").pop() as string) as DenoReport;
  });

  after(async () => {
    await hub?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("imports every root export by name (the same names Node sees), with types that check", () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const nodeNames = Object.keys(require("../src")).filter((k) => k !== "__esModule");
    const missing = nodeNames.filter((name) => !report.exportNames.includes(name));
    assert.deepStrictEqual(missing, [], "root exports Node has that Deno's named imports lack");
    assert.ok(nodeNames.length > 40, `only ${nodeNames.length} root exports?`);
  });

  it("runs on the wasm backend, with the native kernels where they are built", () => {
    assert.strictEqual(report.backend.backend, "wasm");
    assert.strictEqual(report.backend.nativeMatMul, nativeKernelsStatus().available, report.backend.device);
  });

  it("a model loaded from a folder gives the reference's log-probabilities (last position, both rows)", () => {
    // fromPretrained centers the unembedding (TransformerLens's default), which shifts each
    // position's logits by a constant: compare log-softmax, which that shift leaves unchanged.
    const reference = naiveForward(readSafetensorsF64(weightsPath), config, TOKENS).logits;
    const [B, P, V] = reference.shape;
    const lastRef = ndarray([B, V]);
    for (let b = 0; b < B; b++) lastRef.data.set(reference.data.subarray((b * P + P - 1) * V, (b * P + P) * V), b * V);
    const got = ndarray([B, V], Float64Array.from(report.lastLogits.flat()));
    const c = compareArrays(logSoftmax(got).data, logSoftmax(lastRef).data);
    assert.ok(c.nonFiniteMismatches === 0 && c.relative <= TOL, `${describeComparison("last-position logits", c)} (tolerance ${TOL})`);
  });

  it("caches every hook point and generates the reference's greedy continuation", () => {
    assert.strictEqual(report.cachedActivations, 4 + 17 * config.n_layer); // as the chapter's "Cached 208" for 12 layers
    const greedy = naiveGreedyContinuation(readSafetensorsF64(weightsPath), config, [TOKENS[0]], NEW_TOKENS);
    assert.ok(Math.min(...greedy.margins) > 1e-3, "the reference's choices are not near-ties");
    assert.deepStrictEqual(report.generatedTokens, greedy.tokens[0]);
  });

  it("downloads a preset from the hub into the cache, then loads it offline from the cache", () => {
    assert.strictEqual(report.hubLayers, 2);
    const snapshot = path.join(tmp, "hf-cache", "models--openai-community--gpt2", "snapshots", hub.commit);
    assert.ok(fs.existsSync(path.join(snapshot, "model.safetensors")), snapshot);
    assert.ok(fs.existsSync(path.join(snapshot, "config.json")), snapshot);
  });

  it("an SAE loaded from a folder encodes and decodes as the reference does", () => {
    const ref = readReferenceSae(saeDir);
    const f = referenceEncode(ref, SAE_INPUT.flat());
    const fc = compareArrays(report.saeFeatures.flat(), f);
    assert.ok(fc.nonFiniteMismatches === 0 && fc.relative <= TOL, `${describeComparison("SAE features", fc)} (tolerance ${TOL})`);
    assert.ok(f.some((v) => v > 0) && f.some((v) => v === 0), "the input makes some features fire and others not");
    const rc = compareArrays(report.saeReconstruction.flat(), referenceDecode(ref, report.saeFeatures.flat()));
    assert.ok(rc.nonFiniteMismatches === 0 && rc.relative <= TOL, `${describeComparison("SAE reconstruction", rc)} (tolerance ${TOL})`);
  });

  it("forward, runWithCache, generate, the SAE and charts leave no tensor behind", () => {
    assert.deepStrictEqual(report.leaks, { forward: 0, runWithCache: 0, generate: 0, sae: 0, charts: 0 });
  });

  it("charts: the bundle carries Vega-Lite, SVG, PNG (resvg, a Node-API addon) and text; outside a kernel display() prints its line", () => {
    assert.deepStrictEqual(report.bundleMimes, ["application/vnd.vegalite.v5+json", "image/png", "image/svg+xml", "text/plain"]);
    assert.strictEqual(report.svgStart, "<svg");
    assert.strictEqual(report.pngStart, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString("base64").slice(0, 11), "base64 of PNG's signature");
    assert.deepStrictEqual(report.routes, ["none"]);
    assert.match(stdout, /^<Figure \(plot, 1 series\): deno>/m);
  });
});
