/**
 * A cache of processed weights on disk: fromPretrained's output state dict (converted to
 * TransformerLens's names, LayerNorm folded, centred, value biases folded), written once as a
 * safetensors file so that later loads only read it, straight into backend memory, with no
 * conversion, processing or second pass over the values.
 *
 *   <hub cache>/mechinterp-ts/processed/<sha256(real path of the source weights, options)>.safetensors
 *
 * One entry per source file and set of processing options. Its `__metadata__` records what it was
 * made from: the source file's real path, size, mtime, inode and device, the sha256 of its
 * config.json, the processing options and this format's version. An entry whose record differs in
 * any of these from the source as it is now is stale: it is ignored and rewritten. Entries are
 * written to a temporary file in the same folder, flushed to disk, then renamed into place, so a
 * reader sees either a whole entry or none; a crash leaves at most a `.tmp-<pid>-*` file, which the
 * next write of that entry removes once that process is gone.
 *
 * An entry is trusted as this package's own output: it is written only after the source passed
 * every check (shapes, dtypes, finite values), and it is read only when its header lists exactly the
 * expected tensors with the expected shapes and tiles the file (the safetensors reader checks every
 * offset against the file's size). Its values are not scanned again.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { tf } from "../backend";
import { HookedTransformerConfig } from "../model/config";
import { hubCacheDir } from "./hubCache";
import { ProcessWeightsOptions } from "./processWeights";
import { openSafetensors, readF32Into } from "./safetensors";
import { TensorStateDict } from "./stateDict";
import { tensorBytes } from "./tensorBytes";
import { uploadFloat32 } from "./uploadTensor";

/** Bumped whenever conversion or processing changes what an entry holds. */
export const PROCESSED_CACHE_VERSION = "mechinterp-processed/1";
/** "0" turns the cache off everywhere; "1" turns it on for local folders too. */
export const PROCESSED_CACHE_ENV_VAR = "MECHINTERP_PROCESSED_CACHE";

/** The source an entry was made from, and how. All strings: safetensors metadata is string → string. */
export type ProcessedCacheKey = Record<string, string>;

/** The four processing flags with fromPretrained's defaults filled in. */
export function resolvedProcessOptions(options: ProcessWeightsOptions): Required<ProcessWeightsOptions> {
  return {
    foldLn: options.foldLn ?? true,
    centerWritingWeights: options.centerWritingWeights ?? true,
    centerUnembed: options.centerUnembed ?? true,
    foldValueBiases: options.foldValueBiases ?? true,
  };
}

/**
 * What identifies an entry's source now: the weights file's real path, size, mtime, inode, device,
 * config.json's sha256, the processing options and the format version.
 */
export function processedCacheKey(weightsPath: string, configPath: string, options: ProcessWeightsOptions): ProcessedCacheKey {
  const real = fs.realpathSync(weightsPath);
  const st = fs.statSync(real);
  const config = crypto.createHash("sha256").update(fs.readFileSync(configPath)).digest("hex");
  return {
    format: PROCESSED_CACHE_VERSION,
    source: real,
    size: String(st.size),
    mtimeMs: String(st.mtimeMs),
    ino: String(st.ino),
    dev: String(st.dev),
    config,
    options: JSON.stringify(resolvedProcessOptions(options)),
    dtype: "float32",
  };
}

/** The entry's file for `key` under `root` (one per source path and options; stale ones are overwritten). */
export function processedCacheFile(root: string, key: ProcessedCacheKey): string {
  const name = crypto.createHash("sha256").update(`${key.source}\n${key.options}`).digest("hex").slice(0, 32);
  return path.join(root, `${name}.safetensors`);
}

/** The default folder: <hub cache>/mechinterp-ts/processed (the hub cache as hubCacheDir finds it). */
export function defaultProcessedCacheRoot(hubCacheOverride?: string): string {
  return path.join(hubCacheDir(hubCacheOverride), "mechinterp-ts", "processed");
}

/**
 * The processed shapes fromPretrained produces for `cfg` (TransformerLens names), for checking an entry.
 * LayerNorm weights are absent when foldLn is on.
 */
