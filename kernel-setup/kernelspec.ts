/**
 * The Jupyter kernel spec for this project: tslab from a checkout's own node_modules (no global
 * `tslab`, versions cannot drift), through a launcher that picks the checkout holding the notebook
 * (launcher.ts), started by the Node.js that ran set-up.
 */
import * as fs from "fs";
import * as path from "path";
import { CHECKOUT_ENV_VAR, LAUNCHER_FILE, launcherSource } from "./launcher";

/** The kernel name notebooks in this project carry in `metadata.kernelspec.name`. */
export const KERNEL_NAME = "mechinterp-ts";
export const KERNEL_DISPLAY_NAME = "TypeScript (mechinterp-ts, tslab)";

/** The repository root (this file compiles to dist/kernel-setup/, sources live in kernel-setup/). */
export function projectRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`Cannot find the project's package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
  env?: Record<string, string>;
}

export function kernelSpec(root: string = projectRoot()): KernelSpec {
  const tslabBin = path.join(root, "node_modules", "tslab", "bin", "tslab");
  if (!fs.existsSync(tslabBin)) {
    throw new Error(`tslab is not installed at ${tslabBin}. Run \`npm install\` in ${root} first.`);
  }
  return {
    // Jupyter replaces {resource_dir} with the kernel's folder, where launch.js is written.
    argv: [process.execPath, path.join("{resource_dir}", LAUNCHER_FILE), "kernel", "--config-path", "{connection_file}"],
    display_name: KERNEL_DISPLAY_NAME,
    language: "typescript",
    env: { [CHECKOUT_ENV_VAR]: root },
  };
}

/** The checkout a kernel registered in `kernelsDir` uses outside every checkout, if one is registered. */
export function registeredCheckout(kernelsDir: string): string | undefined {
  try {
    const spec = JSON.parse(fs.readFileSync(path.join(kernelsDir, KERNEL_NAME, "kernel.json"), "utf8")) as KernelSpec;
    return spec.env?.[CHECKOUT_ENV_VAR] ?? (spec.argv[1]?.endsWith(path.join("tslab", "bin", "tslab")) ? path.resolve(spec.argv[1], "..", "..", "..", "..") : undefined);
  } catch {
    return undefined;
  }
}

/**
 * Writes `<kernelsDir>/mechinterp-ts/kernel.json` and its launch.js, and returns kernel.json's path.
 * `kernelsDir` is a Jupyter kernels folder, e.g. `~/.local/share/jupyter/kernels` or
 * `$JUPYTER_PATH/kernels` in tests.
 */
export function writeKernelSpec(kernelsDir: string, root: string = projectRoot()): string {
  const dir = path.join(kernelsDir, KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
  const launcher = path.join(dir, LAUNCHER_FILE);
  fs.writeFileSync(`${launcher}.tmp-${process.pid}`, launcherSource());
  fs.renameSync(`${launcher}.tmp-${process.pid}`, launcher);
  const file = path.join(dir, "kernel.json");
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(kernelSpec(root), null, 2) + "\n");
  fs.renameSync(tmp, file);
  return file;
}

/** A notebook (nbformat 4.5) for this project's kernel with one code cell per source, no outputs. */
export function codeNotebook(sources: string[]): Record<string, unknown> {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: KERNEL_NAME, display_name: KERNEL_NAME, language: "typescript" } },
    cells: sources.map((source, i) => ({ cell_type: "code", id: `c${i}`, metadata: {}, execution_count: null, outputs: [], source })),
  };
}
