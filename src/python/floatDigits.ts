/**
 * Decimal digits of a double exactly as CPython produces them: fixed and scientific notation rounded
 * half-to-even on the exact binary value (`format(0.125, ".2f")` is "0.12"; JS's toFixed gives "0.13"),
 * and repr's shortest round-trip digits (`repr(1e-05)` is "1e-05", `repr(3.0)` is "3.0").
 * All functions take a finite, non-negative value; signs, inf and nan are the caller's business.
 */

/** |x| = int / 10**scale exactly (every double is a finite decimal fraction). */
function exactDecimal(x: number): { int: bigint; scale: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const expField = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let exponent: number;
  if (expField === 0) exponent = -1074; // subnormal (or zero)
  else {
    mantissa |= 1n << 52n;
    exponent = expField - 1075;
  }
  if (exponent >= 0) return { int: mantissa << BigInt(exponent), scale: 0 };
  // m / 2**k = m * 5**k / 10**k
  return { int: mantissa * 5n ** BigInt(-exponent), scale: -exponent };
}

/** int / 10**drop rounded half to even (drop >= 0). */
function roundHalfEven(int: bigint, drop: number): bigint {
  if (drop <= 0) return int * 10n ** BigInt(-drop);
  const divisor = 10n ** BigInt(drop);
  const q = int / divisor;
  const twice = (int % divisor) * 2n;
  if (twice > divisor || (twice === divisor && q % 2n === 1n)) return q + 1n;
  return q;
}

/** `format(x, f".{precision}f")` for finite x >= 0: "0.12", "3" (precision 0 has no point). */
export function fixedDigits(x: number, precision: number): string {
  const { int, scale } = exactDecimal(x);
  const n = roundHalfEven(int, scale - precision).toString().padStart(precision + 1, "0");
  return precision === 0 ? n : `${n.slice(0, n.length - precision)}.${n.slice(n.length - precision)}`;
}

/**
 * x rounded to `digits` significant digits: the digit string (length `digits`) and the decimal
 * exponent of its first digit (x ≈ d.ddd × 10**exponent). Zero has exponent 0.
 */
export function significantDigits(x: number, digits: number): { digits: string; exponent: number } {
  if (x === 0) return { digits: "0".repeat(digits), exponent: 0 };
  const { int, scale } = exactDecimal(x);
  const length = int.toString().length;
  let exponent = length - 1 - scale;
  let s = roundHalfEven(int, length - digits).toString();
  if (s.length > digits) {
    // rounding carried into a new leading digit (9.99 -> 10.0)
    s = s.slice(0, digits);
    exponent += 1;
  }
  return { digits: s, exponent };
}

/** Python's exponent suffix: "e+05", "e-10", "e+100". */
export function exponentSuffix(exponent: number, upper = false): string {
  const sign = exponent < 0 ? "-" : "+";
  return `${upper ? "E" : "e"}${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
}

/** `format(x, f".{precision}e")` for finite x >= 0: "1.23e+03". */
export function scientificDigits(x: number, precision: number, upper = false): string {
  const { digits, exponent } = significantDigits(x, precision + 1);
  const mantissa = precision === 0 ? digits : `${digits[0]}.${digits.slice(1)}`;
  return mantissa + exponentSuffix(exponent, upper);
}

/**
 * Python's repr of a finite float x >= 0: the shortest digits that read back as x (the same digits
 * JS prints), laid out as CPython does: fixed notation for exponents -4..15 with ".0" added to
 * whole numbers, otherwise "1e-05" / "1.5e+16".
 */
export function reprDigits(x: number): string {
  // toExponential() without an argument gives the shortest round-trip digits: "1.5e-5".
  const [mantissa, exp] = x.toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exponent = Number(exp);
  if (exponent < -4 || exponent >= 16) {
    const m = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    return m + exponentSuffix(exponent);
  }
  if (exponent < 0) return `0.${"0".repeat(-exponent - 1)}${digits}`;
  if (digits.length <= exponent + 1) return `${digits}${"0".repeat(exponent + 1 - digits.length)}.0`;
  return `${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
}
