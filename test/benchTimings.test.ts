/**
 * `npm run bench -- --tl-timings FILE`: the TransformerLens timings file is read into the figures the
 * ratios divide by, and every malformed file is refused with the field named.
 */
import { strict as assert } from "assert";
import { BUILT_IN, parseTlTimings } from "../scripts/bench/tlFigures";

describe("bench: --tl-timings FILE", () => {
  const good: [string, unknown, Record<string, number>, string[]][] = [
    [
      "TransformerLens's case names, peak RSS beside the 1024-token case",
      {
        source: "TL 2.12 on my laptop",
        cpu: "Apple M2",
        grad_disabled: {
          load: { median_s: 1.5 },
          run_with_cache_6: { median_s: 0.2 },
          run_with_cache_128: { median_s: 0.5 },
          run_with_cache_1024: { median_s: 4.0, peak_rss_gb: 3.1 },
          forward_1024: { median_s: 3.9 },
          generate_20: { median_s: 2 },
        },
      },
      { load: 1.5, runWithCache6: 0.2, runWithCache128: 0.5, runWithCache1024: 4.0, rssAfterRunWithCache1024: 3.1, forward1024: 3.9 },
      ["generate_20"],
    ],
    [
      "the benchmark's own names and a peak_rss_gb object",
      { grad_disabled: { runWithCache128: { median_s: 0.7, runs: [0.7, 0.8] } }, peak_rss_gb: { after_load: 1.8, other: 2 } },
      { runWithCache128: 0.7, rssAfterLoad: 1.8 },
      ["peak_rss_gb.other"],
    ],
  ];
  for (const [label, json, figures, ignored] of good) {
    it(`reads ${label}`, () => {
      const t = parseTlTimings(JSON.stringify(json), "tl.json");
      assert.deepEqual(t.figures, figures);
      assert.deepEqual(t.ignored, ignored);
      assert.equal(t.origin, "tl.json");
    });
  }

  it("says where the figures came from: the file's source and CPU, or a default", () => {
    assert.equal(parseTlTimings(JSON.stringify(good[0][1]), "f").source, "TL 2.12 on my laptop; CPU Apple M2");
    assert.equal(parseTlTimings('{"grad_disabled": {"load": {"median_s": 2}}}', "f").source, "TransformerLens, measured by the user");
  });

  const bad: [string, string, RegExp][] = [
    ["not JSON", "{load: 1}", /tl\.json is not JSON/],
    ["no grad_disabled", '{"load": {"median_s": 1}}', /no "grad_disabled" object/],
    ["a median that is not a number", '{"grad_disabled": {"load": {"median_s": "1.9"}}}', /grad_disabled\.load\.median_s must be a positive number.*"1\.9"/],
    ["a zero median", '{"grad_disabled": {"forward_1024": {"median_s": 0}}}', /grad_disabled\.forward_1024\.median_s/],
    ["a case without median_s", '{"grad_disabled": {"run_with_cache_6": {"mean_s": 0.3}}}', /run_with_cache_6\.median_s.*undefined/],
    ["a negative peak RSS", '{"grad_disabled": {"run_with_cache_1024": {"median_s": 6, "peak_rss_gb": -1}}}', /peak_rss_gb must be a positive/],
    ["no case this benchmark measures", '{"grad_disabled": {"generate": {"median_s": 1}}}', /names none of the cases.*run_with_cache_6/],
  ];
  for (const [label, text, message] of bad) {
    it(`refuses ${label}`, () => assert.throws(() => parseTlTimings(text, "tl.json"), message));
  }

  it("the built-in figures are issue 14's, measured on this project's machine kind", () => {
    assert.deepEqual(BUILT_IN.figures, {
      load: 1.9, runWithCache6: 0.49, runWithCache128: 1.19, runWithCache1024: 6.71, forward1024: 8.0, rssAfterLoad: 1.86, rssAfterRunWithCache1024: 3.24,
    });
    assert.match(BUILT_IN.source, /TransformerLens 2\.12.*2 threads.*issue 14/);
  });
});
