/**
 * Executing a notebook headless through nbclient (kernel-setup/nbexec.py) with a given kernel.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DENO_KERNEL_NAME } from "./denoKernel";
import { projectRoot } from "./kernelspec";

export interface ExecuteOptions {
  /** The Python that has nbclient (see findJupyterPython). */
  python: string;
  input: string;
  output: string;
  kernelName: string;
  /** The kernel's working folder (relative paths and imports in cells resolve from here). Default: the input's folder. */
  cwd?: string;
  /** Seconds one cell may run. Default 900. */
  cellTimeoutS?: number;
  /** Seconds the kernel may take to start. Default 120. */
  startupTimeoutS?: number;
  /** Environment for the client and so for the kernel (default process.env). */
  env?: NodeJS.ProcessEnv;
  /**
   * Seconds to keep listening for a cell's outputs after its idle status. Default: 0.5 for Deno's
   * kernel (it sends printed output after idle, see nbexec.py), 0 otherwise.
   */
  lateOutputGraceS?: number;
  /** Progress lines from the driver ("[3/17] const x = ..."). */
  onProgress?: (line: string) => void;
}

export interface CellError {
  /** Position among all cells (0-based), null when the kernel failed before any cell. */
  cellIndex: number | null;
  /** 1-based number among code cells. */
  codeCellNumber: number;
  source: string;
  ename: string;
  evalue: string;
  traceback: string | string[];
  /** What the cell wrote to stderr (tslab puts type errors and stack traces there). */
  stderr: string;
}

export interface ExecuteReport {
  ok: boolean;
  codeCells: number;
  executed: number;
  seconds: number;
  error: CellError | null;
  /** Seconds until the kernel answered (null when it did not start). */
  kernelStartSeconds?: number | null;
  /** Seconds each executed cell took, in order. */
  cellSeconds?: number[];
}

export const DRIVER = "nbexec.py";

/** Runs the driver; resolves with its report (also when a cell failed), rejects when the driver itself broke. */
export function executeNotebook(options: ExecuteOptions): Promise<ExecuteReport> {
  const driver = path.join(projectRoot(), "kernel-setup", DRIVER);
  if (!fs.existsSync(options.input)) {
    return Promise.reject(new Error(`Notebook not found: ${options.input}`));
  }
  const args = [
    driver,
    "--input", options.input,
    "--output", options.output,
    "--kernel", options.kernelName,
    "--cwd", options.cwd ?? path.dirname(path.resolve(options.input)),
    "--timeout", String(options.cellTimeoutS ?? 900),
    "--startup-timeout", String(options.startupTimeoutS ?? 120),
    "--late-output-grace", String(options.lateOutputGraceS ?? (options.kernelName === DENO_KERNEL_NAME ? 0.5 : 0)),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(options.python, args, { env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderrTail = "";
    let pending = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderrTail = (stderrTail + d).slice(-4000);
      pending += d;
      const lines = pending.split("\n");
      pending = lines.pop() as string;
      for (const line of lines) options.onProgress?.(line);
    });
    child.on("error", (err) => reject(new Error(`Could not start ${options.python}: ${err.message}`)));
    child.on("close", (code) => {
      if (pending) options.onProgress?.(pending);
      const last = stdout.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(last) as ExecuteReport);
      } catch {
        reject(
          new Error(
            `The notebook driver (${options.python} ${driver}) exited with code ${code} without a report.\n` +
              `Its last output:\n${stderrTail.trim() || stdout.trim() || "(none)"}`
          )
        );
      }
    });
  });
}

/** Strips ANSI colour codes (tslab's and IPython's tracebacks carry them). */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*[A-Za-z]/g, "");
}

/** "Cell 7 (code cell 4): `const x = ...` failed: TypeError: ..." with the traceback below. */
export function describeCellError(error: CellError, notebookPath: string): string {
  const where =
    error.cellIndex === null
      ? `before the first cell (the kernel did not start or the client failed)`
      : `in code cell ${error.codeCellNumber} (cell ${error.cellIndex + 1} of the notebook)`;
  const firstLine = error.source.split("\n").find((l) => l.trim()) ?? "";
  const tb = stripAnsi(Array.isArray(error.traceback) ? error.traceback.join("\n") : error.traceback);
  const evalue = stripAnsi(error.evalue);
  // tslab's own error message is empty and its details are on stderr; nbclient's traceback then
  // only repeats the source, so show stderr instead where there is any.
  const details = error.stderr?.trim() ? stripAnsi(error.stderr) : tb;
  return [
    `${path.basename(notebookPath)} failed ${where}:`,
    firstLine ? `  > ${firstLine.trim()}` : "",
    evalue || !error.stderr?.trim() ? `  ${error.ename}: ${evalue}` : "",
    details.trim() ? details.trim().split("\n").slice(0, 30).map((l) => `    ${l}`).join("\n") : "",
  ]
    .filter(Boolean)
    .join("\n");
}
