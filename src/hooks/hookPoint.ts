/**
 * A HookPoint is an identity on the forward pass that hooks can observe or replace, as in
 * TransformerLens. Components declare them as fields named exactly as TransformerLens does
 * (`hook_q`, `hook_pattern`, ...); the model names each one by its path once, at construction.
 */
import { tf } from "../backend";

/** What a hook function receives beside the activation. */
export interface HookContext {
  /** Full hook name, e.g. "blocks.5.attn.hook_pattern". */
  readonly name: string;
  /** The layer the hook belongs to, or undefined outside blocks. */
  readonly layer: number | undefined;
}

/**
 * A forward hook: sees the activation (owned by the model; valid only during the call) and may
 * return a replacement of the same shape. Tensors a hook creates are freed when the forward pass
 * ends unless returned; to keep one, `tf.keep(activation.clone())`.
 */
export type HookFn = (activation: tf.Tensor, hook: HookContext) => tf.Tensor | void | undefined;

export class HookPoint {
  /** Set by Module.nameHookPoints; empty until the model is assembled. */
  name = "";
  layer: number | undefined = undefined;
  private readonly hooks: { fn: HookFn; permanent: boolean }[] = [];

  /**
   * Adds a hook (run after those already here). @returns a function that removes this one hook.
   * A permanent hook survives `removeHooks()` unless `includingPermanent` is set (TransformerLens's
   * `is_permanent`).
   */
  addHook(fn: HookFn, options: { permanent?: boolean } = {}): () => void {
    const entry = { fn, permanent: options.permanent ?? false };
    this.hooks.push(entry);
    return () => {
      const i = this.hooks.indexOf(entry);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  get hasHooks(): boolean {
    return this.hooks.length > 0;
  }

  /** Removes the non-permanent hooks, or all of them with `includingPermanent`. */
  removeHooks(options: { includingPermanent?: boolean } = {}): void {
    for (let i = this.hooks.length - 1; i >= 0; i--) {
      if (options.includingPermanent || !this.hooks[i].permanent) this.hooks.splice(i, 1);
    }
  }

  /** Runs the hooks in order; each sees the previous one's output. */
  run<T extends tf.Tensor>(x: T): T {
    if (this.hooks.length === 0) return x;
    let current: T = x;
    // A copy: a hook that adds or removes hooks changes the next run, not this one.
    for (const { fn } of [...this.hooks]) {
      let result: tf.Tensor | void | undefined;
      try {
        result = fn(current, this);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        e.message = `Hook on "${this.name}" threw: ${e.message}`;
        throw e;
      }
      if (result === undefined || result === null) continue;
      if (!(result instanceof tf.Tensor)) {
        throw new Error(`Hook on "${this.name}" returned ${typeof result}; return a tf.Tensor of shape [${current.shape.join(", ")}] or nothing.`);
      }
      if (result.rank !== current.rank || result.shape.some((d, i) => d !== current.shape[i])) {
        throw new Error(
          `Hook on "${this.name}" returned a tensor of shape [${result.shape.join(", ")}]; ` +
            `it must keep the activation's shape [${current.shape.join(", ")}].`
        );
      }
      current = (result.dtype === current.dtype ? result : result.cast(current.dtype)) as T;
    }
    return current;
  }
}

/**
 * Base for components: walks its fields to find hook points and sub-modules, so a hook's name is
 * its path and is never typed twice.
 */
export abstract class Module {
  /** Assigns `prefix + field` names to every HookPoint below this module; returns them in order. */
  nameHookPoints(prefix = "", layer?: number): HookPoint[] {
    const found: HookPoint[] = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof HookPoint) {
        value.name = prefix + key;
        value.layer = layer;
        found.push(value);
      } else if (value instanceof Module) {
        found.push(...value.nameHookPoints(`${prefix}${key}.`, layer));
      } else if (Array.isArray(value) && value.every((v) => v instanceof Module)) {
        value.forEach((m: Module, i) => found.push(...m.nameHookPoints(`${prefix}${key}.${i}.`, i)));
      }
    }
    return found;
  }
}
