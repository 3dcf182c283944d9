/**
 * Reader for the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then the bytes.
 *
 * Only the header is read up front; tensors are read one by one, F32 ones straight into their
 * destination (backend memory), F16 and BF16 widened to float32. Every claim the header makes is
 * checked against the file's size first, so a truncated or lying file fails with its name before
 * anything is allocated, not later as garbage numbers.
 */
import * as fs from "fs";
import { HostTensor, numel, shapeString } from "./hostTensor";

/** Bytes per element of every dtype the format defines; only the float ones can be weights here. */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, U16: 2, U32: 4, U64: 8,
  F8_E4M3: 1, F8_E5M2: 1,
};
export const SUPPORTED_WEIGHT_DTYPES = ["F32", "F16", "BF16"] as const;

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  /** Byte range inside the data section (after the header). */
  dataOffsets: [number, number];
}

export interface SafetensorsFile {
  path: string;
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
  /** File size in bytes. */
  size: number;
}

function fail(path: string, what: string): never {
  throw new Error(
    `Invalid safetensors file ${path}: ${what}. ` +
      `The file may be truncated or corrupt: download it again (delete it from the cache) or re-export it.`
  );
}

/**
 * Reads and validates the header only (the tensors stay on disk until read): every entry's dtype,
 * shape and byte range are checked against each other and against the file's size.
 */
export function openSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = fs.openSync(path, "r");
  } catch (err) {
    throw new Error(`Cannot read safetensors file ${path}: ${(err as Error).message}`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) fail(path, `it is ${size} bytes long, shorter than the 8-byte header length`);
    const lenBytes = Buffer.alloc(8);
    fs.readSync(fd, lenBytes, 0, 8, 0);
    const headerLen = Number(lenBytes.readBigUInt64LE(0));
    if (headerLen > size - 8 || headerLen > 100_000_000) {
      fail(path, `the header claims ${headerLen} bytes but the file has only ${size - 8} after the length field`);
    }
    const header = Buffer.alloc(headerLen);
    fs.readSync(fd, header, 0, headerLen, 8);
    return parseHeader(header, path, size);
  } finally {
    fs.closeSync(fd);
  }
}

