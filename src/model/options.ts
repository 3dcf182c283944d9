/** The options objects of HookedTransformer's loading and forward passes. */
import { BackendName } from "../backend";
import { FwdHook, HooksOptions } from "../hooks/scopedHooks";
import { DownloadProgressCallback } from "../weights/hub";
import { ProcessedCacheOptions } from "../weights/loadProcessed";
import { ProcessWeightsOptions } from "../weights/processWeights";

export interface FromPretrainedOptions extends ProcessWeightsOptions, ProcessedCacheOptions {
  /** Force a backend ("tensorflow" = tfjs-node-gpu, "wasm", "cpu"); default: best available or $MECHINTERP_BACKEND. */
  backend?: BackendName;
  /** Alias of `backend`, for readers of TransformerLens code (`device="cpu"`). "cuda" means "tensorflow". */
  device?: string;
  /** Hugging Face cache folder for downloads. */
  cacheDir?: string;
  /** Hub address for downloads (default $HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** Download progress (default: a bar on stderr). */
  onProgress?: DownloadProgressCallback;
  /** Where warnings go (default: stderr). */
  warn?: (message: string) => void;
}

export type ReturnType = "logits" | "loss" | "both";

export interface ForwardOptions {
  returnType?: ReturnType;
  /** Loss per token [batch, pos - 1] instead of the mean. */
  lossPerToken?: boolean;
}

/** Options of runWithHooks: the hooks, what to return (as forward), and whether to take the hooks off after. */
export type RunWithHooksOptions = HooksOptions & ForwardOptions & { fwdHooks: FwdHook[] };

export interface RunWithCacheOptions {
  /** Which activations to keep: a name, a list of names, or a predicate. Default: all. */
  namesFilter?: string | string[] | ((name: string) => boolean);
  /** Drop the batch dimension from logits and activations (batch must be 1). */
  removeBatchDim?: boolean;
}
