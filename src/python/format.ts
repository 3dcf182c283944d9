/**
 * `fmt(value, spec)`: Python's `format(value, spec)`, i.e. what `f"{value:spec}"` prints, for the
 * format-spec mini-language `[[fill]align][sign][z][#][0][width][grouping][.precision][type]`:
 * align `<` `>` `^` `=`, sign `+` `-` ` `, grouping `,` `_`, types `f F e E g G % d s x X o b` and
 * none. Floats are rounded half-to-even on their exact binary value, as CPython does, so
 * `f"{x:.2f}"` → `${fmt(x, ".2f")}` prints the same digits (`fmt(0.125, ".2f")` is "0.12").
 *
 * JS has one number type, so a number is a Python int when it is integer-valued and the spec has no
 * float type or precision (`fmt(5, "3")` is "  5", as `format(5, "3")`), and a float otherwise
 * (`fmt(2.5, "")` is "2.5", `fmt(3, ".1f")` is "3.0"). Pass a float type when a whole float must
 * print as Python's float would (`format(3.0, "")` is "3.0": use `pyStr(3)`).
 */
import { tf } from "../backend";
import { exponentSuffix, fixedDigits, reprDigits, scientificDigits, significantDigits } from "./floatDigits";

interface Spec {
  fill: string;
  align: "<" | ">" | "^" | "=" | undefined;
  sign: "+" | "-" | " ";
  z: boolean;
  alternate: boolean;
  zero: boolean;
  width: number;
  grouping: "," | "_" | undefined;
  precision: number | undefined;
  type: string;
}

const SPEC = /^([+\- ])?(z)?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGosxX%])?$/;

function parseSpec(spec: string): Spec {
  let fill = " ";
  let align: Spec["align"];
  let rest = spec;
  const chars = Array.from(spec); // the fill may be any character, astral ones included
  if (chars.length >= 2 && "<>^=".includes(chars[1])) {
    fill = chars[0];
    align = chars[1] as Spec["align"];
    rest = chars.slice(2).join("");
  } else if (chars.length >= 1 && "<>^=".includes(chars[0])) {
    align = chars[0] as Spec["align"];
    rest = chars.slice(1).join("");
  }
  const m = SPEC.exec(rest);
  if (!m) {
    throw new Error(
      `fmt: invalid format spec ${JSON.stringify(spec)}. Python's form is [[fill]align][sign][z][#][0][width][,][.precision][type], ` +
        `e.g. ".2f", "+.3f", ".1%", "5.2f", ">8", "<15", ",d".`
    );
  }
  return {
    fill,
    align,
    sign: (m[1] ?? "-") as Spec["sign"],
    z: m[2] !== undefined,
    alternate: m[3] !== undefined,
    zero: m[4] !== undefined,
    width: m[5] === undefined ? 0 : Number(m[5]),
    grouping: m[6] as Spec["grouping"],
    precision: m[7] === undefined ? undefined : Number(m[7]),
    type: m[8] ?? "",
  };
}

/** Inserts the grouping separator every three digits of an integer digit string. */
function group(digits: string, sep: string | undefined): string {
  if (!sep) return digits;
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, sep);
}

/** Pads `body` (after `prefix`, the sign) to the spec's width with its fill and alignment. */
function pad(prefix: string, body: string, spec: Spec, defaultAlign: "<" | ">"): string {
  const length = Array.from(prefix + body).length;
  const missing = Math.max(0, spec.width - length);
  const align = spec.align ?? (spec.zero ? "=" : defaultAlign);
  const fill = spec.align === undefined && spec.zero ? "0" : spec.fill;
  if (align === "=") return prefix + fill.repeat(missing) + body;
  if (align === "<") return prefix + body + fill.repeat(missing);
  if (align === ">") return fill.repeat(missing) + prefix + body;
  const left = Math.floor(missing / 2);
  return fill.repeat(left) + prefix + body + fill.repeat(missing - left);
}

/** The digits of |x| for a float presentation type (no sign, no grouping yet). */
function floatBody(x: number, spec: Spec): string {
  const upper = spec.type === "F" || spec.type === "E" || spec.type === "G";
  if (!Number.isFinite(x)) return Number.isNaN(x) ? (upper ? "NAN" : "nan") : upper ? "INF" : "inf";
  const p = spec.precision;
  switch (spec.type) {
    case "f":
    case "F":
    case "%": {
      const s = fixedDigits(x, p ?? 6);
      return spec.alternate && !s.includes(".") ? `${s}.` : s;
    }
    case "e":
    case "E": {
      const s = scientificDigits(x, p ?? 6, upper);
      return spec.alternate && !s.includes(".") ? s.replace(/e|E/, (e) => `.${e}`) : s;
    }
    default: {
      // "g", "G", and none (repr without a precision; "g" that keeps a ".0" with one)
      if (spec.type === "" && p === undefined) return reprDigits(x);
      const precision = p === 0 ? 1 : p ?? 6;
      const { exponent } = significantDigits(x, precision);
      // With no type, CPython switches to exponents one digit earlier so that the ".0" it adds fits.
      const limit = spec.type === "" ? precision - 1 : precision;
      let s: string;
      if (exponent >= -4 && exponent < limit) s = fixedDigits(x, precision - 1 - exponent);
      else {
        const { digits } = significantDigits(x, precision);
        s = (precision === 1 ? digits : `${digits[0]}.${digits.slice(1)}`) + exponentSuffix(exponent, upper);
      }
      if (!spec.alternate && s.includes(".")) s = s.replace(/\.?0+(?=e|E|$)/, "");
      if (spec.alternate && !s.includes(".")) s = s.replace(/(?=e|E|$)/, ".");
      if (spec.type === "" && !/[.eE]/.test(s)) s += ".0";
      return s;
    }
  }
}

