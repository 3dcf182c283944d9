/**
 * HookedTransformer: GPT-2 with every activation behind a TransformerLens-named hook point.
 * This class only composes: loading lives in weights/, components in model/components/, hook
 * machinery and the cache in hooks/.
 *
 * Tensor ownership: parameters belong to the model (`dispose()` frees them). Logits and losses
 * returned by forward/runWithCache/runWithHooks belong to the caller. Cached activations belong to
 * the ActivationCache. A tokens tensor passed in stays the caller's.
 */
import { BackendName, tf } from "../backend";
import { GenerateOptions, generate } from "../generation/generate";
import { ActivationCache, CachedActivation } from "../hooks/activationCache";
import { LazyActivation } from "../hooks/lazyActivation";
import { deferRecords } from "./deferRecords";
import { closestNames } from "../hooks/actNames";
import { HookContext, HookFn, HookPoint, Module } from "../hooks/hookPoint";
import { FwdHook, HooksOptions, attachHooks, withHooks } from "../hooks/scopedHooks";
import { Gpt2Tokenizer } from "../tokenizer/gpt2Tokenizer";
import { TensorStateDict } from "../weights/stateDict";
import { resolveModelSource } from "../weights/loadPretrained";
import { loadProcessedCheckpoint } from "../weights/loadProcessed";
import { ProcessWeightsOptions } from "../weights/processWeights";
import { Attention } from "./components/attention";
import { Embed } from "./components/embed";
import { LayerNorm } from "./components/layerNorm";
import { MLP } from "./components/mlp";
import { PosEmbed } from "./components/posEmbed";
import { TransformerBlock } from "./components/transformerBlock";
import { Unembed } from "./components/unembed";
import { HookedTransformerConfig } from "./config";
import { PreparedTokens, TokensInput, prepareTokens, singleToken, strTokens, tokenizeBatch, tokensToText } from "./tokens";
import { crossEntropyLoss } from "./loss";
import { FromPretrainedOptions, ForwardOptions, ReturnType, RunWithCacheOptions, RunWithHooksOptions } from "./options";
import { ModelBackendInfo, initBackendForLoad } from "../memory/modelBackend";
import { releaseWhenUnreachable } from "../memory/resultLedger";
import { guardedRun, handOut } from "../memory/runGuard";

export type { FromPretrainedOptions, ReturnType, ForwardOptions, RunWithHooksOptions, RunWithCacheOptions } from "./options";
export type { FwdHook, HooksOptions } from "../hooks/scopedHooks";

/** Hooks may run the model (nested runs); deeper than this is taken for a hook that calls itself. */
const MAX_NESTED_RUNS = 8;

type ForwardResult = { logits?: tf.Tensor3D; loss?: tf.Tensor };

export class HookedTransformer extends Module {
  readonly hook_embed = new HookPoint(); // [batch, pos, d_model]
  readonly hook_pos_embed = new HookPoint(); // [batch, pos, d_model]
  readonly embed: Embed;
  readonly pos_embed: PosEmbed;
  readonly blocks: TransformerBlock[];
  readonly ln_final: LayerNorm;
  readonly unembed: Unembed;

  readonly tokenizer = new Gpt2Tokenizer();
  /** Every hook point by full name (named once, from the module tree; a cache lists them in forward order). */
  readonly hookDict: ReadonlyMap<string, HookPoint>;
  /** Parameters in TransformerLens's order; W_Q/W_K/W_V are read through their Attention (derived on first access). */
  private readonly params: [string, () => tf.Tensor, number][];
  private readonly stacked = new Map<string, tf.Tensor>();
  private disposed = false;
  /** Nesting of forward passes (a hook that calls the model); each run records only its own activations. */
  private depth = 0;
  private currentRun: object | undefined;

