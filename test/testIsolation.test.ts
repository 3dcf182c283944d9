/**
 * The suite's own hygiene: the user's environment is not inherited (test/setup/isolateEnv.ts) and
 * missing tools skip locally but fail under CI (test/helpers/requireTool.ts).
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { userEnvNames } from "./setup/isolateEnv";
import { inCi } from "./helpers/requireTool";

describe("test isolation", () => {
  const table: [string, string[]][] = [
    ["MODEL_OVERRIDE_DIR", ["MODEL_OVERRIDE_DIR"]],
    ["SAE_OVERRIDE_DIR", ["SAE_OVERRIDE_DIR"]],
    ["HF_HOME, HF_TOKEN, HF_HUB_OFFLINE", ["HF_HOME", "HF_HUB_OFFLINE", "HF_TOKEN"]],
    ["HUGGINGFACE_HUB_CACHE, HUGGING_FACE_HUB_TOKEN", ["HUGGINGFACE_HUB_CACHE", "HUGGING_FACE_HUB_TOKEN"]],
    ["MECHINTERP_BACKEND, MECHINTERP_NATIVE_MATMUL", ["MECHINTERP_BACKEND", "MECHINTERP_NATIVE_MATMUL"]],
    ["PATH, HOME, CI, MODEL_DIR, XHF_TOKEN, MECHINTERP_ALLOW_INSTALL (kept)", []],
  ];
  for (const [names, expected] of table) {
    it(`drops ${names}`, () => {
      const env = Object.fromEntries(names.replace(" (kept)", "").split(", ").map((n) => [n, "x"]));
      assert.deepEqual(userEnvNames(env), expected);
    });
  }

  it("a mocha run started with MODEL_OVERRIDE_DIR and HF_TOKEN exported does not see them", () => {
    // A child Node with the setup file preloaded, as mocha loads it: it removes both, keeps the rest.
    const probe = path.join(__dirname, "setup", "isolateEnv.js");
    const r = spawnSync(process.execPath, ["-r", probe, "-e", "console.log(JSON.stringify([process.env.MODEL_OVERRIDE_DIR ?? null, process.env.HF_TOKEN ?? null, process.env.KEEP_ME]))"], {
      encoding: "utf8",
      env: { ...process.env, MODEL_OVERRIDE_DIR: "/nonexistent", HF_TOKEN: "hf_x", KEEP_ME: "kept" },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [null, null, "kept"]);
    assert.match(r.stderr, /ignoring HF_TOKEN, MODEL_OVERRIDE_DIR from the environment/);
  });

  it("CI is recognised as true or 1 only", () => {
    assert.deepEqual(["true", "1", "false", "0", "", undefined].map((v) => inCi(v === undefined ? {} : { CI: v })), [true, true, false, false, false, false]);
  });
});
