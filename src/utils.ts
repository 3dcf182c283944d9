/** TransformerLens's `utils` that this package provides. */
export { getActName } from "./hooks/actNames";