  /** Takes ownership of the state dict's tensors. */
  private constructor(readonly cfg: HookedTransformerConfig, stateDict: TensorStateDict, readonly backendInfo: ModelBackendInfo) {
    super();
    // Vectors feed fused matmuls as biases. tfjs-backend-wasm 4.22 checks a bias's rank on the data it
    // was first created with, so a vector made by reshaping (e.g. [1, d_mlp] → [d_mlp]) is rejected:
    // give each vector data of its own shape. (Small: vectors are < 0.1% of the parameters.)
    const originals = new Set<tf.Tensor>();
    const own: [string, tf.Tensor][] = [...stateDict].map(([name, t]) => {
      if (t.rank !== 1) return [name, t];
      originals.add(t);
      return [name, tf.clone(t)];
    });
    const kept = new Set(own.map(([, t]) => t));
    for (const t of originals) if (!kept.has(t)) t.dispose();
    // Weights are freed when the model becomes unreachable (a re-run load cell), as results are.
    for (const [, t] of own) releaseWhenUnreachable(t, "weights");
    const p = new Map(own);
    const get = <T extends tf.Tensor>(name: string): T => {
      const t = p.get(name);
      if (!t) throw new Error(`Internal error: parameter "${name}" missing`);
      return t as T;
    };
    const opt = <T extends tf.Tensor>(name: string): T | undefined => p.get(name) as T | undefined;
    this.embed = new Embed(get("embed.W_E"));
    this.pos_embed = new PosEmbed(get("pos_embed.W_pos"));
    this.blocks = [];
    for (let l = 0; l < cfg.nLayers; l++) {
      const b = `blocks.${l}.`;
      const attn = new Attention(
        {
          W_Q: get(b + "attn.W_Q"), W_K: get(b + "attn.W_K"), W_V: get(b + "attn.W_V"), W_O: get(b + "attn.W_O"),
          b_Q: get(b + "attn.b_Q"), b_K: get(b + "attn.b_K"), b_V: get(b + "attn.b_V"), b_O: get(b + "attn.b_O"),
        },
        cfg.nHeads,
        cfg.dHead
      );
      const mlp = new MLP({ W_in: get(b + "mlp.W_in"), b_in: get(b + "mlp.b_in"), W_out: get(b + "mlp.W_out"), b_out: get(b + "mlp.b_out") }, cfg.actFn);
      const ln1 = new LayerNorm(cfg.eps, opt(b + "ln1.w"), opt(b + "ln1.b"));
      const ln2 = new LayerNorm(cfg.eps, opt(b + "ln2.w"), opt(b + "ln2.b"));
      this.blocks.push(new TransformerBlock(ln1, attn, ln2, mlp));
    }
    this.ln_final = new LayerNorm(cfg.eps, opt("ln_final.w"), opt("ln_final.b"));
    this.unembed = new Unembed(get("unembed.W_U"), get("unembed.b_U"));
    this.hookDict = new Map(this.nameHookPoints().map((h) => [h.name, h]));
    const qkv = /^blocks\.(\d+)\.attn\.W_([QKV])$/;
    this.params = own.map(([name, t]) => {
      const m = qkv.exec(name);
      if (!m) return [name, () => t, t.size];
      const attn = this.blocks[Number(m[1])].attn;
      const which = m[2] as "Q" | "K" | "V";
      return [name, () => attn[`W_${which}`], t.size];
    });
  }

  /**
   * Loads a GPT-2 model by TransformerLens name (`"gpt2-small"`, `"gpt2"`, `"gpt2-medium"`, ...) or
   * from a local Hugging Face folder (config.json + model.safetensors), with TransformerLens's
   * default weight processing (fold LayerNorm, centre writing weights, centre unembed, fold value biases).
   */
  static async fromPretrained(nameOrDir: string, options: FromPretrainedOptions = {}): Promise<HookedTransformer> {
    const backend = options.backend ?? (options.device && options.device !== "cpu" ? (options.device as BackendName) : undefined);
    const { cacheDir, endpoint, onProgress, warn } = options;
    // The backend is chosen from the model's size before anything is downloaded or uploaded (src/memory/).
    const { source, backendInfo } = await initBackendForLoad(nameOrDir, backend, () => resolveModelSource(nameOrDir, { cacheDir, endpoint, onProgress, warn }));
    const { stateDict, cfg } = loadProcessedCheckpoint(source, { ...options, warn });
    return new HookedTransformer(cfg, stateDict, backendInfo);
  }

