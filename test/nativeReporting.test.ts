/**
 * What a learner is told when the native kernels are missing: the "Using device" line and one
 * stderr warning, each with the reason and the command that builds them; nothing extra when they
 * are switched off on purpose. Each case runs initBackend twice in a child Node process whose
 * require() of the addon is made to fail as npm leaves it (package absent, or present but unbuilt).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

const backendModule = path.resolve(__dirname, "..", "src", "backend.js");

/** Runs initBackend twice under `failure` (how require("mechinterp-native-gemm") fails, or none). */
function run(failure: "absent" | "unbuilt" | "none", env: Record<string, string> = {}): { device: string; stderr: string } {
  const messages = {
    absent: "Cannot find module 'mechinterp-native-gemm'",
    unbuilt: "Cannot find module './build/Release/mechinterp_gemm.node'",
  };
  const script = `
    const Module = require("module");
    const load = Module._load;
    const failure = ${JSON.stringify(failure === "none" ? null : messages[failure])};
    Module._load = function (request, ...rest) {
      if (failure && request === "mechinterp-native-gemm") {
        const err = new Error(failure + "\\nRequire stack: ...");
        err.code = "MODULE_NOT_FOUND";
        throw err;
      }
      return load.call(this, request, ...rest);
    };
    const { initBackend } = require(${JSON.stringify(backendModule)});
    initBackend({ backend: "wasm" }).then(() => initBackend()).then((info) => console.log(info.device));`;
  const clean = { ...process.env };
  delete clean.MECHINTERP_NATIVE_MATMUL;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", env: { ...clean, ...env }, timeout: 120_000 });
  assert.equal(r.status, 0, `child failed: ${r.stderr}`);
  return { device: r.stdout.trim(), stderr: r.stderr };
}

const warnings = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("mechinterp-ts: native kernels not loaded"));

describe("reporting missing native kernels", () => {
  const cases: [string, "absent" | "unbuilt", RegExp, string][] = [
    ["the package is absent", "absent", /mechinterp-native-gemm is not installed/, "npm install (in "],
    ["the addon was never built", "unbuilt", /never built/, "npm rebuild mechinterp-native-gemm (in "],
  ];
  for (const [what, failure, reason, fix] of cases) {
    it(`${what}: the device line and one stderr line give the reason and the fix`, () => {
      const { device, stderr } = run(failure);
      assert.match(device, /^cpu \(WebAssembly( SIMD)?; NO native kernels/);
      assert.match(device, reason);
      assert.ok(device.includes(fix), device);
      const lines = warnings(stderr);
      assert.equal(lines.length, 1, `one warning, not ${lines.length}: ${stderr}`);
      assert.match(lines[0], reason);
      assert.ok(lines[0].includes(`To build them run: ${fix}`), lines[0]);
    });
  }
  it("switched off with MECHINTERP_NATIVE_MATMUL=0: said in the device line, no warning", () => {
    const { device, stderr } = run("unbuilt", { MECHINTERP_NATIVE_MATMUL: "0" });
    assert.match(device, /native kernels off: MECHINTERP_NATIVE_MATMUL=0\)$/);
    assert.deepEqual(warnings(stderr), []);
  });
});
