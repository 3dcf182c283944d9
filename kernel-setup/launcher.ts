/**
 * The one `mechinterp-ts` kernel every checkout shares. Its kernel.json starts `launch.js` (written
 * beside it) with the Node.js of the last set-up; the launcher runs the tslab of the checkout that
 * holds the notebook, found from the kernel's working folder (Jupyter starts kernels in the
 * notebook's folder) by walking up to a package.json named mechinterp-ts with tslab installed. A
 * notebook outside every checkout runs with the checkout named by kernel.json's
 * MECHINTERP_TS_CHECKOUT (the last one set up), and the launcher says so on stderr.
 *
 * Why: notebooks name their kernel (`metadata.kernelspec.name`), so per-clone kernel names would
 * break every committed notebook; with one fixed path the last set-up would silently own them all.
 */

export const LAUNCHER_FILE = "launch.js";
/** kernel.json's env entry naming the checkout used outside every checkout. */
export const CHECKOUT_ENV_VAR = "MECHINTERP_TS_CHECKOUT";

/** The launcher's source: plain CommonJS, no dependencies, so any Node.js can run it. */
export function launcherSource(): string {
  return `"use strict";
// Written by mechinterp-ts's set-up (kernel-setup/launcher.ts). Runs the tslab of the mechinterp-ts
// checkout that holds the notebook (found from the working folder), else of $${CHECKOUT_ENV_VAR}.
const fs = require("fs");
const path = require("path");

function isCheckout(dir) {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
    return pkg.name === "mechinterp-ts" && fs.existsSync(path.join(dir, "node_modules", "tslab", "bin", "tslab"));
  } catch {
    return false;
  }
}

function enclosingCheckout(start) {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (isCheckout(dir)) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

const found = enclosingCheckout(process.cwd());
const fallback = process.env.${CHECKOUT_ENV_VAR};
const root = found || (fallback && isCheckout(fallback) ? path.resolve(fallback) : undefined);
if (!root) {
  process.stderr.write(
    "mechinterp-ts kernel: " + process.cwd() + " is not inside a mechinterp-ts checkout, and the default one (" +
      (fallback || "none recorded") + ") has no node_modules/tslab. Run npm install and npm run setup in a checkout.\\n"
  );
  process.exit(1);
}
if (!found) {
  process.stderr.write("mechinterp-ts kernel: " + process.cwd() + " is not inside a mechinterp-ts checkout; using " + root + " (the last one set up)\\n");
}
const tslab = path.join(root, "node_modules", "tslab", "bin", "tslab");
process.argv = [process.argv[0], tslab, ...process.argv.slice(2)];
require(tslab);
`;
}
