/** Tensor indexing, edits and reductions with numpy/torch semantics. */
export { idx } from "./idx";
export type { Indexed } from "./idx";
export { setIdx } from "./setIdx";
export type { IndexItem } from "./indexSpec";
export { fractionPositive, variance, normAlong, argmax, argmax2d, topK2d } from "./reductions";
export type { Cell2d } from "./reductions";