  /** As fromPretrained, with no weight processing: parameters exactly as in the checkpoint. */
  static fromPretrainedNoProcessing(nameOrDir: string, options: Omit<FromPretrainedOptions, keyof ProcessWeightsOptions> = {}): Promise<HookedTransformer> {
    return HookedTransformer.fromPretrained(nameOrDir, { ...options, foldLn: false, centerWritingWeights: false, centerUnembed: false, foldValueBiases: false });
  }

  // ---- tokens --------------------------------------------------------------------------------

  /** @returns [batch, pos] int32, owned by the caller. BOS (50256) first unless prependBos is false. */
  toTokens(text: string | string[], { prependBos = true }: { prependBos?: boolean } = {}): tf.Tensor2D {
    const rows = tokenizeBatch(this.tokenizer, text, prependBos);
    return tf.tensor2d(rows, [rows.length, rows[0].length], "int32");
  }

  /** Each token of `input` as text, e.g. ["<|endoftext|>", "The", " capital", ...]. Batched input must have batch 1. */
  toStrTokens(input: string | number[] | number[][] | tf.Tensor, { prependBos = true }: { prependBos?: boolean } = {}): string[] {
    return strTokens(this.tokenizer, input, prependBos);
  }

  /**
   * TransformerLens's `to_string`: token ids to text. A number or 1-D input gives a string; a
   * [batch, pos] input gives one string per row. With no argument, describes the model.
   */
  override toString(): string;
  override toString(tokens: number | number[] | tf.Tensor1D | tf.Scalar): string;
  override toString(tokens: number[][] | tf.Tensor2D): string[];
  override toString(tokens?: number | number[] | number[][] | tf.Tensor): string | string[] {
    if (tokens === undefined) return `HookedTransformer(${this.cfg.modelName}: ${this.cfg.nLayers} layers, d_model ${this.cfg.dModel})`;
    return tokensToText(this.tokenizer, tokens);
  }

  /** The id of a text that is exactly one token, e.g. " Paris" → 6342. */
  toSingleToken(text: string): number {
    return singleToken(this.tokenizer, text);
  }

  // ---- forward passes --------------------------------------------------------------------------

  /**
   * @returns logits [batch, pos, d_vocab], the mean next-token loss (scalar), the loss per token
   * [batch, pos - 1], or {logits, loss} for returnType "both". Owned by the caller.
   */
  forward(tokens: TokensInput, options?: { returnType?: "logits" }): tf.Tensor3D;
  forward(tokens: TokensInput, options: { returnType: "loss"; lossPerToken?: boolean }): tf.Tensor;
  forward(tokens: TokensInput, options: { returnType: "both"; lossPerToken?: boolean }): { logits: tf.Tensor3D; loss: tf.Tensor };
  forward(tokens: TokensInput, options: ForwardOptions = {}): tf.Tensor | { logits: tf.Tensor3D; loss: tf.Tensor } {
    const returnType = options.returnType ?? "logits";
    if (!["logits", "loss", "both"].includes(returnType)) throw new Error(`returnType must be "logits", "loss" or "both"; got "${returnType}".`);
    const { result } = this.execute(tokens, { returnType, lossPerToken: options.lossPerToken ?? false });
    if (returnType === "logits") return result.logits!;
    if (returnType === "loss") return result.loss!;
    return { logits: result.logits!, loss: result.loss! };
  }

