/** Sparse autoencoders (SAELens's standard SAE): releases table → files → config and weights → SAE. */
export { SAE } from "./SAE";
export type { SaeFromPretrainedOptions, SaeFromPretrainedResult, SaeTargetModel } from "./SAE";
export type { SAEConfig } from "./config";
export { saeConfigFromDict } from "./config";
export { PRETRAINED_SAE_RELEASES, findPretrainedSae, releaseNames } from "./pretrainedSaes";
export type { PretrainedSaeEntry, PretrainedSaeRelease } from "./pretrainedSaes";
export { SAE_OVERRIDE_ENV_VAR } from "./loadSae";