function formatNumber(value: number | bigint, spec: Spec, isFloat = false): string {
  const isFloatType = spec.type !== "" && "eEfFgG%".includes(spec.type);
  const isIntType = spec.type !== "" && "dxXob".includes(spec.type);
  const asInt =
    isIntType ||
    (!isFloatType && !isFloat && (typeof value === "bigint" || (spec.precision === undefined && Number.isInteger(value))));
  if (spec.type === "s" || spec.type === "c") {
    throw new Error(`fmt: format type "${spec.type}" is for strings here; numbers take d, f, e, g, % or none.`);
  }
  let negative: boolean;
  let body: string;
  if (asInt) {
    if (typeof value === "number" && !Number.isInteger(value)) {
      throw new Error(`fmt: format type "${spec.type}" needs an integer, got ${value}. Use ".0f" to round a float.`);
    }
    if (spec.precision !== undefined) throw new Error("fmt: a precision is not allowed with an integer format (Python raises too).");
    const big = BigInt(value);
    negative = big < 0n;
    const magnitude = negative ? -big : big;
    const radix = { x: 16, X: 16, o: 8, b: 2 }[spec.type as "x"] ?? 10;
    body = magnitude.toString(radix);
    if (spec.type === "X") body = body.toUpperCase();
    if (spec.alternate && radix !== 10) body = `0${{ 16: spec.type, 8: "o", 2: "b" }[radix]}${body}`;
    else body = group(body, spec.grouping);
  } else {
    const x = Number(value) * (spec.type === "%" ? 100 : 1);
    negative = x < 0 || Object.is(x, -0);
    body = floatBody(Math.abs(x), spec);
    if (spec.z && negative && /^[0.]*$/.test(body.replace(/e.*$/i, ""))) negative = false;
    if (spec.grouping && Number.isFinite(x)) {
      const [intPart, ...rest] = body.split(/(?=[.eE%])/);
      body = group(intPart, spec.grouping) + rest.join("");
    }
    if (spec.type === "%") body += "%";
  }
  const sign = negative ? "-" : spec.sign === "+" ? "+" : spec.sign === " " ? " " : "";
  // Python puts separators into zero padding too: format(1234, "010,") is "00,001,234".
  if (spec.grouping && spec.zero && spec.align === undefined && /^[\d,_]/.test(body)) {
    const [intPart, ...rest] = body.split(/(?=[.eE%])/);
    const digits = intPart.split(spec.grouping).join("");
    let n = digits.length;
    let grouped = intPart;
    while (Array.from(sign + grouped + rest.join("")).length < spec.width) grouped = group(digits.padStart(++n, "0"), spec.grouping);
    body = grouped + rest.join("");
  }
  return pad(sign, body, spec, ">");
}

function formatString(value: string, spec: Spec, original: string): string {
  if (spec.type !== "" && spec.type !== "s") {
    throw new Error(`fmt: format type "${spec.type}" cannot format a string (spec ${JSON.stringify(original)}); strings take "s" or none.`);
  }
  if (spec.sign !== "-" || spec.grouping || spec.alternate || spec.align === "=") {
    throw new Error(`fmt: spec ${JSON.stringify(original)} has a sign, "#", grouping or "=" alignment, which strings do not take.`);
  }
  const body = spec.precision === undefined ? value : Array.from(value).slice(0, spec.precision).join("");
  return pad("", body, spec, "<");
}

/**
 * Python's `format(value, spec)` (what `f"{value:spec}"` prints); see the module comment for the
 * int/float rule. Booleans format as Python's True/False with an empty spec, as 1/0 otherwise. A
 * one-element tensor formats its value, as a 0-d torch tensor does (`f"{avg_sim:.4f}"`); it is read,
 * not disposed.
 * @example fmt(0.5, ".2f")      // "0.50"
 * @example fmt(-0.1234, "+.3f") // "-0.123"
 * @example fmt(0.25, ".1%")     // "25.0%"
 * @example fmt("cat", "15")     // "cat            " (strings align left)
 * @example fmt(1234567, ",")    // "1,234,567"
 */
export function fmt(value: number | bigint | string | boolean | tf.Tensor, spec = ""): string {
  const parsed = parseSpec(spec);
  if (value instanceof tf.Tensor) {
    if (value.size !== 1) {
      throw new Error(
        `fmt: only a one-element tensor can be formatted (as a 0-d torch tensor), got shape [${value.shape.join(", ")}]. ` +
          `Index it down to one element first, e.g. idx(t, 0, -1, id).`
      );
    }
    // An int tensor formats as a Python int, a float tensor as a float even when whole ("3.0").
    return formatNumber(value.dataSync()[0] as number, parsed, value.dtype === "float32");
  }
  if (typeof value === "string") return formatString(value, parsed, spec);
  if (typeof value === "boolean") {
    return spec === "" ? (value ? "True" : "False") : formatNumber(value ? 1 : 0, parsed);
  }
  return formatNumber(value, parsed);
}