  /**
   * Runs the model and keeps activations: `[logits [batch, pos, d_vocab], cache]`, both owned by the
   * caller. With removeBatchDim: logits [pos, d_vocab] and activations without their batch axis.
   */
  runWithCache(tokens: TokensInput, options: RunWithCacheOptions & { removeBatchDim: true }): [tf.Tensor2D, ActivationCache<false>];
  runWithCache(tokens: TokensInput, options?: RunWithCacheOptions & { removeBatchDim?: false }): [tf.Tensor3D, ActivationCache<true>];
  runWithCache(tokens: TokensInput, options?: RunWithCacheOptions): [tf.Tensor3D | tf.Tensor2D, ActivationCache<boolean>];
  runWithCache(tokens: TokensInput, options: RunWithCacheOptions = {}): [tf.Tensor3D | tf.Tensor2D, ActivationCache<boolean>] {
    const keep = this.namesFilter(options.namesFilter);
    const { result, acts } = this.execute(tokens, { returnType: "logits", keep });
    const logits = result.logits!;
    const cache = new ActivationCache(acts, this.cfg.nLayers);
    if (!options.removeBatchDim) return [logits, cache];
    try {
      const squeezed = releaseWhenUnreachable(tf.squeeze(logits, [0]) as tf.Tensor2D, "results");
      const unbatched = cache.removeBatchDim();
      if (this.depth > 0) [squeezed, ...unbatched.heldTensors()].forEach((t) => tf.keep(t));
      return [squeezed, unbatched];
    } finally {
      cache.dispose();
      logits.dispose();
    }
  }

  /**
   * TransformerLens's `run_with_hooks`: a forward pass with temporary hooks,
   * `fwdHooks: [[name or predicate, fn], ...]`. A hook may return a replacement of the same shape
   * (see setIdx for `act[:, :, head, :] = 0`). The hooks are removed when the call ends, also when
   * it throws. Returns what `forward` returns for the same returnType (owned by the caller).
   */
  runWithHooks(tokens: TokensInput, options: { fwdHooks: FwdHook[]; returnType?: "logits"; resetHooksEnd?: boolean }): tf.Tensor3D;
  runWithHooks(tokens: TokensInput, options: { fwdHooks: FwdHook[]; returnType: "loss"; lossPerToken?: boolean; resetHooksEnd?: boolean }): tf.Tensor;
  runWithHooks(
    tokens: TokensInput,
    options: { fwdHooks: FwdHook[]; returnType: "both"; lossPerToken?: boolean; resetHooksEnd?: boolean }
  ): { logits: tf.Tensor3D; loss: tf.Tensor };
  runWithHooks(tokens: TokensInput, options: RunWithHooksOptions): tf.Tensor | { logits: tf.Tensor3D; loss: tf.Tensor };
  runWithHooks(tokens: TokensInput, options: RunWithHooksOptions): tf.Tensor | { logits: tf.Tensor3D; loss: tf.Tensor } {
    if (options == null || !Array.isArray(options.fwdHooks)) {
      throw new Error('runWithHooks(tokens, { fwdHooks: [[name, fn], ...] }): the options need a fwdHooks array.');
    }
    const { fwdHooks, resetHooksEnd, ...forwardOptions } = options;
    return this.hooks({ fwdHooks, resetHooksEnd }, () => this.forward(tokens, forwardOptions as never));
  }

  /**
   * TransformerLens's `with model.hooks(fwd_hooks=[...]):` — runs `fn` with the hooks attached and
   * removes them when it returns or throws (for an async `fn`, when its promise settles). Scopes
   * nest: an inner scope removes only its own hooks.
   * @example const ablated = model.hooks({ fwdHooks: [["blocks.5.attn.hook_z", ablate]] }, () => model.forward(tokens));
   * @returns what `fn` returns.
   */
  hooks<T>(options: HooksOptions, fn: () => T): T {
    return withHooks((which) => this.matchHookPoints(which), options ?? {}, fn);
  }

