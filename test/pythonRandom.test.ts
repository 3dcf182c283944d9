import * as assert from "assert";
import { pyRandom } from "../src/python";

/**
 * Every expected value below was printed once by CPython 3.11.2 (/usr/bin/python3) and stored here;
 * the Python that produced each row is in its `py` field, e.g.
 *   /usr/bin/python3 -c "import random; random.seed(42); print(random.sample(range(50257), 100))"
 */
const SAMPLE_42_50257_100 = [
  41905, 7296, 1639, 48598, 18024, 16049, 14628, 9144, 48265, 6717, 44348, 48540, 35741, 5697, 38698, 27651, 2082,
  1952, 6140, 14328, 15247, 33118, 39453, 1739, 36781, 13031, 46925, 42590, 45962, 35713, 27493, 14446, 29439, 38618,
  18231, 425, 49729, 10463, 45753, 27696, 22298, 18210, 10189, 14110, 50036, 22059, 6698, 6078, 24898, 6338, 23526,
  22541, 39565, 17335, 2847, 47823, 30108, 35142, 8180, 24807, 5164, 36178, 19213, 41198, 40535, 23700, 37837, 12601,
  46174, 4558, 3003, 43336, 14935, 18965, 5229, 15256, 6619, 24911, 18217, 29714, 41660, 23909, 10659, 24260, 23283,
  13730, 43920, 17496, 45994, 44796, 42469, 4679, 39920, 41613, 11215, 35005, 47784, 16043, 10708, 30294,
];

describe("pyRandom (Python's random.Random)", () => {
  const cases: Array<{ py: string; run: () => unknown; expected: unknown }> = [
    {
      py: "random.seed(42); random.sample(range(50257), 100)  # set-based branch",
      run: () => pyRandom(42).sample(50257, 100),
      expected: SAMPLE_42_50257_100,
    },
    {
      py: "r = random.Random(0); [r.random() for _ in range(5)]",
      run: () => { const r = pyRandom(0); return [0, 1, 2, 3, 4].map(() => r.random()); },
      expected: [0.8444218515250481, 0.7579544029403025, 0.420571580830845, 0.25891675029296335, 0.5112747213686085],
    },
    {
      py: "r = random.Random(2**40 + 7); [r.random() for _ in range(3)]  # a two-word seed",
      run: () => { const r = pyRandom(2 ** 40 + 7); return [0, 1, 2].map(() => r.random()); },
      expected: [0.6137037779936511, 0.8149162973309487, 0.9450115087592873],
    },
    {
      py: "random.Random(12345678901234567890).random()  # a bigint seed",
      run: () => pyRandom(12345678901234567890n).random(),
      expected: 0.5120180983871961,
    },
    {
      py: "r = random.Random(-5); [r.randint(1, 6) for _ in range(10)]  # negative seed = abs",
      run: () => { const r = pyRandom(-5); return Array.from({ length: 10 }, () => r.randint(1, 6)); },
      expected: [5, 3, 6, 3, 6, 6, 6, 5, 1, 4],
    },
    {
      py: "r = random.Random(123); [r.getrandbits(k) for k in (1, 8, 32, 33, 53)]",
      run: () => { const r = pyRandom(123); return [1, 8, 32, 33, 53].map((k) => r.getrandbits(k)); },
      expected: [0, 68, 374463918, 3302642556, 970075343216371],
    },
    {
      py: "random.Random(7).sample(['a', 'b', 'c', 'd', 'e', 'f', 'g'], 6)  # pool branch, k near n",
      run: () => pyRandom(7).sample(["a", "b", "c", "d", "e", "f", "g"], 6),
      expected: ["c", "b", "d", "a", "e", "g"],
    },
    {
      py: "r = random.Random(7); x = list(range(10)); r.shuffle(x); x",
      run: () => { const x = Array.from({ length: 10 }, (_, i) => i); pyRandom(7).shuffle(x); return x; },
      expected: [8, 3, 1, 4, 7, 0, 9, 6, 2, 5],
    },
    {
      py: "random.Random(1).sample(range(30), 25)  # pool branch with k > 5",
      run: () => pyRandom(1).sample(30, 25),
      expected: [4, 18, 27, 25, 24, 2, 8, 3, 15, 14, 21, 12, 6, 22, 19, 0, 13, 17, 28, 9, 20, 7, 29, 5, 1],
    },
    {
      py: "r = random.Random(99); [r.choice(range(1000)) for _ in range(5)], r.randrange(10**12)",
      run: () => { const r = pyRandom(99); return [[0, 1, 2, 3, 4].map(() => r.choice(1000)), r.randrange(10 ** 12)]; },
      expected: [[413, 389, 204, 613, 183], 271571910528],
    },
  ];
  for (const { py, run, expected } of cases) {
    it(py, () => assert.deepStrictEqual(run(), expected));
  }

  it("seed() restarts the sequence; the population is left unchanged", () => {
    const r = pyRandom(3);
    const population = ["x", "y", "z"];
    const first = r.sample(population, 3);
    r.seed(3);
    assert.deepStrictEqual(r.sample(population, 3), first);
    assert.deepStrictEqual(population, ["x", "y", "z"]);
  });

  const errors: Array<{ what: string; run: () => unknown; message: RegExp }> = [
    { what: "a fractional seed", run: () => pyRandom(0.5), message: /seed must be an integer.*got 0\.5/ },
    { what: "k larger than the population", run: () => pyRandom(1).sample(3, 4), message: /k must be an integer from 0 to 3.*got 4/ },
    { what: "an empty randint range", run: () => pyRandom(1).randint(3, 2), message: /empty range \(3, 4\)|empty range/ },
    { what: "getrandbits beyond 53", run: () => pyRandom(1).getrandbits(54), message: /from 0 to 53/ },
    { what: "choice from nothing", run: () => pyRandom(1).choice([]), message: /empty sequence/ },
  ];
  for (const { what, run, message } of errors) {
    it(`rejects ${what} clearly`, () => assert.throws(run, message));
  }
});
