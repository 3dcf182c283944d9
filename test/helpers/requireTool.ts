/**
 * One rule for tests that need an outside tool (Chromium, Jupyter, the native kernels): where it is
 * missing they are skipped with the reason, except under CI (CI=true or 1, which .ci/run sets),
 * where a missing tool fails the run instead of hiding a gap.
 */
import type { Context } from "mocha";

/** Whether this run is CI's, which must have every tool. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === "true" || env.CI === "1";
}

/**
 * Call from a before hook or test: nothing when `missing` is undefined; else skips (printing the
 * reason), or under CI throws "`what` is required in CI: `missing`".
 */
export function requireTool(ctx: Context, what: string, missing: string | undefined): void {
  if (missing === undefined) return;
  if (inCi()) throw new Error(`${what} is required in CI (CI=${process.env.CI}) but ${missing}`);
  console.log(`      skipped: ${what} unavailable: ${missing}`);
  ctx.skip();
}
