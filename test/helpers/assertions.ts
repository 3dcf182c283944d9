/** Assertions shared by the test files. */
import { strict as assert } from "assert";
import { tf } from "../../src";
import { HubDownloadError } from "../../src/weights/hub";

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

/**
 * Expects `promise` to reject with a HubDownloadError of `code` whose message contains every one of
 * `parts` and none of `absent`.
 */
export async function rejectsWith(promise: Promise<unknown>, code: string, parts: string[], absent: string[] = []): Promise<HubDownloadError> {
  const err = await promise.then(
    () => assert.fail("expected the download to fail"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof HubDownloadError, `expected HubDownloadError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  for (const part of parts) assert.ok(err.message.includes(part), `message lacks ${JSON.stringify(part)}: ${err.message}`);
  for (const part of absent) assert.ok(!err.message.includes(part), `message has ${JSON.stringify(part)}: ${err.message}`);
  return err;
}
