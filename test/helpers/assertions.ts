/** Assertions shared by the test files. */
import { strict as assert } from "assert";
import { tf } from "../../src";

/** Runs fn (sync or async) and asserts it throws an error whose message matches every pattern, with no tensor leaked. */
export async function assertFailsCleanly(fn: () => unknown, ...patterns: RegExp[]): Promise<Error> {
  const before = tf.memory().numTensors;
  let error: Error | undefined;
  try {
    await fn();
  } catch (err) {
    error = err as Error;
  }
  assert.ok(error, `expected an error matching ${patterns.join(", ")}`);
  for (const p of patterns) assert.match(error.message, p);
  assert.equal(tf.memory().numTensors, before, `tensors leaked by a failing call (${error.message})`);
  return error;
}
