/**
 * Reader for the safetensors format (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then the bytes.
 *
 * Tensors come back as float32 host tensors. F32 data is viewed in place when aligned (no copy);
 * F16 and BF16 are widened to float32. Every claim the header makes is checked against the file,
 * so a truncated or lying file fails here with its name, not later as garbage numbers.
 */
import * as fs from "fs";
import { HostTensor, StateDict, numel, shapeString } from "./hostTensor";

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
  /** The whole file. */
  bytes: Uint8Array;
  /** Where the data section starts in `bytes`. */
  dataStart: number;
}

function fail(path: string, what: string): never {
  throw new Error(
    `Invalid safetensors file ${path}: ${what}. ` +
      `The file may be truncated or corrupt: download it again (delete it from the cache) or re-export it.`
  );
}

/** Parses and validates the header; keeps the file's bytes for `readTensor`. */
export function openSafetensors(path: string): SafetensorsFile {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    throw new Error(`Cannot read safetensors file ${path}: ${(err as Error).message}`);
  }
  return parseSafetensors(bytes, path);
}

export function parseSafetensors(bytes: Uint8Array, path = "<buffer>"): SafetensorsFile {
  if (bytes.length < 8) fail(path, `it is ${bytes.length} bytes long, shorter than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (headerLen > bytes.length - 8 || headerLen > 100_000_000) {
    fail(path, `the header claims ${headerLen} bytes but the file has only ${bytes.length - 8} after the length field`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 8, headerLen).toString("utf8"));
  } catch (err) {
    fail(path, `the header is not valid JSON (${(err as Error).message})`);
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) fail(path, "the header is not a JSON object");
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
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
  return { path, entries, metadata, bytes, dataStart };
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

/** Returns tensor `name` as float32. F32 data that is 4-byte aligned is a view into the file's bytes. */
export function readTensor(file: SafetensorsFile, name: string): HostTensor {
  const entry = file.entries.get(name);
  if (!entry) throw new Error(`Tensor "${name}" is not in ${file.path}`);
  const { dtype, shape } = entry;
  const n = numel(shape);
  const offset = file.bytes.byteOffset + file.dataStart + entry.dataOffsets[0];
  const buffer = file.bytes.buffer;
  switch (dtype) {
    case "F32": {
      if (offset % 4 === 0) return { shape, data: new Float32Array(buffer, offset, n) };
      const copy = new Uint8Array(n * 4);
      copy.set(new Uint8Array(buffer, offset, n * 4));
      return { shape, data: new Float32Array(copy.buffer) };
    }
    case "F16":
    case "BF16": {
      const out = new Float32Array(n);
      const src = new DataView(buffer, offset, n * 2);
      if (dtype === "F16") {
        for (let i = 0; i < n; i++) out[i] = f16Table[src.getUint16(2 * i, true)];
      } else {
        // bfloat16 is the top half of a float32.
        const bits = new Uint32Array(out.buffer);
        for (let i = 0; i < n; i++) bits[i] = src.getUint16(2 * i, true) << 16;
      }
      return { shape, data: out };
    }
    default:
      throw new Error(
        `Tensor "${name}" in ${file.path} has dtype ${dtype}; weights must be one of ${SUPPORTED_WEIGHT_DTYPES.join(", ")}. ` +
          `Re-save the checkpoint in float32, float16 or bfloat16.`
      );
  }
}

/** Reads every tensor whose name passes `keep` into a state dict (names unchanged). */
export function readStateDict(file: SafetensorsFile, keep: (name: string) => boolean = () => true): StateDict {
  const out: StateDict = new Map();
  for (const name of file.entries.keys()) if (keep(name)) out.set(name, readTensor(file, name));
  return out;
}
