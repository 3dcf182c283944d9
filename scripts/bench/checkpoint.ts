/**
 * The benchmark's GPT-2-small-shaped random checkpoint (F32, hub layout, ~548 MB), generated once into
 * .cache/bench/gpt2-small-random/ and reused.
 *
 * Written atomically: generated into a sibling temporary folder and renamed into place only when
 * complete, so an interrupted run never leaves a half checkpoint that a later run would trust. A
 * folder that is present but whose safetensors file is shorter or longer than its own header says
 * (e.g. copied partially by hand) is regenerated.
 */
import * as fs from "fs";
import * as path from "path";
import { writeGpt2SmallShapedCheckpoint } from "../../test/fixtures/checkpoint";

export const CHECKPOINT_NAME = "gpt2-small-random";
const CONFIG = "config.json";
const WEIGHTS = "model.safetensors";
const TMP_PREFIX = `${CHECKPOINT_NAME}.tmp-`;

export interface BenchCheckpoint {
  dir: string;
  bytes: number;
  /** Seconds spent generating it now; 0 when reused. */
  generatedS: number;
}

/** Why `dir` is not a complete checkpoint, or undefined when it is. */
function problemWith(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return "missing";
  for (const f of [CONFIG, WEIGHTS]) if (!fs.existsSync(path.join(dir, f))) return `${f} missing`;
  try {
    JSON.parse(fs.readFileSync(path.join(dir, CONFIG), "utf8"));
  } catch (err) {
    return `${CONFIG} is not JSON (${(err as Error).message})`;
  }
  // safetensors: u64 header length, JSON header, data; the file ends where the last tensor ends.
  const file = path.join(dir, WEIGHTS);
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(8);
    if (size < 8 || fs.readSync(fd, head, 0, 8, 0) !== 8) return `${WEIGHTS} is shorter than its header`;
    const headerLen = Number(head.readBigUInt64LE(0));
    if (headerLen > size - 8) return `${WEIGHTS} is shorter than its header`;
    const header = Buffer.alloc(headerLen);
    fs.readSync(fd, header, 0, headerLen, 8);
    const entries = JSON.parse(header.toString("utf8")) as Record<string, { data_offsets?: [number, number] }>;
    const end = Math.max(0, ...Object.values(entries).map((e) => e.data_offsets?.[1] ?? 0));
    if (8 + headerLen + end !== size) return `${WEIGHTS} has ${size} bytes, its header says ${8 + headerLen + end}`;
  } catch (err) {
    return `${WEIGHTS} header unreadable (${(err as Error).message})`;
  } finally {
    fs.closeSync(fd);
  }
  return undefined;
}

/** Whether `pid` is a running process (a zombie, killed but not yet reaped, counts as gone). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true; // no /proc (not Linux): trust kill(pid, 0)
  }
}

/** Generation takes ~15 s; a temporary folder this old is left over even if its pid was reused. */
const STALE_AFTER_MS = 30 * 60 * 1000;

/** Removes temporary folders left by interrupted runs (their process is gone, or they are old). */
function removeStaleTemporaries(root: string): void {
  for (const name of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const full = path.join(root, name);
    const pid = Number(name.slice(TMP_PREFIX.length));
    const fresh = Date.now() - fs.statSync(full).mtimeMs < STALE_AFTER_MS;
    if (fresh && Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) continue; // another run is writing it
    fs.rmSync(full, { recursive: true, force: true });
  }
}

/** The checkpoint folder under `root`, generated first if absent or incomplete. */
export function ensureBenchCheckpoint(root: string, log: (line: string) => void): BenchCheckpoint {
  const dir = path.join(root, CHECKPOINT_NAME);
  fs.mkdirSync(root, { recursive: true });
  removeStaleTemporaries(root);
  const problem = problemWith(dir);
  if (!problem) return { dir, bytes: fs.statSync(path.join(dir, WEIGHTS)).size, generatedS: 0 };

  if (problem !== "missing") {
    log(`Checkpoint at ${dir} is incomplete (${problem}); generating it again.`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  log(`Generating a GPT-2-small-shaped random checkpoint (F32, ~548 MB) into ${dir} (once; ~15 s) ...`);
  const tmp = path.join(root, `${TMP_PREFIX}${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  const t0 = performance.now();
  try {
    const written = writeGpt2SmallShapedCheckpoint(tmp, { seed: 1, dtype: "F32" });
    fs.renameSync(tmp, dir);
    const generatedS = (performance.now() - t0) / 1000;
    log(`Checkpoint written: ${written.fileBytes.toLocaleString("en-US")} bytes in ${generatedS.toFixed(1)} s.`);
    return { dir, bytes: written.fileBytes, generatedS };
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`Could not write the benchmark checkpoint into ${dir}: ${(err as Error).message}`);
  }
}
