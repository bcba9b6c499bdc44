/**
 * The GPU-test fixture: a real Vulkan context (lavapipe on dev machines and CI) with the validation layer on,
 * where any validation warning or error fails the test during which it arrived.
 *
 * On Windows (the suite under Wine, `npm run test:win`) no validation layer can be had, so the context is made
 * without it and the fixture says so once per test file: the same tests run, checking results but not API usage.
 *
 * `useGpuContext()` registers vitest hooks in the calling `describe` (or file): the context is created in
 * `beforeAll`, checked and cleared in `afterEach`, destroyed in `afterAll` (where messages reported by the
 * destruction itself, such as objects left alive on the device, fail the suite). A test that provokes a message
 * on purpose must assert it and then call `clearValidationMessages()`.
 * @module
 */
import { afterAll, afterEach, beforeAll } from "vitest";
import {
  createContext,
  type Context,
  type ContextOptions,
  type ValidationMessage,
} from "../../engine/vulkan/context.js";

/** Warnings and errors among `messages`: the ones that fail a test. */
export function failingMessages(messages: readonly ValidationMessage[]): ValidationMessage[] {
  return messages.filter((m) => m.severity === "error" || m.severity === "warning");
}

function assertNoFailingMessages(messages: readonly ValidationMessage[], when: string): void {
  const failing = failingMessages(messages);
  if (failing.length === 0) return;
  const list = failing.map((m) => `  [${m.severity}] ${m.id}: ${m.message}`).join("\n");
  throw new Error(`${failing.length} validation message(s) ${when}:\n${list}`);
}

/**
 * Runs `fn` and throws if a validation warning or error arrived on `context` while it ran (listing them).
 *
 * The messages are left in place (the fixture's afterEach clears them).
 * @throws Error listing the messages; whatever `fn` throws.
 */
export async function withValidationCheck<T>(context: Context, fn: () => T | Promise<T>): Promise<T> {
  const before = context.validationMessages.length;
  const result = await fn();
  assertNoFailingMessages(context.validationMessages.slice(before), "during withValidationCheck");
  return result;
}

/** Whether GPU tests run with the validation layer: everywhere but Windows, where none is installed (see above). */
export const validationAvailable = process.platform !== "win32";

/** A sample program's `--validation` flag where {@link validationAvailable}, else nothing. */
export const validationArgs: readonly string[] = validationAvailable ? ["--validation"] : [];

let toldNoValidation = false;

/** What {@link useGpuContext} returns: the context, available inside tests and hooks once beforeAll has run. */
export interface GpuFixture {
  /** @throws Error when read outside the tests of the suite that registered the fixture. */
  readonly context: Context;
}

/**
 * Instance layers every fixture context enables after the validation layer: VKMEM_TEST_LAYERS, comma-separated (the
 * suite's run with a discrete GPU's memory sets it: test/helpers/discrete-memory.ts).
 */
export const testLayers: readonly string[] = (process.env.VKMEM_TEST_LAYERS ?? "").split(",").filter((s) => s !== "");

/**
 * Registers beforeAll / afterEach / afterAll hooks that give the suite a validated {@link Context}.
 *
 * `options` are passed to `createContext` with `validation: true` ({@link validationAvailable}: not on Windows,
 * where synchronization validation is dropped too) and {@link testLayers} added to its layers.
 */
export function useGpuContext(options: ContextOptions = {}): GpuFixture {
  let context: Context | null = null;
  beforeAll(() => {
    if (!validationAvailable && !toldNoValidation) {
      toldNoValidation = true;
      console.log(`vkmem-test: ${process.platform}: no Vulkan validation layer here; GPU tests run without it`);
    }
    const layers = [...(options.layers ?? []), ...testLayers];
    context = validationAvailable
      ? createContext({ applicationName: "vkmem-test", ...options, layers, validation: true })
      : createContext({
          applicationName: "vkmem-test",
          ...options,
          layers,
          validation: false,
          synchronizationValidation: false,
        });
  });
  afterEach(() => {
    if (context === null) return;
    const messages = context.validationMessages;
    context.clearValidationMessages();
    assertNoFailingMessages(messages, "during this test");
  });
  afterAll(() => {
    if (context === null) return;
    const finished = context;
    context = null;
    finished.destroy();
    assertNoFailingMessages(finished.validationMessages, "while destroying the context (objects left alive?)");
  });
  return {
    get context(): Context {
      if (context === null)
        throw new Error("useGpuContext: the context exists only inside the suite's tests and hooks");
      return context;
    },
  };
}
