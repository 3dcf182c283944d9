/**
 * Pretrained SAE releases, as a data table in the shape of SAELens's `pretrained_saes.yaml`: a
 * release names a hub repo, and each SAE in it an id (what `saeId` is) and the folder of the repo
 * holding `cfg.json`, `sae_weights.safetensors` and, optionally, `sparsity.safetensors`.
 * Only releases stored in SAELens's own format are listed (no conversion functions here).
 */

export interface PretrainedSaeEntry {
  /** The `saeId` (SAELens's `sae_id`), e.g. "blocks.8.hook_resid_pre". */
  readonly id: string;
  /** Folder of the repo with the SAE's files. */
  readonly path: string;
  /** Mean number of active features per token, as the release table reports it. */
  readonly l0: number;
  /** Fraction of variance explained, as the release table reports it. */
  readonly varianceExplained: number;
}

export interface PretrainedSaeRelease {
  /** SAELens's release name, e.g. "gpt2-small-res-jb". */
  readonly release: string;
  /** Hugging Face repo holding the SAEs. */
  readonly repoId: string;
  /** The model they were trained on (TransformerLens name). */
  readonly model: string;
  /** Neuronpedia dashboards of the release. */
  readonly dashboards?: string;
  readonly saes: readonly PretrainedSaeEntry[];
}

/** Joseph Bloom's residual-stream SAEs for GPT-2 small: one per block input, and the last block's output. */
const GPT2_SMALL_RES_JB_STATS: readonly (readonly [string, number, number])[] = [
  ["blocks.0.hook_resid_pre", 10, 0.999],
  ["blocks.1.hook_resid_pre", 10, 0.999],
  ["blocks.2.hook_resid_pre", 18, 0.999],
  ["blocks.3.hook_resid_pre", 23, 0.999],
  ["blocks.4.hook_resid_pre", 31, 0.9],
  ["blocks.5.hook_resid_pre", 41, 0.9],
  ["blocks.6.hook_resid_pre", 51, 0.9],
  ["blocks.7.hook_resid_pre", 54, 0.9],
  ["blocks.8.hook_resid_pre", 60, 0.9],
  ["blocks.9.hook_resid_pre", 70, 0.77],
  ["blocks.10.hook_resid_pre", 52, 0.77],
  ["blocks.11.hook_resid_pre", 56, 0.77],
  ["blocks.11.hook_resid_post", 70, 0.77],
];

export const PRETRAINED_SAE_RELEASES: readonly PretrainedSaeRelease[] = [
  {
    release: "gpt2-small-res-jb",
    repoId: "jbloom/GPT2-Small-SAEs-Reformatted",
    model: "gpt2-small",
    dashboards: "https://www.neuronpedia.org/gpt2sm-res-jb",
    saes: GPT2_SMALL_RES_JB_STATS.map(([id, l0, varianceExplained]) => ({ id, path: id, l0, varianceExplained })),
  },
];

export function releaseNames(): string[] {
  return PRETRAINED_SAE_RELEASES.map((r) => r.release);
}

/** The release and SAE entry, or an error listing the known releases / the release's SAE ids. */
export function findPretrainedSae(release: string, saeId: string): { release: PretrainedSaeRelease; sae: PretrainedSaeEntry } {
  const rel = PRETRAINED_SAE_RELEASES.find((r) => r.release === release);
  if (!rel) {
    throw new Error(
      `Unknown SAE release ${JSON.stringify(release)}. Known releases: ${releaseNames().join(", ")}. ` +
        `For SAEs saved in SAELens's format on disk use SAE.fromDir(folder).`
    );
  }
  const sae = rel.saes.find((s) => s.id === saeId);
  if (!sae) {
    throw new Error(
      `Release "${release}" has no SAE ${JSON.stringify(saeId)}. Its SAE ids: ${rel.saes.map((s) => s.id).join(", ")}.`
    );
  }
  return { release: rel, sae };
}
