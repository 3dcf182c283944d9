/**
 * Re-running the chapter's `runWithCache` cell under the real tslab kernel (nbclient), scaled down
 * for CI: 40 re-runs at 48 tokens on a small checkpoint, with a test-only wasm limit of a few runs'
 * worth above the weights so the automatic freeing has to work (the full 200 runs at 512 tokens on
 * GPT-2 small's shape are in `npm run bench -- --memory`). The kernel must stay alive, every cell
 * succeed, tensor memory stay under the limit, and the model answer afterwards.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { nbclientMissing } from "./helpers/displayTools";
import { RerunReport, runRerunNotebook } from "./helpers/rerunNotebook";
import { writeTinyCheckpoint } from "./fixtures/checkpoint";

const RUNS = 40;
const TOKENS = 48;
/** One run keeps logits (48 × 50257 × 4 B ≈ 9.6 MB) and a cache of ~0.6 MB: the limit allows about 4 runs above the weights. */
const HEADROOM = 45e6;

describe("memory: re-running the runWithCache cell under the tslab kernel", function () {
  this.timeout(600_000);
  let dir: string;
  let report: RerunReport;

  before(async function () {
    const missing = nbclientMissing();
    if (missing) {
      console.log(`    skipping kernel test: ${missing}`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-rerun-ckpt-"));
    writeTinyCheckpoint(dir, { nLayers: 4, nHeads: 4, dModel: 64, nCtx: 64, seed: 3 });
    report = await runRerunNotebook({ checkpointDir: dir, tokens: TOKENS, runs: RUNS, probeAfter: [1, 10, 20, 30, 40], wasmHeadroomBytes: HEADROOM, backend: "wasm", cellTimeoutS: 120 });
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`${RUNS} re-runs: every cell succeeds and the model still answers`, () => {
    assert.ok(report.ok, `the notebook failed: ${report.error}`);
    assert.equal(report.backend, "wasm");
    assert.equal(report.probes.length, 5);
    assert.ok(report.aliveAfter, "forward after the re-runs");
  });

  it("tensor memory stays bounded: under the limit and not growing with the number of runs", () => {
    const weights = report.probes[0].held.weights;
    const perRun = report.probes[0].held.caches + report.probes[0].held.results;
    for (const p of report.probes) {
      assert.ok(p.held.total <= weights + HEADROOM, `after run ${p.run}: ${p.held.total} bytes held, limit ${weights + HEADROOM}`);
      assert.ok(p.held.caches + p.held.results <= 5 * perRun, `after run ${p.run}: ${(p.held.caches + p.held.results) / perRun} runs' worth held`);
    }
    const un = report.probes.map((p) => p.numTensors);
    assert.ok(Math.max(...un) < un[0] + 5 * 80, `tensor counts ${un.join(", ")}`);
  });
});
