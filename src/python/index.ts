/** Python compatibility: random.Random, format() and repr()/str() as CPython prints them. */
export { pyRandom, PyRandom } from "./random";
export type { Population } from "./random";
export { fmt } from "./format";
export { pyRepr, pyStr } from "./repr";
export type { ReprOptions } from "./repr";