  /**
   * TransformerLens's `add_hook`: attaches a hook until `resetHooks()` (or, with `isPermanent`, until
   * `resetHooks({ includingPermanent: true })`). `name` may be a predicate over hook names.
   * @returns a function that removes just this hook.
   */
  addHook(name: string | ((name: string) => boolean), hook: HookFn, options: { isPermanent?: boolean } = {}): () => void {
    return attachHooks((which) => this.matchHookPoints(which), [[name, hook]], { permanent: options.isPermanent ?? false });
  }

  /** TransformerLens's `reset_hooks`: removes every hook added with addHook (permanent ones too with `includingPermanent`). */
  resetHooks(options: { includingPermanent?: boolean } = {}): void {
    for (const hp of this.hookDict.values()) hp.removeHooks(options);
  }

  /**
   * TransformerLens's `generate`: adds up to maxNewTokens tokens (see generation/generate.ts for
   * the options and their defaults). Text in gives text out (prompt included, <|endoftext|> left
   * out), string[] gives string[], tokens give tokens [batch, pos + new] (int32, caller owns).
   * Hooks attached with model.hooks / addHook fire at every step.
   */
  generate(input: string[] | number[][] | tf.Tensor2D | string, options: GenerateOptions & { returnType: "tokens" }): tf.Tensor2D;
  generate(input: string, options?: GenerateOptions & { returnType?: "input" | "str" }): string;
  generate(input: string[], options?: GenerateOptions & { returnType?: "input" | "str" }): string[];
  generate(input: number[][] | tf.Tensor2D, options: GenerateOptions & { returnType: "str" }): string[];
  generate(input: number[][] | tf.Tensor2D, options?: GenerateOptions & { returnType?: "input" | "tokens" }): tf.Tensor2D;
  generate(input: string | string[] | TokensInput, options?: GenerateOptions): string | string[] | tf.Tensor2D;
  generate(input: string | string[] | TokensInput, options: GenerateOptions = {}): string | string[] | tf.Tensor2D {
    if (this.disposed) throw new Error("This model was disposed; load it again.");
    return generate(this, input, options);
  }

  /** Hook points matching a name (must exist) or a predicate (may match none). */
  private matchHookPoints(which: string | ((name: string) => boolean)): HookPoint[] {
    if (typeof which === "function") return [...this.hookDict.values()].filter((h) => which(h.name));
    const hp = this.hookDict.get(which);
    if (!hp) {
      throw new Error(`Unknown hook name "${which}". Closest hook names: ${closestNames(which, this.hookDict.keys()).join(", ")}.`);
    }
    return [hp];
  }

  private namesFilter(filter: RunWithCacheOptions["namesFilter"]): (name: string) => boolean {
    if (filter === undefined) return () => true;
    if (typeof filter === "function") return filter;
    const names = typeof filter === "string" ? [filter] : filter;
    for (const n of names) this.matchHookPoints(n); // unknown names fail loudly, with suggestions
    const set = new Set(names);
    return (n) => set.has(n);
  }

