/**
 * The reference SAE: a folder's cfg.json and weights read independently of src/ (weights through the
 * reference's own safetensors reader, as float64) and SAELens's standard SAE in plain loops:
 *   encode(x) = ReLU((x - b_dec·[apply_b_dec_to_input]) @ W_enc + b_enc),  decode(f) = f @ W_dec + b_dec.
 */
import * as fs from "fs";
import * as path from "path";
import { readSafetensorsF64 } from "./safetensorsRead";

export interface ReferenceSae {
  dIn: number;
  dSae: number;
  applyBDecToInput: boolean;
  /** [d_in, d_sae] row-major */
  W_enc: Float64Array;
  b_enc: Float64Array;
  /** [d_sae, d_in] row-major */
  W_dec: Float64Array;
  b_dec: Float64Array;
  /** log10 feature sparsity [d_sae], or null without sparsity.safetensors */
  sparsity: Float64Array | null;
}

export function readReferenceSae(dir: string): ReferenceSae {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, "cfg.json"), "utf8"));
  const weights = readSafetensorsF64(path.join(dir, "sae_weights.safetensors"));
  const get = (name: string) => {
    const t = weights.get(name);
    if (!t) throw new Error(`reference SAE: ${dir} has no ${name}`);
    return t.data;
  };
  const sparsityFile = path.join(dir, "sparsity.safetensors");
  return {
    dIn: cfg.d_in,
    dSae: cfg.d_sae,
    // Both generations keep this at the top level; SAELens defaults it to true.
    applyBDecToInput: cfg.apply_b_dec_to_input ?? true,
    W_enc: get("W_enc"),
    b_enc: get("b_enc"),
    W_dec: get("W_dec"),
    b_dec: get("b_dec"),
    sparsity: fs.existsSync(sparsityFile) ? readSafetensorsF64(sparsityFile).get("sparsity")!.data : null,
  };
}

/** x: n rows of d_in → n rows of d_sae. */
export function referenceEncode(sae: ReferenceSae, x: ArrayLike<number>): Float64Array {
  const n = x.length / sae.dIn;
  const out = new Float64Array(n * sae.dSae);
  const centred = new Float64Array(sae.dIn);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < sae.dIn; i++) centred[i] = x[r * sae.dIn + i] - (sae.applyBDecToInput ? sae.b_dec[i] : 0);
    for (let j = 0; j < sae.dSae; j++) {
      let s = sae.b_enc[j];
      for (let i = 0; i < sae.dIn; i++) s += centred[i] * sae.W_enc[i * sae.dSae + j];
      out[r * sae.dSae + j] = s > 0 ? s : 0;
    }
  }
  return out;
}

/** f: n rows of d_sae → n rows of d_in. */
export function referenceDecode(sae: ReferenceSae, f: ArrayLike<number>): Float64Array {
  const n = f.length / sae.dSae;
  const out = new Float64Array(n * sae.dIn);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < sae.dIn; i++) {
      let s = sae.b_dec[i];
      for (let j = 0; j < sae.dSae; j++) s += f[r * sae.dSae + j] * sae.W_dec[j * sae.dIn + i];
      out[r * sae.dIn + i] = s;
    }
  }
  return out;
}
