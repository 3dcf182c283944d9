/** Tensor indexing, edits and reductions with numpy/torch semantics. */
export { idx } from "./idx";
export type { Indexed } from "./idx";
export { setIdx } from "./setIdx";
export type { IndexItem } from "./indexSpec";