  /**
   * The forward pass. Each block runs in its own tf.tidy, so intermediates that nobody asked for
   * are freed as soon as the block ends; kept activations leave the tidy as its return value.
   *
   * Memory: before running, unreachable results of earlier calls are freed when this run would take
   * the tensors past half of the backend's capacity, and a run whose cache alone cannot fit is
   * refused with an OutOfMemoryError (src/memory/). Results and cached activations are registered
   * to be freed once unreachable.
   *
   * Re-entrant calls (a hook that runs the model) work: each run records only its own activations
   * (its hooks check which run is current), and a nested run's results are kept past the outer
   * block's tidy so they stay valid for the hook that asked for them.
   */
  private execute(
    input: TokensInput,
    opts: { returnType: ReturnType; lossPerToken?: boolean; keep?: (name: string) => boolean }
  ): { result: ForwardResult; acts: Map<string, CachedActivation> } {
    if (this.disposed) throw new Error("This model was disposed; load it again.");
    if (this.depth >= MAX_NESTED_RUNS) {
      throw new Error(
        `The model was called from inside its own hooks ${MAX_NESTED_RUNS} levels deep: a hook that runs the model fires again inside that run. ` +
          `Guard the hook (e.g. a flag set while the inner call runs) or attach it with model.hooks(...) only around the outer call.`
      );
    }
    const prepared: PreparedTokens = prepareTokens(input, { tokenizer: this.tokenizer, dVocab: this.cfg.dVocab, nCtx: this.cfg.nCtx });
    const { tokens } = prepared;
    const run = {};
    const outer = this.currentRun;
    // A recording hook, added after any user hooks so the cache holds what flowed downstream
    // (permanent, so a hook calling resetHooks() mid-run does not empty the cache).
    let bucket: Record<string, CachedActivation> = {};
    const record: HookFn = (act: tf.Tensor, hook: HookContext) => {
      if (this.currentRun === run) bucket[hook.name] = act;
    };
    // Attention scores, patterns, MLP hook_post and LayerNorm hook_normalized the cache wants are
    // recorded by their layer, lazily where no hook could change them (see deferRecords); lazy ones
    // not yet in a cache are freed on error.
    const lazies: LazyActivation[] = [];
    let deferred: { points: Set<HookPoint>; restore: () => void } | undefined;
    const removers: (() => void)[] = [];
    try {
      // Inside the try: a namesFilter predicate that throws leaves nothing set and nothing allocated.
      deferred = deferRecords(this.blocks, this.ln_final, opts.keep, (name, a) => {
        if (this.currentRun !== run) return;
        if (a instanceof LazyActivation) lazies.push(a);
        bucket[name] = a;
      });
      const points = deferred.points;
      const kept = opts.keep ? [...this.hookDict.values()].filter((h) => opts.keep!(h.name)) : [];
      const [batch, pos] = tokens.shape;
      // Lazily recorded entries take no memory until read: the guard counts only the others.
      const eager = kept.filter((h) => !points.has(h) || h.hasHooks);
      const out = guardedRun(this.cfg, batch, pos, eager.map((h) => h.name), () => {
        for (const h of kept) if (!points.has(h)) removers.push(h.addHook(record, { permanent: true }));
        this.depth++;
        this.currentRun = run;
        return tf.tidy(() => {
          const collected: Record<string, CachedActivation> = {};
          const step = <T extends tf.Tensor>(fn: () => T): T => {
            bucket = {};
            // The tidy keeps the tensors it finds in what is returned (lazy activations hold kept tensors).
            const r = tf.tidy(() => ({ value: fn(), acts: bucket }) as unknown as tf.NamedTensorMap) as unknown as { value: T; acts: Record<string, CachedActivation> };
            Object.assign(collected, r.acts);
            return r.value as T;
          };
          let resid = step(() => {
            const embed = this.hook_embed.run(this.embed.forward(tokens));
            const posEmbed = this.hook_pos_embed.run(this.pos_embed.forward(tokens));
            return tf.add(embed, posEmbed) as tf.Tensor3D;
          });
          for (const block of this.blocks) resid = step(() => block.forward(resid));
          const result: { logits?: tf.Tensor3D; loss?: tf.Tensor } = {};
          const logits = step(() => this.unembed.forward(this.ln_final.forward(resid)));
          if (opts.returnType !== "logits") result.loss = crossEntropyLoss(logits, tokens, opts.lossPerToken ?? false);
          if (opts.returnType !== "loss") result.logits = logits;
          return { result, collected } as unknown as tf.NamedTensorMap;
        }) as unknown as { result: ForwardResult; collected: Record<string, CachedActivation> };
      });
      const acts = new Map(Object.entries(out.collected));
      const held = [...acts.values()].flatMap((a) => (a instanceof LazyActivation ? [...a.heldTensors()] : [a]));
      handOut([out.result.logits, out.result.loss].filter((t): t is tf.Tensor => t !== undefined), held, this.depth > 1);
      return { result: out.result, acts };
    } catch (err) {
      lazies.forEach((a) => a.dispose());
      throw err;
    } finally {
      deferred?.restore();
      if (this.currentRun === run) {
        this.currentRun = outer;
        this.depth--;
      }
      removers.forEach((r) => r());
      bucket = {};
      if (prepared.owned) tokens.dispose();
    }
  }

