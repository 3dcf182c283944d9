import * as assert from "assert";
import { tf, initBackend } from "../src/backend";
import { fmt, pyRepr, pyStr } from "../src/python";
import table from "./fixtures/python/format.json";

/**
 * Expected strings were printed by CPython 3.11.2 (/usr/bin/python3) and stored: format() from
 * test/fixtures/python/formatTable.py (format.json), the repr/str rows below from one-liners such as
 *   /usr/bin/python3 -c "print(repr(['<|endoftext|>', 'The', ' cat']))"
 */

/** A value as stored in format.json: repr() of a float or str, str() of an int. */
function parse(v: string): number | string {
  if (v.startsWith("'")) return v.slice(1, -1);
  if (v === "nan") return NaN;
  if (v === "inf") return Infinity;
  if (v === "-inf") return -Infinity;
  return Number(v);
}

describe("fmt (Python's format spec)", () => {
  before(async () => {
    await initBackend();
  });
  it(`matches CPython ${table.python} on all ${table.rows.length} stored (value, spec) pairs`, () => {
    const wrong = (table.rows as string[][])
      .map(([value, spec, expected]) => {
        let got: string;
        try {
          got = fmt(parse(value), spec);
        } catch (e) {
          got = `threw ${(e as Error).message}`;
        }
        return { value, spec, expected, got };
      })
      .filter((r) => r.got !== r.expected);
    assert.deepStrictEqual(wrong.slice(0, 10), [], `${wrong.length} rows differ`);
  });

  const named: Array<[number | string, string, string, string]> = [
    [0.125, ".2f", "0.12", "an exact binary tie rounds to even (JS toFixed gives 0.13)"],
    [2.675, ".2f", "2.67", "2.675 is below the tie in binary"],
    [2.5, ".0f", "2", "half to even"],
    [-0.001, ".2f", "-0.00", "the sign of a value that rounds to zero stays"],
    [0.4567, ".1%", "45.7%", "percent"],
    [-0.1234, "+.3f", "-0.123", "sign"],
    [0.1234, "+.3f", "+0.123", "sign"],
    [7, "2d", " 7", "int width"],
    ["cat", "15", "cat            ", "strings align left"],
    [3.14159, "5.2f", " 3.14", "width and precision"],
    [1234567, ",", "1,234,567", "grouping"],
  ];
  for (const [value, spec, expected, why] of named) {
    it(`fmt(${JSON.stringify(value)}, ${JSON.stringify(spec)}) = ${JSON.stringify(expected)}: ${why}`, () =>
      assert.strictEqual(fmt(value, spec), expected));
  }

  it("formats a one-element tensor as torch formats a 0-d tensor, leaking nothing", () => {
    const f = tf.scalar(3);
    const i = tf.tensor1d([7], "int32");
    const many = tf.ones([2]);
    const before = tf.memory().numTensors;
    // format(torch.tensor(3.0), "") is "3.0", format(torch.tensor(3.0), ".2f") "3.00", an int tensor "7"
    assert.deepStrictEqual([fmt(f, ""), fmt(f, ".2f"), fmt(i, ""), fmt(i, "3")], ["3.0", "3.00", "7", "  7"]);
    assert.throws(() => fmt(many, ".2f"), /only a one-element tensor.*shape \[2\]/);
    assert.strictEqual(tf.memory().numTensors, before);
    tf.dispose([f, i, many]);
  });

  const errors: Array<[number | string, string, RegExp]> = [
    [1.5, "d", /format type "d" needs an integer, got 1\.5.*"\.0f"/],
    ["cat", ".2f", /format type "f" cannot format a string/],
    ["cat", "+", /strings do not take/],
    [1, ".2q", /invalid format spec "\.2q".*\[\[fill\]align\]/],
    [1, ".2d", /precision is not allowed with an integer format/],
  ];
  for (const [value, spec, message] of errors) {
    it(`rejects fmt(${JSON.stringify(value)}, ${JSON.stringify(spec)}) clearly`, () => assert.throws(() => fmt(value, spec), message));
  }
});

describe("pyRepr and pyStr", () => {
  const strings: Array<[string, string]> = [
    ["abc", "'abc'"],
    ["it's", "\"it's\""],
    ['say "hi"', "'say \"hi\"'"],
    ["both ' and \"", "'both \\' and \"'"],
    ["tab\there", "'tab\\there'"],
    ["new\nline\r", "'new\\nline\\r'"],
    ["back\\slash", "'back\\\\slash'"],
    ["\u0000\u001f\u007f\u0085\u00a0\u00e9", "'\\x00\\x1f\\x7f\\x85\\xa0é'"],
    ["zero\u200bwidth", "'zero\\u200bwidth'"],
    ["\ud83d\ude00", "'😀'"],
    [" \u0120cat", "' Ġcat'"],
    ["\ufffd", "'�'"],
    ["<|endoftext|>", "'<|endoftext|>'"],
    ["", "''"],
    ["'", "\"'\""],
    ["\u2028", "'\\u2028'"],
    ["\u00f1\u0301", "'ñ́'"],
    ["\u00ad", "'\\xad'"],
  ];
  for (const [s, expected] of strings) {
    it(`repr(${JSON.stringify(s)}) = ${expected}`, () => assert.strictEqual(pyRepr(s), expected));
  }

  const floats: Array<[number, string]> = [
    [0.1, "0.1"], [1e-5, "1e-05"], [3.0, "3.0"], [1e16, "1e+16"], [1e15, "1000000000000000.0"],
    [0.0001, "0.0001"], [123456789012345.6, "123456789012345.6"], [1.5e-7, "1.5e-07"], [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"], [-0, "-0.0"], [NaN, "nan"], [Infinity, "inf"],
    [-Infinity, "-inf"], [2 / 3, "0.6666666666666666"], [1e22, "1e+22"], [100.0, "100.0"], [-2.5, "-2.5"],
    [0.1 + 0.2, "0.30000000000000004"], [12345678.9, "12345678.9"],
  ];
  for (const [x, expected] of floats) {
    it(`str(${expected}) = ${expected}`, () => assert.strictEqual(pyStr(x), expected));
  }

  const values: Array<[unknown, { numbers?: "auto" | "float"; tuple?: boolean }, string]> = [
    [["<|endoftext|>", "The", " cat"], {}, "['<|endoftext|>', 'The', ' cat']"],
    [[464, 3797], {}, "[464, 3797]"],
    [[0.1, 2, 1e-5], { numbers: "float" }, "[0.1, 2.0, 1e-05]"],
    [[3, 7], { tuple: true }, "(3, 7)"],
    [[5], { tuple: true }, "(5,)"],
    [{ a: 1, "it's": [true, null] }, {}, "{'a': 1, \"it's\": [True, None]}"],
    [[[1, 2], []], {}, "[[1, 2], []]"],
    [new Int32Array([1, 2]), {}, "[1, 2]"],
  ];
  for (const [value, options, expected] of values) {
    it(`repr -> ${expected}`, () => assert.strictEqual(pyRepr(value, options), expected));
  }

  it("pyStr of a string is the string; of a list, its repr", () => {
    assert.strictEqual(pyStr(" cat"), " cat");
    assert.strictEqual(pyStr(["a", " b"]), "['a', ' b']");
  });

  it("rejects what Python would print differently (a Map) clearly", () => {
    assert.throws(() => pyRepr(new Map()), /cannot print a \[object Map\]/);
  });
});