function parseHeader(headerBytes: Buffer, path: string, size: number): SafetensorsFile {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(headerBytes.toString("utf8"));
  } catch (err) {
    fail(path, `the header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) fail(path, "the header is not a JSON object");
  const duplicates = duplicateTopLevelKeys(headerBytes.toString("utf8"));
  if (duplicates.length > 0) fail(path, `the header names ${duplicates.map((d) => `"${d}"`).join(", ")} more than once`);
  const dataStart = 8 + headerBytes.length;
  const dataLen = size - dataStart;
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e?.dtype !== "string" || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) {
      fail(path, `tensor "${name}" has a malformed header entry ${JSON.stringify(raw)}`);
    }
    const bytesPer = DTYPE_BYTES[e.dtype];
    if (bytesPer === undefined) fail(path, `tensor "${name}" has unknown dtype "${e.dtype}"`);
    const shape = e.shape as number[];
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) fail(path, `tensor "${name}" has invalid shape ${JSON.stringify(shape)}`);
    const [start, end] = e.data_offsets as number[];
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
      fail(path, `tensor "${name}" has invalid data_offsets [${start}, ${end}]`);
    }
    if (end - start !== numel(shape) * bytesPer) {
      fail(path, `tensor "${name}" (${e.dtype} ${shapeString(shape)}) needs ${numel(shape) * bytesPer} bytes but its data_offsets span ${end - start}`);
    }
    if (end > dataLen) {
      fail(path, `tensor "${name}" ends at byte ${end} of the data section, but the data section has only ${dataLen} bytes`);
    }
    entries.set(name, { dtype: e.dtype, shape, dataOffsets: [start, end] });
  }
  checkLayout(entries, dataLen, path);
  return { path, entries, metadata, dataStart, size };
}

/**
 * The reference implementation's layout rule: the tensors' byte ranges, in order, tile the data
 * section exactly — no two over the same bytes, no gap between them, nothing after the last.
 */
function checkLayout(entries: Map<string, SafetensorsEntry>, dataLen: number, path: string): void {
  const ordered = [...entries].sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let cursor = 0;
  let previous = "the start of the data section";
  for (const [name, { dataOffsets: [start, end] }] of ordered) {
    if (start < cursor) fail(path, `tensors ${previous} and "${name}" overlap (bytes ${start}..${Math.min(cursor, end)} of the data section belong to both)`);
    if (start > cursor) fail(path, `there are ${start - cursor} unused bytes between ${previous} and "${name}" (bytes ${cursor}..${start} of the data section)`);
    cursor = end;
    previous = `"${name}"`;
  }
  if (cursor !== dataLen) fail(path, `it has ${dataLen - cursor} bytes after the last tensor (${previous}) that no tensor describes`);
}

/**
 * Keys that occur more than once at the top level of a JSON object text (JSON.parse silently keeps
 * the last one, so a duplicate would read one tensor's name with another's bytes). The text is
 * known to parse, so a small scanner suffices: strings are skipped whole, depth is tracked, and the
 * string that follows "{" or "," at depth 1 is a key.
 */
export function duplicateTopLevelKeys(json: string): string[] {
  const seen = new Set<string>();
  const dups = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '"') {
      let j = i + 1;
      while (json[j] !== '"') j += json[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(json.slice(i, j + 1)) as string;
        if (seen.has(key)) dups.add(key);
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = c === "{" && depth === 1;
    } else if (c === "}" || c === "]") {
      depth--;
    } else if (c === "," && depth === 1) {
      expectKey = true;
    }
  }
  return [...dups];
}

function entryOf(file: SafetensorsFile, name: string): SafetensorsEntry {
  const entry = file.entries.get(name);
  if (!entry) throw new Error(`Tensor "${name}" is not in ${file.path}`);
  return entry;
}

function unsupported(file: SafetensorsFile, name: string, dtype: string): never {
  throw new Error(
    `Tensor "${name}" in ${file.path} has dtype ${dtype}; weights must be one of ${SUPPORTED_WEIGHT_DTYPES.join(", ")}. ` +
      `Re-save the checkpoint in float32, float16 or bfloat16.`
  );
}

/** Throws the dtype error now if any of `names` cannot be read as a weight. */
export function checkWeightDtypes(file: SafetensorsFile, names: Iterable<string>): void {
  for (const name of names) {
    const { dtype } = entryOf(file, name);
    if (!(SUPPORTED_WEIGHT_DTYPES as readonly string[]).includes(dtype)) unsupported(file, name, dtype);
  }
}

/** Reads exactly `dest.length` bytes of the file at `position` into `dest`. */
function readExactly(fd: number, dest: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < dest.length) {
    const n = fs.readSync(fd, dest, done, dest.length - done, position + done);
    if (n === 0) fail(path, `it ended at byte ${position + done}, before the data its header describes`);
    done += n;
  }
}

/**
 * Reads F32 tensor `name` straight into `dest` (its bytes, e.g. a view of backend memory): one copy
 * from the file, no intermediate buffer.
 */
export function readF32Into(file: SafetensorsFile, fd: number, name: string, dest: Uint8Array): void {
  const entry = entryOf(file, name);
  if (entry.dtype !== "F32") throw new Error(`Internal error: readF32Into on ${entry.dtype} tensor "${name}"`);
  const [start, end] = entry.dataOffsets;
  if (dest.length !== end - start) throw new Error(`Internal error: destination of ${dest.length} bytes for "${name}" (${end - start})`);
  readExactly(fd, dest, file.dataStart + start, file.path);
}

const f16Table = (() => {
  // float16 bit pattern → float32 value, all 65536 of them (256 KB; faster than bit twiddling per element).
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return t;
})();

/** Returns tensor `name` as float32, read from the open file `fd` (F16 and BF16 widened). */
export function readTensor(file: SafetensorsFile, fd: number, name: string): HostTensor {
  const { dtype, shape, dataOffsets } = entryOf(file, name);
  const n = numel(shape);
  if (dtype === "F32") {
    const out = new Float32Array(n);
    readF32Into(file, fd, name, new Uint8Array(out.buffer));
    return { shape, data: out };
  }
  if (dtype !== "F16" && dtype !== "BF16") unsupported(file, name, dtype);
  const raw = new Uint16Array(n);
  readExactly(fd, new Uint8Array(raw.buffer), file.dataStart + dataOffsets[0], file.path); // little-endian hosts
  const out = new Float32Array(n);
  if (dtype === "F16") {
    for (let i = 0; i < n; i++) out[i] = f16Table[raw[i]];
  } else {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = raw[i] << 16;
  }
  return { shape, data: out };
}