  // ---- parameters -------------------------------------------------------------------------------

  /** [name, tensor] pairs with TransformerLens's parameter names, e.g. "blocks.0.attn.W_Q". Owned by the model. */
  namedParameters(): [string, tf.Tensor][] {
    return this.params.map(([name, get]) => [name, get()]);
  }

  /** The parameter tensors (owned by the model). Their total size equals TransformerLens's count. */
  parameters(): tf.Tensor[] {
    return this.params.map(([, get]) => get());
  }

  /** TransformerLens's parameter count (from the shapes; derives nothing). */
  numParameters(): number {
    return this.params.reduce((n, [, , size]) => n + size, 0);
  }

  get W_E(): tf.Tensor2D { return this.embed.W_E; } // [d_vocab, d_model]
  get W_pos(): tf.Tensor2D { return this.pos_embed.W_pos; } // [n_ctx, d_model]
  get W_U(): tf.Tensor2D { return this.unembed.W_U; } // [d_model, d_vocab]
  get b_U(): tf.Tensor1D { return this.unembed.b_U; } // [d_vocab]
  /** Stacked over layers, as TransformerLens: [n_layers, n_heads, d_model, d_head]. Owned by the model (made once). */
  get W_Q(): tf.Tensor4D { return this.stack("W_Q", (b) => b.attn.headLayoutCopy(0)); }
  get W_K(): tf.Tensor4D { return this.stack("W_K", (b) => b.attn.headLayoutCopy(1)); }
  get W_V(): tf.Tensor4D { return this.stack("W_V", (b) => b.attn.headLayoutCopy(2)); }
  /** [n_layers, n_heads, d_head, d_model] */
  get W_O(): tf.Tensor4D { return this.stack("W_O", (b) => b.attn.W_O); }
  /** [n_layers, n_heads, d_head] */
  get b_Q(): tf.Tensor3D { return this.stack("b_Q", (b) => b.attn.b_Q); }
  get b_K(): tf.Tensor3D { return this.stack("b_K", (b) => b.attn.b_K); }
  get b_V(): tf.Tensor3D { return this.stack("b_V", (b) => b.attn.b_V); }
  /** [n_layers, d_model] */
  get b_O(): tf.Tensor2D { return this.stack("b_O", (b) => b.attn.b_O); }
  /** [n_layers, d_model, d_mlp] */
  get W_in(): tf.Tensor3D { return this.stack("W_in", (b) => b.mlp.W_in); }
  /** [n_layers, d_mlp] */
  get b_in(): tf.Tensor2D { return this.stack("b_in", (b) => b.mlp.b_in); }
  /** [n_layers, d_mlp, d_model] */
  get W_out(): tf.Tensor3D { return this.stack("W_out", (b) => b.mlp.W_out); }
  /** [n_layers, d_model] */
  get b_out(): tf.Tensor2D { return this.stack("b_out", (b) => b.mlp.b_out); }

  private stack<T extends tf.Tensor>(name: string, pick: (b: TransformerBlock) => tf.Tensor): T {
    let t = this.stacked.get(name);
    if (!t) {
      // tf.keep: the first read may happen inside a caller's tf.tidy, which must not free the model's copy.
      t = releaseWhenUnreachable(tf.keep(tf.tidy(() => tf.stack(this.blocks.map(pick)))), "weights");
      this.stacked.set(name, t);
    }
    return t as T;
  }

  /** Frees every tensor the model owns. */
  dispose(): void {
    if (this.disposed) return;
    for (const [name, get] of this.params) if (!/\.attn\.W_[QKV]$/.test(name)) get().dispose();
    for (const t of this.stacked.values()) t.dispose();
    for (const b of this.blocks) b.attn.dispose();
    this.disposed = true;
  }
}
