/**
 * Deno's Jupyter kernel: `Deno.jupyter.display(bundle, { raw: true })` (Deno's public API) sends a
 * MIME bundle as one display_data message. (A cell's last value is displayed by Deno itself through
 * `Symbol.for("Jupyter.display")`, which `Chart` implements.)
 *
 * Outside `deno jupyter` (a `deno run` script), merely reading `Deno.jupyter` throws ("only
 * available in `deno jupyter` subcommand"), so the lookup is guarded and such a script falls back
 * to the text line, as plain Node does.
 */
import type { MimeBundle } from "./mime";

interface DenoJupyter {
  display(obj: unknown, options?: { raw?: boolean }): Promise<void>;
}

/** `Deno.jupyter` when running inside Deno's Jupyter kernel, else undefined (Node, `deno run`). */
export function denoJupyter(): DenoJupyter | undefined {
  const deno = (globalThis as { Deno?: { jupyter?: Partial<DenoJupyter> } }).Deno;
  if (deno === undefined) return undefined;
  let jupyter: Partial<DenoJupyter> | undefined;
  try {
    jupyter = deno.jupyter;
  } catch {
    return undefined; // `deno run`: the namespace exists only under `deno jupyter`
  }
  return typeof jupyter?.display === "function" ? (jupyter as DenoJupyter) : undefined;
}

/**
 * @returns true if a Deno Jupyter kernel took the bundle. Deno sends asynchronously; a failure is
 * reported on stderr rather than thrown, since the caller has already moved on.
 */
export function sendThroughDeno(bundle: MimeBundle): boolean {
  const jupyter = denoJupyter();
  if (!jupyter) return false;
  jupyter.display(bundle, { raw: true }).catch((err: unknown) => {
    console.error(`display: Deno.jupyter.display failed: ${(err as Error)?.message ?? String(err)}`);
  });
  return true;
}
