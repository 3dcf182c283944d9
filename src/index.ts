/**
 * mechinterp-ts: mechanistic interpretability from TypeScript.
 * weights (read, convert, process) → model (components with hook points) → hooks and cache → display.
 */
export { tf, backendInfo } from "./backend";
// Memory (issue 10): backend chosen from the model's size, results freed once unreachable, out-of-memory as an Error.
export { initBackend } from "./memory/modelBackend";
export type { ModelBackendInfo } from "./memory/modelBackend";
export { OutOfMemoryError, setWasmTensorLimit, wasmTensorLimit } from "./memory/heapGuard";
export { collectUnreachable, heldBytes } from "./memory/resultLedger";
export { chooseBackend, WORKING_BYTES } from "./memory/backendChoice";
export type { BackendInfo, BackendName } from "./backend";
export { HookedTransformer } from "./model/HookedTransformer";
export type { FromPretrainedOptions, ForwardOptions, RunWithCacheOptions, RunWithHooksOptions, FwdHook, HooksOptions } from "./model/HookedTransformer";
export type { HookedTransformerConfig } from "./model/config";
export type { TokensInput } from "./model/tokens";
export { ActivationCache } from "./hooks/activationCache";
export { HookPoint } from "./hooks/hookPoint";
export type { HookFn, HookContext } from "./hooks/hookPoint";
export * as utils from "./utils";
export * from "./tensorUtils";
// Tensors and Python compatibility: numpy/torch indexing and edits, reductions, Python's random and format().
export * from "./tensor";
export * from "./python";
// Charts: the notebook-facing names at the root, everything else (spec builders, rendering, MIME
// constants) under `charts`.
export { display, plt, attentionPatterns, cv, chart, Chart, toHtmlPage, saveHtml, notebookToHtml } from "./display";
// charts: plotly-express look-alike beside plt
export { px } from "./display";
export * as charts from "./display";
// Generation: model.generate's options, and the sampler and key/value cache it is built from.
export type { GenerateOptions, GenerateInput } from "./generation/generate";
export { sampleLogits, processLogits, seededRandom } from "./generation/sampling";
export type { SampleOptions } from "./generation/sampling";
export { KeyValueCache } from "./generation/kvCache";
// Sparse autoencoders (SAELens names): SAE.fromPretrained / fromDir, encode / decode / forward.
export { SAE, SAE_OVERRIDE_ENV_VAR, PRETRAINED_SAE_RELEASES } from "./sae";
export type { SAEConfig, SaeFromPretrainedOptions, SaeFromPretrainedResult, SaeTargetModel, PretrainedSaeRelease, PretrainedSaeEntry } from "./sae";
