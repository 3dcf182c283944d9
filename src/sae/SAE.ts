/**
 * A sparse autoencoder with SAELens's names: `SAE.fromPretrained({ release, saeId })` (SAELens's
 * `SAE.from_pretrained(release=..., sae_id=...)`), `sae.encode`, `sae.decode`, `sae.forward`, the
 * weights `W_enc [d_in, d_sae]`, `b_enc [d_sae]`, `W_dec [d_sae, d_in]`, `b_dec [d_in]`.
 *
 * Only the standard architecture: encode(x) = ReLU((x - b_dec) @ W_enc + b_enc) (b_dec subtracted
 * when `cfg.applyBDecToInput`), decode(f) = f @ W_dec + b_dec. Note: the gpt2-small-res-jb SAEs were
 * trained on TransformerLens-processed activations (center_writing_weights and the rest), which
 * `HookedTransformer.fromPretrained`'s default processing reproduces.
 */
import { BackendName, initBackend, tf } from "../backend";
import { closestNames } from "../hooks/actNames";
import { shapeString } from "../weights/hostTensor";
import { SAEConfig } from "./config";
import { HookWidthConfig, hookWidth } from "./hookWidth";
import { ResolveSaeOptions, SaeParams, loadSaeFiles, localSaeFiles, resolvePretrainedSaeFiles } from "./loadSae";

export interface SaeFromPretrainedOptions extends ResolveSaeOptions {
  /** SAELens release, e.g. "gpt2-small-res-jb". */
  release: string;
  /** SAE within the release, e.g. "blocks.8.hook_resid_pre". */
  saeId: string;
  /** Force a tfjs backend (as HookedTransformer.fromPretrained); default: the active or best one. */
  backend?: BackendName;
  /** Alias of `backend` for readers of SAELens code (`device="cpu"` keeps the default), as on HookedTransformer. */
  device?: string;
}

/** What SAELens's `sae, cfg_dict, sparsity = SAE.from_pretrained(...)` returns, as an object. */
export interface SaeFromPretrainedResult {
  sae: SAE;
  /** cfg.json as SAELens reads it: pre-6.0 fields renamed to the 6.x names, SAELens's defaults filled in. */
  cfgDict: Record<string, unknown>;
  /** Log10 feature sparsity [d_sae] from sparsity.safetensors (caller owns, dispose it), or null when absent. */
  sparsity: tf.Tensor1D | null;
}

/** What `checkCompatible` reads of a model (a HookedTransformer has both). */
export interface SaeTargetModel {
  readonly cfg: HookWidthConfig & { readonly modelName: string };
  readonly hookDict: ReadonlyMap<string, unknown>;
}

export class SAE {
  readonly W_enc: tf.Tensor2D;
  readonly b_enc: tf.Tensor1D;
  readonly W_dec: tf.Tensor2D;
  readonly b_dec: tf.Tensor1D;
  private disposed = false;

  /** Takes ownership of `params`. */
  private constructor(readonly cfg: SAEConfig, params: SaeParams) {
    ({ W_enc: this.W_enc, b_enc: this.b_enc, W_dec: this.W_dec, b_dec: this.b_dec } = params);
  }

  /**
   * Loads SAE `saeId` of `release` (files from the Hugging Face hub cache, downloaded once, or from
   * $SAE_OVERRIDE_DIR/<saeId>/ when set). Unknown releases or ids fail at once, listing the known ones.
   * The SAE and the sparsity tensor belong to the caller (`sae.dispose()`, `sparsity?.dispose()`).
   */
  static async fromPretrained(options: SaeFromPretrainedOptions): Promise<SaeFromPretrainedResult> {
    const files = await resolvePretrainedSaeFiles(options.release, options.saeId, options);
    await initBackend({ backend: options.backend ?? (options.device && options.device !== "cpu" ? options.device : undefined) });
    const loaded = loadSaeFiles(files);
    return { sae: new SAE(loaded.cfg, loaded.params), cfgDict: loaded.cfgDict, sparsity: loaded.sparsity };
  }

