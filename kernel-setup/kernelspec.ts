/**
 * The Jupyter kernel spec for this project: tslab started from the project's own node_modules by
 * the same Node.js that installed it, so no global `tslab` is needed and versions cannot drift.
 */
import * as fs from "fs";
import * as path from "path";

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
    argv: [process.execPath, tslabBin, "kernel", "--config-path", "{connection_file}"],
    display_name: KERNEL_DISPLAY_NAME,
    language: "typescript",
  };
}

/**
 * Writes `<kernelsDir>/mechinterp-ts/kernel.json` and returns its path. `kernelsDir` is a Jupyter
 * kernels folder, e.g. `~/.local/share/jupyter/kernels` or `$JUPYTER_PATH/kernels` in tests.
 */
export function writeKernelSpec(kernelsDir: string, root: string = projectRoot()): string {
  const dir = path.join(kernelsDir, KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
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
