/**
 * Run by test/deno.runtime.test.ts under Deno (`deno run --check -A`), from this checkout: the
 * package's public operations through named imports, as a notebook on Deno's kernel uses them.
 * Prints one JSON line for the Node side to check against the float64 reference.
 *
 *   deno run --check -A test/deno/publicApi.mts '{"folder": DIR, "tokens": [[...]], "hubCache": DIR, "hub": URL}'
 *
 * Shapes: `tokens` [batch][pos]; `lastLogits` [batch][d_vocab] (the last position's logits);
 * `saeFeatures` [rows][d_sae], `saeReconstruction` [rows][d_in].
 */
import { HookedTransformer, SAE, backendInfo, charts, display, initBackend, plt, tf } from "mechinterp-ts";
import * as pkg from "mechinterp-ts";

interface Args {
  folder: string;
  tokens: number[][];
  hubCache: string;
  hub: string;
  newTokens: number;
  /** An SAE folder (SAELens layout) and rows to encode: saeInput [rows][d_in]. */
  sae: string;
  saeInput: number[][];
}
const args = JSON.parse(Deno.args[0]) as Args;
const quiet = { warn: () => {} };

await initBackend({ backend: "wasm" });
const backend = backendInfo();
/** Tensors `fn` leaves behind beyond what it returns and disposes itself. */
function leakOf(fn: () => void): number {
  const before = tf.memory().numTensors;
  fn();
  return tf.memory().numTensors - before;
}
const leaks: Record<string, number> = {};

// Loading from a folder; forward, runWithCache, generate, each checked for leaks.
const model = await HookedTransformer.fromPretrained(args.folder, quiet);
const tokens = tf.tensor2d(args.tokens, undefined, "int32");
let lastLogits: number[][] = [];
leaks.forward = leakOf(() => {
  const logits = model.forward(tokens);
  const last = tf.tidy(() => logits.slice([0, logits.shape[1] - 1, 0], [-1, 1, -1]).squeeze([1]));
  lastLogits = last.arraySync() as number[][];
  tf.dispose([logits, last]);
});
let cachedActivations = 0;
leaks.runWithCache = leakOf(() => {
  const [cachedLogits, cache] = model.runWithCache(tokens);
  cachedActivations = cache.keys().length;
  cachedLogits.dispose();
  cache.dispose();
});
let generatedTokens: number[] = [];
leaks.generate = leakOf(() => {
  const prompt = tokens.slice([0, 0], [1, -1]);
  const generated = model.generate(prompt, { maxNewTokens: args.newTokens, doSample: false, verbose: false }) as tf.Tensor;
  generatedTokens = (generated.arraySync() as number[][])[0];
  tf.dispose([prompt, generated]);
});
tokens.dispose();
model.dispose();

// Loading from the hub: download into the cache, then load again from the cache alone.
const hubOpts = { cacheDir: args.hubCache, endpoint: args.hub, onProgress: () => {}, warn: () => {} };
const fromHub = await HookedTransformer.fromPretrained("gpt2-small", hubOpts);
const hubLayers = fromHub.cfg.nLayers;
fromHub.dispose();
Deno.env.set("HF_HUB_OFFLINE", "1"); // process.env under Deno: the hub code must not ask the network now
const fromCache = await HookedTransformer.fromPretrained("gpt2-small", hubOpts);
fromCache.dispose();

// Sparse autoencoders from a folder: encode and decode.
const sae = await SAE.fromDir(args.sae);
let saeFeatures: number[][] = [];
let saeReconstruction: number[][] = [];
leaks.sae = leakOf(() => {
  const x = tf.tensor2d(args.saeInput);
  const f = sae.encode(x);
  const recon = sae.decode(f);
  saeFeatures = f.arraySync() as number[][];
  saeReconstruction = recon.arraySync() as number[][];
  tf.dispose([x, f, recon]);
});
sae.dispose();

// Charts: the bundle display() sends, and display() outside a kernel (Deno.jupyter throws under `deno run`).
const heatmap = new charts.Chart(charts.heatmapSpec({ values: [[0, 1], [2, 3]], title: "deno" }));
let bundle: Record<string, unknown> = {};
const routes: string[] = [];
leaks.charts = leakOf(() => {
  bundle = charts.bundleOf(heatmap);
  display(heatmap, { printOutsideKernel: false, onRoute: (r) => routes.push(r) });
});
plt.figure();
plt.plot([1, 4, 9]);
plt.title("deno");
plt.show(); // prints the figure's text line: there is no kernel to draw on

console.log(
  JSON.stringify({
    exportNames: Object.keys(pkg),
    backend,
    lastLogits,
    cachedActivations,
    generatedTokens,
    hubLayers,
    saeFeatures,
    saeReconstruction,
    leaks,
    bundleMimes: Object.keys(bundle).sort(),
    svgStart: String(bundle[charts.SVG_MIME]).slice(0, 4),
    pngStart: String(bundle["image/png"]).slice(0, 11),
    routes,
  })
);
