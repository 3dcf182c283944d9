/**
 * Loaded by mocha before any test file (.mocharc.json "require"): removes from this process's
 * environment the variables a user may export for their own work and that change what the library
 * does (MODEL_OVERRIDE_DIR, SAE_OVERRIDE_DIR, HF_* and the hub's older HUGGINGFACE_* / HUGGING_FACE_*,
 * MECHINTERP_*), so the suite behaves the same in any shell. Tests that need one set it themselves.
 * Child processes the tests start inherit the cleaned environment. Kept: CI (it makes skipped
 * tools required: helpers/requireTool.ts) and MECHINTERP_ALLOW_INSTALL (a permission for set-up to
 * install a missing Jupyter, which .ci/run grants; it changes no result).
 */

const EXACT = new Set(["MODEL_OVERRIDE_DIR", "SAE_OVERRIDE_DIR"]);
const PREFIXES = ["HF_", "HUGGINGFACE_", "HUGGING_FACE_", "MECHINTERP_"];
const KEPT = new Set(["MECHINTERP_ALLOW_INSTALL"]);

/** The names in `env` that the suite must not inherit, sorted. */
export function userEnvNames(env: NodeJS.ProcessEnv): string[] {
  return Object.keys(env)
    .filter((name) => !KEPT.has(name) && (EXACT.has(name) || PREFIXES.some((p) => name.startsWith(p))))
    .sort();
}

const removed = userEnvNames(process.env);
for (const name of removed) delete process.env[name];
if (removed.length > 0) {
  process.stderr.write(`test setup: ignoring ${removed.join(", ")} from the environment (tests set what they need)\n`);
}
