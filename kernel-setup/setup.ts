/**
 * `npm run setup`: everything a notebook run needs, idempotent and quick the second time.
 *   1. the self-link node_modules/mechinterp-ts -> .. (so notebooks import "mechinterp-ts");
 *   2. a Python with jupyter_client + nbclient (found, or installed the way the machine allows,
 *      after asking: see consent.ts);
 *   3. the kernel spec `mechinterp-ts` in the user's Jupyter kernels folder: one kernel for every
 *      checkout, whose launcher runs the tslab of the checkout that holds the notebook
 *      (kernelspec.ts); this checkout becomes the one used for notebooks outside any checkout;
 *   4. a check that the kernel runs a cell through a real Jupyter client; remembered in
 *      .cache/kernel-setup.json until anything it depends on changes;
 *   5. where this checkout has the optional `deno` binary, the second kernel `mechinterp-ts-deno`
 *      (Deno's own Jupyter kernel) registered and checked the same way (denoSetup.ts).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { confirmInstall } from "./consent";
import { setupDenoKernel, type DenoSetupResult } from "./denoSetup";
import { executeNotebook, describeCellError } from "./execute";
import { machineFacts, manualInstructions, planJupyterInstall, runInstallPlan } from "./install";
import { KERNEL_NAME, codeNotebook, kernelSpec, projectRoot, registeredCheckout, writeKernelSpec } from "./kernelspec";
import { LAUNCHER_FILE, launcherSource } from "./launcher";
import { capability, describeProbes, findJupyterPython, PythonInfo } from "./python";
import { ensureSelfLink } from "./selfLink";

export interface SetupOptions {
  /** Where to register the kernel. Default: `<jupyter data dir>/kernels` of the Python found. */
  kernelsDir?: string;
  /** Offer to install Jupyter when it is missing (default true); false fails with instructions instead. */
  install?: boolean;
  /** Install without asking (`--yes`); otherwise $MECHINTERP_ALLOW_INSTALL=1, or a question on a terminal. */
  allowInstall?: boolean;
  /** For tests: whether a person can answer, and how the answer is read (consent.ts). */
  interactive?: boolean;
  ask?: (question: string) => Promise<string>;
  /** Run the kernel check even when it passed before for this exact set-up. */
  force?: boolean;
  /** Environment to search and run in (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
  /** Deno's kernel: "required" fails set-up without it (`--kernel deno`); default "optional". */
  deno?: "optional" | "required";
}

export interface SetupResult {
  python: PythonInfo;
  kernelsDir: string;
  kernelFile: string;
  /** "now": the kernel ran a cell in this call; "before": an earlier identical set-up did. */
  verified: "now" | "before";
  /** Deno's kernel: registered (and checked), or why not. */
  deno: DenoSetupResult;
}

const STAMP_VERSION = 1;

function stampFile(root: string): string {
  return path.join(root, ".cache", "kernel-setup.json");
}

/** Everything the kernel check depends on; when it changes, the check runs again. */
function stampKey(python: PythonInfo, kernelFile: string, root: string): string {
  const tslabPkg = path.join(root, "node_modules", "tslab", "package.json");
  const parts = [
    STAMP_VERSION,
    python.executable,
    python.version,
    kernelFile,
    fs.readFileSync(kernelFile, "utf8"),
    launcherSource(),
    fs.existsSync(tslabPkg) ? JSON.parse(fs.readFileSync(tslabPkg, "utf8")).version : "",
    process.version,
  ];
  return crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex");
}

/** The environment under which Jupyter finds the kernel spec in `kernelsDir` first. */
export function envWithKernels(kernelsDir: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const dataDir = path.dirname(path.resolve(kernelsDir));
  const rest = (env.JUPYTER_PATH ?? "").split(path.delimiter).filter((p) => p && path.resolve(p) !== dataDir);
  return { ...env, JUPYTER_PATH: [dataDir, ...rest].join(path.delimiter) };
}

