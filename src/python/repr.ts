/**
 * Python's `repr()` and `str()` for the values notebooks print: strings (quoted and escaped as
 * CPython does), numbers, booleans, null (None), arrays (lists, or a tuple on request) and plain
 * objects (dicts). `pyRepr(["<|endoftext|>", "The", " cat"])` is `['<|endoftext|>', 'The', ' cat']`.
 */
import { reprDigits } from "./floatDigits";

/** Python's repr of a float: "0.1", "1e-05", "3.0", "inf", "-0.0", "nan". */
function floatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  return (x < 0 || Object.is(x, -0) ? "-" : "") + reprDigits(Math.abs(x));
}

/** Characters Python's str.isprintable() rejects (other than the ASCII space): control, format, separators. */
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's repr of a str: single quotes unless the text has ' and no ", then double quotes. */
export function reprString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const code = ch.codePointAt(0) as number;
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch !== " " && NON_PRINTABLE.test(ch)) {
      if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, "0")}`;
      else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, "0")}`;
      else out += `\\U${code.toString(16).padStart(8, "0")}`;
    } else out += ch;
  }
  return out + quote;
}

export interface ReprOptions {
  /**
   * How numbers print: "auto" (default) prints integer-valued numbers as Python ints ("3") and others
   * as floats; "float" prints every number as a Python float ("3.0"), as a list of floats would.
   */
  numbers?: "auto" | "float";
  /** Print the outermost array as a tuple: "(1, 2)", "(1,)". */
  tuple?: boolean;
}

/**
 * Python's `repr(value)`. JS has one number type: see `options.numbers`.
 * @example pyRepr(["<|endoftext|>", "The", " cat"])   // "['<|endoftext|>', 'The', ' cat']"
 * @example pyRepr("it's")                             // "\"it's\""
 * @example pyRepr([0.1, 2], { numbers: "float" })     // "[0.1, 2.0]"
 * @example pyRepr([3, 7], { tuple: true })            // "(3, 7)"
 */
export function pyRepr(value: unknown, options: ReprOptions = {}): string {
  const inner: ReprOptions = { numbers: options.numbers };
  if (value === null || value === undefined) return "None";
  if (typeof value === "string") return reprString(value);
  if (typeof value === "boolean") return value ? "True" : "False";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    return options.numbers !== "float" && Number.isInteger(value) && !Object.is(value, -0) ? String(value) : floatRepr(value);
  }
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    const items = Array.from(value as ArrayLike<unknown>, (v) => pyRepr(v, inner));
    if (options.tuple) return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
    return `[${items.join(", ")}]`;
  }
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => `${reprString(k)}: ${pyRepr(v, inner)}`);
    return `{${entries.join(", ")}}`;
  }
  throw new Error(`pyRepr: cannot print a ${Object.prototype.toString.call(value)} as Python would; give a string, number, array or plain object.`);
}

/**
 * Python's `str(value)`: a string is itself, a number is printed as a Python float
 * (`str(3.0)` is "3.0", `str(1e-05)` is "1e-05", `str(0.1)` is "0.1"), and anything else is its repr.
 * For an integer that should print as a Python int, use `String(n)` or `pyRepr(n)`.
 */
export function pyStr(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number") return floatRepr(value);
  return pyRepr(value);
}
