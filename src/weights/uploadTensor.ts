/**
 * Fills a new float32 tensor on the active backend from bytes written by a callback (e.g. a file
 * read): on the wasm backend straight into its heap, so a 500 MB checkpoint is copied once, from
 * the file, instead of file → buffer → heap.
 */
import { tf } from "../backend";
import { numel } from "./hostTensor";

interface WasmBackendInternals {
  makeOutput(shape: number[], dtype: "float32"): { dataId: object; shape: number[]; dtype: "float32" };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  wasm: { HEAPU8: Uint8Array };
}

/**
 * @param fill writes exactly 4 * numel(shape) bytes (little-endian float32) into the view it gets.
 * @returns a tensor owned by the caller; nothing is left allocated if `fill` throws.
 */
export function uploadFloat32(shape: number[], fill: (bytes: Uint8Array) => void): tf.Tensor {
  const byteLength = numel(shape) * 4;
  if (tf.getBackend() === "wasm") {
    const backend = tf.backend() as unknown as WasmBackendInternals;
    const tensor = tf.engine().makeTensorFromTensorInfo(backend.makeOutput(shape, "float32"));
    try {
      // Read the heap buffer after allocating: growing the heap replaces it.
      fill(new Uint8Array(backend.wasm.HEAPU8.buffer, backend.dataIdMap.get(tensor.dataId).memoryOffset, byteLength));
    } catch (err) {
      tensor.dispose();
      throw err;
    }
    return tensor;
  }
  const values = new Float32Array(numel(shape));
  fill(new Uint8Array(values.buffer));
  return tf.tensor(values, shape, "float32");
}