/** Executes `console.log(6 * 7)` under the kernel through nbclient; throws with details unless it prints 42. */
export async function verifyKernel(
  python: PythonInfo,
  kernelsDir: string,
  env: NodeJS.ProcessEnv = process.env,
  kernelName: string = KERNEL_NAME
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mechinterp-kernel-check-"));
  try {
    const input = path.join(dir, "check.ipynb");
    const output = path.join(dir, "check.out.ipynb");
    const nb = codeNotebook(["const answer: number = 6 * 7;\nconsole.log(answer);"]);
    fs.writeFileSync(input, JSON.stringify(nb));
    const report = await executeNotebook({
      python: python.command,
      input,
      output,
      kernelName,
      cwd: dir,
      cellTimeoutS: 120,
      startupTimeoutS: 120,
      env: envWithKernels(kernelsDir, env),
    });
    if (!report.ok && report.error) throw new Error(`The kernel check failed.\n${describeCellError(report.error, input)}`);
    const executed = JSON.parse(fs.readFileSync(output, "utf8"));
    const text = (executed.cells[0].outputs as Array<{ text?: string | string[] }>)
      .map((o) => (Array.isArray(o.text) ? o.text.join("") : o.text ?? ""))
      .join("");
    if (text.trim() !== "42") {
      throw new Error(
        `The kernel check ran, but printed ${JSON.stringify(text)} instead of "42". Outputs: ${JSON.stringify(executed.cells[0].outputs)}`
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Finds (or installs) Jupyter, registers the kernel and checks it. */
export async function setup(options: SetupOptions = {}): Promise<SetupResult> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const root = projectRoot();

  ensureSelfLink(root);
  kernelSpec(root); // throws with "run npm install" when tslab is missing

  let search = findJupyterPython(env);
  if (!search.best || capability(search.best) < 2) {
    const lacking = `No Python with jupyter_client and nbclient was found:\n${describeProbes(search.probed)}`;
    if (options.install === false) throw new Error(`${lacking}\n${manualInstructions()}`);
    const plan = planJupyterInstall(await machineFacts(search.probed, env));
    if (plan.method === "manual") throw new Error(`${lacking}\n${plan.manual}`);
    log(lacking);
    await confirmInstall(`Jupyter (jupyter_client, nbclient) for Python`, plan.commands, "npm run setup", {
      allow: options.allowInstall,
      env,
      interactive: options.interactive,
      ask: options.ask,
    });
    log(`Installing Jupyter with ${plan.method}:`);
    const installed = runInstallPlan(plan, log);
    search = findJupyterPython(env);
    if (!installed || !search.best || capability(search.best) < 2) {
      throw new Error(`Installing Jupyter with ${plan.method} did not work.\n${describeProbes(search.probed)}\n${plan.manual}`);
    }
  }
  const python = search.best;
  const dataDir = python.dataDir ?? path.join(os.homedir(), ".local", "share", "jupyter");
  const kernelsDir = options.kernelsDir ?? path.join(dataDir, "kernels");

  const kernelFile = path.join(kernelsDir, KERNEL_NAME, "kernel.json");
  const wanted = JSON.stringify(kernelSpec(root), null, 2) + "\n";
  const launcher = path.join(path.dirname(kernelFile), LAUNCHER_FILE);
  const current = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined);
  if (current(kernelFile) !== wanted || current(launcher) !== launcherSource()) {
    const previous = registeredCheckout(kernelsDir);
    writeKernelSpec(kernelsDir, root);
    log(`Registered the Jupyter kernel "${KERNEL_NAME}" in ${kernelFile}`);
    if (previous && path.resolve(previous) !== root) {
      log(
        `  It is shared by every checkout: each notebook runs with the checkout that holds it. Notebooks outside any ` +
          `checkout now use ${root} (before: ${previous}).`
      );
    }
  }

  // One entry per kernel file, so a test's temporary registration does not evict the user's.
  const key = stampKey(python, kernelFile, root);
  const stamp = stampFile(root);
  let checked: Record<string, { key: string; python: string; checkedAt: string }> = {};
  try {
    checked = JSON.parse(fs.readFileSync(stamp, "utf8"));
  } catch {
    checked = {};
  }
  let verified: SetupResult["verified"] = "before";
  if (options.force || checked[kernelFile]?.key !== key) {
    log(`Checking the kernel through Jupyter (${python.command}, nbclient)...`);
    await verifyKernel(python, kernelsDir, env);
    for (const [file] of Object.entries(checked)) if (!fs.existsSync(file)) delete checked[file];
    checked[kernelFile] = { key, python: python.command, checkedAt: new Date().toISOString() };
    fs.mkdirSync(path.dirname(stamp), { recursive: true });
    fs.writeFileSync(stamp, JSON.stringify(checked, null, 2) + "\n");
    verified = "now";
  }
  const deno = await setupDenoKernel({
    root,
    kernelsDir,
    python: python.command,
    verify: (name) => verifyKernel(python, kernelsDir, env, name),
    required: options.deno === "required",
    force: options.force,
    log,
  });
  return { python, kernelsDir, kernelFile, verified, deno };
}
