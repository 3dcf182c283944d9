/**
 * Set-up's part for Deno's kernel (denoKernel.ts): register `mechinterp-ts-deno` beside the tslab
 * kernel when this checkout has the `deno` binary, and check once that it runs a cell through
 * Jupyter, remembered in .cache/kernel-setup-deno.json until the kernel, Deno or the Python change.
 *
 * Deno is optional: without it, or when its check fails, set-up still succeeds for tslab and says
 * why, unless the caller needs Deno (`npm run notebook -- --kernel deno`), which then fails.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { DENO_KERNEL_NAME, denoBinary, denoKernelSpec, denoMissingReason, denoVersion, writeDenoKernelSpec } from "./denoKernel";

export interface DenoSetupOptions {
  root: string;
  kernelsDir: string;
  /** The Python running the check, for the stamp. */
  python: string;
  /** Runs one cell under the named kernel through Jupyter; throws when it fails. */
  verify: (kernelName: string) => Promise<void>;
  /** Throw when Deno is missing or its check fails (default: report and go on). */
  required?: boolean;
  /** Check again even when an identical set-up passed before. */
  force?: boolean;
  log: (line: string) => void;
}

export type DenoSetupResult =
  | { kernelFile: string; verified: "now" | "before"; deno: string }
  | { kernelFile: string; verified: "failed"; deno: string; error: string }
  | { kernelFile?: undefined; missing: string };

function stampFile(root: string): string {
  return path.join(root, ".cache", "kernel-setup-deno.json");
}

export async function setupDenoKernel(options: DenoSetupOptions): Promise<DenoSetupResult> {
  const { root, kernelsDir, log } = options;
  const bin = denoBinary(root);
  if (!bin) {
    const missing = denoMissingReason(root) as string;
    if (options.required) throw new Error(`The Deno kernel was asked for, but: ${missing}`);
    return { missing };
  }
  const kernelFile = path.join(kernelsDir, DENO_KERNEL_NAME, "kernel.json");
  const wanted = JSON.stringify(denoKernelSpec(root), null, 2) + "\n";
  if (!fs.existsSync(kernelFile) || fs.readFileSync(kernelFile, "utf8") !== wanted) {
    writeDenoKernelSpec(kernelsDir, root);
    log(`Registered the Jupyter kernel "${DENO_KERNEL_NAME}" (Deno) in ${kernelFile}`);
  }
  const deno = denoVersion(bin);
  const key = crypto.createHash("sha256").update(JSON.stringify([1, options.python, kernelFile, wanted, deno])).digest("hex");
  const stamp = stampFile(root);
  let checked: Record<string, string> = {};
  try {
    checked = JSON.parse(fs.readFileSync(stamp, "utf8"));
  } catch {
    checked = {};
  }
  if (!options.force && checked[kernelFile] === key) return { kernelFile, verified: "before", deno };
  log(`Checking the Deno kernel through Jupyter (${deno})...`);
  try {
    await options.verify(DENO_KERNEL_NAME);
  } catch (err) {
    if (options.required) throw err;
    log(`The Deno kernel is registered but did not pass its check (the tslab kernel is unaffected):\n${(err as Error).message}`);
    return { kernelFile, verified: "failed", deno, error: (err as Error).message };
  }
  for (const file of Object.keys(checked)) if (!fs.existsSync(file)) delete checked[file];
  checked[kernelFile] = key;
  fs.mkdirSync(path.dirname(stamp), { recursive: true });
  fs.writeFileSync(stamp, JSON.stringify(checked, null, 2) + "\n");
  return { kernelFile, verified: "now", deno };
}
