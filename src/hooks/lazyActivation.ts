/**
 * An activation an ActivationCache computes the first time it is read, from tensors the forward pass
 * already had: attention scores and patterns ([batch, head, query, key], the largest activations by
 * far: 600 MB each over GPT-2 small's 12 layers at 1024 tokens) from the layer's q and k.
 *
 * The forward pass defers an activation only when nothing could have made the deferred value differ
 * from what it would have recorded: no hook on that hook point or on any point between the inputs
 * and it (see Attention.forward). Computing it later runs the same kernels on the same inputs, so
 * the values are the same bit for bit.
 *
 * Ownership: a LazyActivation holds its own handles on its inputs (a reshape to the same shape: it
 * shares their data on every backend, where tf.clone copies on wasm) and frees them when it
 * materialises or is disposed. The handles are ordinary tensors of the scope they were made in, found
 * by tf.tidy through the cache like its other tensors: a cache made inside a tf.tidy is freed whole at
 * its end. A computed activation belongs to the cache: it is kept (out of the tf.tidy it was read
 * in), unless the cache's own tensors belong to that same tidy, which then frees it with them.
 */
import { tf } from "../backend";

export class LazyActivation {
  private inputs: tf.Tensor[] | undefined;

  /**
   * @param shape the shape `compute` returns (known without computing it).
   * @param inputs tensors `compute` reads; not taken over (the lazy activation keeps its own handles).
   * @param compute builds the activation from `inputs`; runs inside a tf.tidy, may create intermediates.
   */
  constructor(readonly shape: number[], inputs: tf.Tensor[], private readonly compute: (inputs: tf.Tensor[]) => tf.Tensor) {
    this.inputs = inputs.map((t) => tf.reshape(t, t.shape));
  }

  /**
   * @returns the activation, a new tensor owned by the caller (the cache); kept out of the active
   *   tf.tidy unless the inputs belong to it. The inputs are released; a LazyActivation materialises once.
   */
  materialise(): tf.Tensor {
    const inputs = this.inputs;
    if (!inputs) throw new Error("Internal error: a lazy activation was materialised twice or after dispose.");
    const t = tf.tidy(() => this.compute(inputs));
    if (!inActiveScope(inputs[0])) tf.keep(t);
    this.dispose();
    return t;
  }

  /** A lazy activation of `f(this)` (e.g. a squeeze), with its own handles on the same inputs. */
  map(shape: number[], f: (t: tf.Tensor) => tf.Tensor): LazyActivation {
    if (!this.inputs) throw new Error("Internal error: map on a disposed lazy activation.");
    const compute = this.compute;
    return new LazyActivation(shape, this.inputs, (ins) => f(compute(ins)));
  }

  /** The tensors this activation holds until it materialises (for memory accounting and release). */
  heldTensors(): readonly tf.Tensor[] {
    return this.inputs ?? [];
  }

  dispose(): void {
    if (this.inputs) tf.dispose(this.inputs);
    this.inputs = undefined;
  }
}

interface EngineScopes {
  state: { activeScope: { id: number } | null };
}

/** Whether `t` is tracked by the innermost tf.tidy now running (tfjs records the scope on each tensor). */
function inActiveScope(t: tf.Tensor): boolean {
  const scope = (tf.engine() as unknown as EngineScopes).state.activeScope;
  return scope != null && (t as unknown as { scopeId?: number }).scopeId === scope.id;
}
