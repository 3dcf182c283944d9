/**
 * A state dict: parameter name → tf tensor. Names are Hugging Face's before conversion and
 * TransformerLens's after. Conversion and weight processing are functions from one state dict to a
 * new one; tensors a step does not change are shared between input and output.
 */
import { tf } from "../backend";

export type TensorStateDict = Map<string, tf.Tensor>;

export function requireTensor(sd: TensorStateDict, key: string, where: string): tf.Tensor {
  const t = sd.get(key);
  if (!t) throw new Error(`${where}: state dict has no "${key}"`);
  return t;
}

/**
 * Frees the tensors of `previous` that `next` no longer holds: how a pipeline of pure steps keeps
 * only one copy of each weight alive. Never call it on a state dict the caller still uses.
 */
export function disposeReplaced(previous: TensorStateDict, next: TensorStateDict): void {
  const kept = new Set(next.values());
  for (const t of previous.values()) if (!kept.has(t)) t.dispose();
}

export function disposeStateDict(sd: TensorStateDict): void {
  for (const t of sd.values()) t.dispose();
}
