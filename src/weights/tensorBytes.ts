/**
 * The bytes of a float32 tensor as a view of backend memory, without copying them where the backend
 * allows it (the inverse of uploadTensor.ts): on wasm a view of its heap, on cpu the backend's own
 * Float32Array; elsewhere a copy from dataSync.
 */
import { tf } from "../backend";

interface WasmBackendInternals {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  wasm: { HEAPU8: Uint8Array };
}
interface CpuBackendInternals {
  data: { get(dataId: object): { values?: unknown } | undefined };
}

/**
 * @param t a float32 tensor, not modified.
 * @returns 4 * t.size bytes, little-endian float32. A view of backend memory is valid only until
 *   the next tfjs operation (which may grow or reuse that memory): write it out at once, keep nothing.
 */
export function tensorBytes(t: tf.Tensor): Uint8Array {
  if (t.dtype !== "float32") throw new Error(`tensorBytes needs a float32 tensor; got ${t.dtype}.`);
  const byteLength = t.size * 4;
  const backendName = tf.getBackend();
  if (backendName === "wasm") {
    const backend = tf.backend() as unknown as WasmBackendInternals;
    const info = backend.dataIdMap.get(t.dataId);
    if (info) return new Uint8Array(backend.wasm.HEAPU8.buffer, info.memoryOffset, byteLength);
  } else if (backendName === "cpu") {
    const values = (tf.backend() as unknown as CpuBackendInternals).data.get(t.dataId)?.values;
    if (values instanceof Float32Array && values.length === t.size) return new Uint8Array(values.buffer, values.byteOffset, byteLength);
  }
  const copy = t.dataSync() as Float32Array;
  return new Uint8Array(copy.buffer, copy.byteOffset, byteLength);
}
