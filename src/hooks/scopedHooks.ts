/**
 * Temporary forward hooks, as TransformerLens's `with model.hooks(fwd_hooks=[...]):` context:
 * attach a list of hooks, run a function, and take exactly those hooks off again when it returns,
 * throws, or (for an async function) when its promise settles. Scopes nest: an inner scope removes
 * only what it added, so the outer scope's hooks stay until the outer scope ends.
 *
 * The model supplies `match` (name or predicate → hook points), so this file knows nothing of
 * models; HookedTransformer.hooks / runWithHooks / addHook are thin wrappers over it.
 */
import { HookFn, HookPoint } from "./hookPoint";

/** A hook name, or a predicate over hook names, and the function to run there (TransformerLens's `(name, fn)`). */
export type FwdHook = [string | ((name: string) => boolean), HookFn];

export interface HooksOptions {
  /** The hooks to attach for the scope. */
  fwdHooks?: FwdHook[];
  /**
   * Remove the scope's hooks when it ends (default true, as TransformerLens's `reset_hooks_end`).
   * With false they stay attached until `model.resetHooks()`.
   */
  resetHooksEnd?: boolean;
}

/** Resolves a hook name (which must exist) or a predicate (which may match none) to hook points. */
export type HookMatcher = (which: string | ((name: string) => boolean)) => HookPoint[];

/**
 * Attaches every hook in `fwdHooks` (all or none: if one name is unknown, those already attached
 * are taken off before the error propagates). @returns a function that removes exactly these hooks.
 */
export function attachHooks(match: HookMatcher, fwdHooks: readonly FwdHook[], options: { permanent?: boolean } = {}): () => void {
  if (!Array.isArray(fwdHooks)) {
    throw new Error(`fwdHooks must be an array of [name, fn] pairs, e.g. [["blocks.0.attn.hook_z", fn]]; got ${typeof fwdHooks}.`);
  }
  const removers: (() => void)[] = [];
  const removeAll = () => {
    while (removers.length > 0) removers.pop()!();
  };
  try {
    for (const entry of fwdHooks) {
      if (!Array.isArray(entry) || entry.length !== 2) {
        throw new Error(`Each forward hook is a [name, fn] pair; got ${JSON.stringify(entry)}.`);
      }
      const [which, fn] = entry;
      if (typeof fn !== "function") throw new Error(`The hook for ${String(which)} is not a function.`);
      for (const hp of match(which)) removers.push(hp.addHook(fn, options));
    }
  } catch (err) {
    removeAll();
    throw err;
  }
  return removeAll;
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return x !== null && (typeof x === "object" || typeof x === "function") && typeof (x as { then?: unknown }).then === "function";
}

/**
 * Runs `fn` with the hooks attached. A synchronous result (or throw) removes them at once; a promise
 * removes them once it settles, and the returned promise settles the same way.
 */
export function withHooks<T>(match: HookMatcher, options: HooksOptions, fn: () => T): T {
  if (typeof fn !== "function") {
    throw new Error("model.hooks(options, fn): the second argument must be the function to run with the hooks attached, e.g. () => model.forward(tokens).");
  }
  const remove = attachHooks(match, options.fwdHooks ?? []);
  const end = options.resetHooksEnd ?? true ? remove : () => {};
  let result: T;
  try {
    result = fn();
  } catch (err) {
    end();
    throw err;
  }
  if (!isThenable(result)) {
    end();
    return result;
  }
  return Promise.resolve(result).finally(end) as unknown as T;
}
