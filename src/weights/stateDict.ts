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
 * The output of one step (conversion or a processing step), built from its input. With `consume`,
 * the step owns the input: each tensor it replaces or deletes is freed at once, unless another entry
 * still holds it, so the next result reuses that memory instead of touching new pages (on a 2-core
 * VM, first-touch page faults were most of the load time). Without it the input is left intact.
 */
export class StateDictUpdate {
  readonly out: TensorStateDict;

  constructor(input: TensorStateDict, private readonly consume: boolean) {
    this.out = new Map(input);
  }

  set(key: string, t: tf.Tensor): this {
    const old = this.out.get(key);
    this.out.set(key, t);
    this.release(old, t);
    return this;
  }

  delete(key: string): this {
    const old = this.out.get(key);
    this.out.delete(key);
    this.release(old);
    return this;
  }

  private release(old: tf.Tensor | undefined, replacement?: tf.Tensor): void {
    if (!this.consume || !old || old === replacement) return;
    for (const v of this.out.values()) if (v === old) return;
    old.dispose();
  }
}