export function processedShapes(cfg: HookedTransformerConfig, options: ProcessWeightsOptions): Map<string, number[]> {
  const { dModel: D, dMlp: M, dVocab: V, nCtx, nHeads: H, dHead: E } = cfg;
  const { foldLn } = resolvedProcessOptions(options);
  const shapes = new Map<string, number[]>([["embed.W_E", [V, D]], ["pos_embed.W_pos", [nCtx, D]]]);
  for (let l = 0; l < cfg.nLayers; l++) {
    const b = `blocks.${l}.`;
    if (!foldLn) shapes.set(b + "ln1.w", [D]).set(b + "ln1.b", [D]);
    for (const x of ["Q", "K", "V"]) shapes.set(b + `attn.W_${x}`, [H, D, E]).set(b + `attn.b_${x}`, [H, E]);
    shapes.set(b + "attn.W_O", [H, E, D]).set(b + "attn.b_O", [D]);
    if (!foldLn) shapes.set(b + "ln2.w", [D]).set(b + "ln2.b", [D]);
    shapes.set(b + "mlp.W_in", [D, M]).set(b + "mlp.b_in", [M]).set(b + "mlp.W_out", [M, D]).set(b + "mlp.b_out", [D]);
  }
  if (!foldLn) shapes.set("ln_final.w", [D]).set("ln_final.b", [D]);
  shapes.set("unembed.W_U", [D, V]).set("unembed.b_U", [V]);
  return shapes;
}

/** Why an entry cannot be used (stale, foreign, malformed), or undefined when it can. */
function entryProblem(file: ReturnType<typeof openSafetensors>, key: ProcessedCacheKey, expected: Map<string, number[]>): string | undefined {
  for (const [k, v] of Object.entries(key)) if (file.metadata[k] !== v) return `its ${k} differs from the source's`;
  if (file.entries.size !== expected.size) return `it holds ${file.entries.size} tensors, not ${expected.size}`;
  for (const [name, shape] of expected) {
    const e = file.entries.get(name);
    if (!e || e.dtype !== "F32" || e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) return `tensor "${name}" is missing or has another shape`;
  }
  return undefined;
}

/**
 * Reads an entry into new tensors on the active backend, or returns undefined when there is none or
 * it does not match `key` and `expected` (the caller then processes and writes a new one).
 * @returns name → tensor in `expected`'s order, owned by the caller; nothing is left allocated on failure.
 */
export function readProcessedCache(file: string, key: ProcessedCacheKey, expected: Map<string, number[]>): { stateDict?: TensorStateDict; miss?: string } {
  if (!fs.existsSync(file)) return { miss: "no entry" };
  let st;
  try {
    st = openSafetensors(file);
  } catch (err) {
    return { miss: (err as Error).message };
  }
  const problem = entryProblem(st, key, expected);
  if (problem) return { miss: problem };
  const out: TensorStateDict = new Map();
  const fd = fs.openSync(file, "r");
  try {
    for (const [name, shape] of expected) out.set(name, uploadFloat32(shape, (bytes) => readF32Into(st, fd, name, bytes)));
    return { stateDict: out };
  } catch (err) {
    tf.dispose([...out.values()]);
    return { miss: (err as Error).message };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes `sd` (float32 tensors on any backend; not modified, still the caller's) as the entry
 * `file`, with `key` as its metadata: to `<file>.tmp-<pid>-<random>` in the same folder, fsync'd,
 * then renamed over `file`. Temporary files of this entry left by processes that are gone are removed first.
 * @throws the file-system error (the caller warns and carries on); no temporary file is left behind.
 */
export function writeProcessedCache(file: string, key: ProcessedCacheKey, sd: TensorStateDict): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  removeAbandonedTemporaries(file);
  const header: Record<string, unknown> = { __metadata__: key };
  let offset = 0;
  const names = [...sd.keys()].sort();
  for (const name of names) {
    const t = sd.get(name)!;
    if (t.dtype !== "float32") throw new Error(`Internal error: processed tensor "${name}" is ${t.dtype}`);
    const bytes = t.size * 4;
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  // Pad the header with spaces to a multiple of 8 bytes, as the reference writer does (aligned data).
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const lenBytes = Buffer.alloc(8);
  lenBytes.writeBigUInt64LE(BigInt(headerBytes.length));
  const tmp = `${file}.tmp-${process.pid}-${crypto.randomBytes(4).toString("hex")}`;
  const fd = fs.openSync(tmp, "wx");
  try {
    writeAll(fd, lenBytes);
    writeAll(fd, headerBytes);
    for (const name of names) writeAll(fd, tensorBytes(sd.get(name)!));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Removes `<file>.tmp-<pid>-*` files whose writer is gone (a crash, a kill); another live process's
 * write in progress is left alone (both then rename a whole entry into place; the last one stays).
 */
function removeAbandonedTemporaries(file: string): void {
  const dir = path.dirname(file);
  const prefix = path.basename(file) + ".tmp-";
  for (const f of fs.readdirSync(dir)) {
    if (!f.startsWith(prefix)) continue;
    const pid = Number(f.slice(prefix.length).split("-")[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processAlive(pid)) continue;
    fs.rmSync(path.join(dir, f), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
}