  /** Loads an SAE folder as SAELens saves one (cfg.json, sae_weights.safetensors). The caller owns the SAE. */
  static async fromDir(dir: string, options: { backend?: BackendName } = {}): Promise<SAE> {
    const files = { ...localSaeFiles(dir), sparsityPath: null };
    await initBackend({ backend: options.backend });
    const loaded = loadSaeFiles(files);
    return new SAE(loaded.cfg, loaded.params);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Feature activations ReLU((x - b_dec) @ W_enc + b_enc).
   * @param x [..., d_in] (e.g. [batch, pos, d_model] from the SAE's hook); not changed or disposed.
   * @returns [..., d_sae], a new tensor owned by the caller.
   */
  encode<T extends tf.Tensor>(x: T): T {
    this.checkInput(x, this.cfg.dIn, "encode", "d_in");
    return tf.tidy(() => {
      const lead = x.shape.slice(0, -1);
      const flat = tf.reshape(x, [-1, this.cfg.dIn]) as tf.Tensor2D; // [n, d_in]
      const centred = this.cfg.applyBDecToInput ? tf.sub(flat, this.b_dec) : flat;
      // Bias in the matmul, ReLU after it: the native kernels take bias-only fused matmuls.
      const pre = tf.fused.matMul({ a: centred as tf.Tensor2D, b: this.W_enc, bias: this.b_enc }); // [n, d_sae]
      return tf.reshape(tf.relu(pre), [...lead, this.cfg.dSae]);
    }) as T;
  }

  /**
   * Reconstruction f @ W_dec + b_dec.
   * @param f [..., d_sae] feature activations; not changed or disposed.
   * @returns [..., d_in], a new tensor owned by the caller.
   */
  decode<T extends tf.Tensor>(f: T): T {
    this.checkInput(f, this.cfg.dSae, "decode", "d_sae");
    return tf.tidy(() => {
      const lead = f.shape.slice(0, -1);
      const flat = tf.reshape(f, [-1, this.cfg.dSae]) as tf.Tensor2D; // [n, d_sae]
      const out = tf.fused.matMul({ a: flat, b: this.W_dec, bias: this.b_dec }); // [n, d_in]
      return tf.reshape(out, [...lead, this.cfg.dIn]);
    }) as T;
  }

  /**
   * decode(encode(x)): the SAE's reconstruction of x.
   * @param x [..., d_in]; not changed or disposed.
   * @returns [..., d_in], a new tensor owned by the caller.
   */
  forward<T extends tf.Tensor>(x: T): T {
    this.checkInput(x, this.cfg.dIn, "forward", "d_in");
    return tf.tidy(() => this.decode(this.encode(x)));
  }

  /**
   * Throws unless `model` has the SAE's hook and that hook's width is d_in (the model the SAE was
   * trained on, or one shaped like it). Unknown hooks list the model's closest hook names.
   */
  checkCompatible(model: SaeTargetModel): void {
    const { hookName, dIn } = this.cfg;
    if (!model.hookDict.has(hookName)) {
      throw new Error(
        `This SAE reads hook "${hookName}", which model ${model.cfg.modelName} does not have. ` +
          `Closest hook names: ${closestNames(hookName, model.hookDict.keys()).join(", ")}. ` +
          `Load the SAE trained on this model${this.cfg.modelName ? ` (this one is for ${this.cfg.modelName})` : ""}.`
      );
    }
    const width = hookWidth(hookName, model.cfg);
    if (width !== undefined && width !== dIn) {
      throw new Error(
        `This SAE reads ${dIn}-wide activations (d_in ${dIn}) at "${hookName}", but that hook of model ${model.cfg.modelName} ` +
          `is ${width} wide. Load the SAE trained on this model${this.cfg.modelName ? ` (this one is for ${this.cfg.modelName})` : ""}.`
      );
    }
  }

  /** Frees the four weight tensors; the SAE cannot be used afterwards. Calling it twice is harmless. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [this.W_enc, this.b_enc, this.W_dec, this.b_dec]) if (!t.isDisposed) t.dispose();
  }

  toString(): string {
    return `SAE(${this.cfg.hookName}, d_in=${this.cfg.dIn}, d_sae=${this.cfg.dSae})`;
  }

  private checkInput(x: tf.Tensor, width: number, op: string, widthName: string): void {
    if (this.disposed) throw new Error(`sae.${op}: this SAE was disposed; load it again.`);
    if (!(x instanceof tf.Tensor) || x.isDisposed) throw new Error(`sae.${op} needs a live tf.Tensor of shape [..., ${width}].`);
    if (x.rank === 0 || x.shape[x.rank - 1] !== width) {
      throw new Error(
        `sae.${op}: the input has shape ${shapeString(x.shape)}, but its last dimension must be ${widthName} = ${width} ` +
          `(this SAE reads "${this.cfg.hookName}"). Pass activations of that hook, from the model the SAE was trained on.`
      );
    }
    if (x.dtype !== "float32") throw new Error(`sae.${op}: the input is ${x.dtype}; float32 activations are expected.`);
  }
}
