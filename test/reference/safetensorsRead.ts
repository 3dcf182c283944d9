/**
 * The reference's own safetensors reader: every tensor of a file as float64, decoded here
 * (F16 and BF16 bit patterns included) without any code from src/, so that parity tests compare
 * the library against an independent reading of the same bytes.
 *
 * It reads the whole file into memory: meant for the small fixtures, not for 500 MB checkpoints.
 */
import * as fs from "fs";

export interface F64Tensor {
  shape: number[];
  /** The dtype stored in the file. */
  dtype: string;
  /** Row-major values. */
  data: Float64Array;
}

const BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

/** Value of an IEEE 754 half-precision bit pattern. */
export function decodeFloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * Math.pow(2, -24); // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * Math.pow(2, exponent - 15);
}

/** Value of a bfloat16 bit pattern (the upper 16 bits of a float32). */
export function decodeBfloat16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 7) & 0xff;
  const fraction = bits & 0x7f;
  if (exponent === 0) return sign * fraction * Math.pow(2, -133); // 2^(1-127) * fraction / 128
  if (exponent === 0xff) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 128) * Math.pow(2, exponent - 127);
}

function decode(view: DataView, offset: number, count: number, dtype: string): Float64Array {
  const out = new Float64Array(count);
  const size = BYTES[dtype];
  for (let i = 0; i < count; i++) {
    const at = offset + i * size;
    switch (dtype) {
      case "F64": out[i] = view.getFloat64(at, true); break;
      case "F32": out[i] = view.getFloat32(at, true); break;
      case "F16": out[i] = decodeFloat16(view.getUint16(at, true)); break;
      case "BF16": out[i] = decodeBfloat16(view.getUint16(at, true)); break;
      case "I64": out[i] = Number(view.getBigInt64(at, true)); break;
      case "U64": out[i] = Number(view.getBigUint64(at, true)); break;
      case "I32": out[i] = view.getInt32(at, true); break;
      case "U32": out[i] = view.getUint32(at, true); break;
      case "I16": out[i] = view.getInt16(at, true); break;
      case "U16": out[i] = view.getUint16(at, true); break;
      case "I8": out[i] = view.getInt8(at); break;
      case "U8": out[i] = view.getUint8(at); break;
      case "BOOL": out[i] = view.getUint8(at) !== 0 ? 1 : 0; break;
      default: throw new Error(`unreachable dtype ${dtype}`);
    }
  }
  return out;
}

export interface SafetensorsContents {
  tensors: Map<string, F64Tensor>;
  metadata: Record<string, string>;
  /** Bytes before the data section (8 + header length); a multiple of 8 in well-formed files. */
  dataStart: number;
}

/** Parses a whole safetensors file; throws with the file name on any inconsistency. */
export function readSafetensorsFile(file: string): SafetensorsContents {
  const bytes = fs.readFileSync(file);
  const bad = (what: string): never => {
    throw new Error(`reference reader: ${file}: ${what}`);
  };
  if (bytes.length < 8) bad(`only ${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) bad(`header length ${headerLength} exceeds the file`);
  let header: Record<string, any>;
  try {
    header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8"));
  } catch (err) {
    return bad(`header is not JSON: ${(err as Error).message}`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  const tensors = new Map<string, F64Tensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES)) bad(`"${name}" has unsupported dtype ${dtype}`);
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (offsets[1] - offsets[0] !== count * BYTES[dtype]) bad(`"${name}" offsets [${offsets}] do not match ${dtype} [${shape}]`);
    if (offsets[0] < 0 || offsets[1] > dataLength) bad(`"${name}" offsets [${offsets}] fall outside the ${dataLength}-byte data section`);
    tensors.set(name, { shape: [...shape], dtype, data: decode(view, dataStart + offsets[0], count, dtype) });
  }
  return { tensors, metadata: (header.__metadata__ ?? {}) as Record<string, string>, dataStart };
}

/** Every tensor of a safetensors file as float64: Map name → {shape, dtype, data}. */
export function readSafetensorsF64(file: string): Map<string, F64Tensor> {
  return readSafetensorsFile(file).tensors;
}
