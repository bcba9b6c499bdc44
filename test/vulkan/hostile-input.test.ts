/**
 * Hostile input to the Vulkan glue (issue 10 item 5): createContext's options, Context.setObjectName and
 * submitAndWait, the nvk handle helpers and the format helpers, given each value of test/helpers/hostile.ts, refuse
 * it with a TypeError or RangeError naming the argument, never with one of V8's conversion errors, and the context
 * keeps working.
 */
import { beforeAll, describe, expect, test } from "vitest";
import {
  createContext,
  formatInfo,
  isNvkHandle,
  mipExtent,
  rawHandle,
  regionBytes,
  wrapHandle,
  type Context,
} from "../../engine/index.js";
import { nvk } from "../../engine/vulkan/nvk.js";
import * as vk from "../../engine/vulkan/constants.js";
import { useGpuContext } from "../helpers/gpu.js";
import { expectRowRefused, fieldRows, OBJECT_OK, type HostileRow } from "../helpers/hostile.js";

const gpu = useGpuContext({ applicationName: "vkmem hostile input (vulkan)" });
let context: Context;
let commandBuffers = 0;

beforeAll(() => {
  context = gpu.context;
});

/** After each value: the context still records and submits. */
function everyValue(): void {
  context.submitAndWait(() => void commandBuffers++);
}

const rgba = () => formatInfo(vk.VK_FORMAT_R8G8B8A8_UNORM)!;

const rows = (): HostileRow[] => [
  // Accepted option objects would create a whole context: not run here (context.test.ts creates them).
  { name: "createContext", arg: "options", accept: OBJECT_OK, run: (v) => createContext(v as never).destroy() },
  ...fieldRows(
    "createContext",
    "options",
    {
      applicationName: ["numericString"],
      apiVersion: [],
      validation: [],
      synchronizationValidation: [],
      validationVerbose: [],
      onValidationMessage: ["function"],
      deviceIndex: ["negativeZero"],
      preferDiscrete: [],
      instanceExtensions: [],
      deviceExtensions: [],
      headless: [],
    },
    (o) => createContext(o as never).destroy(),
    {},
    (field) => `option '${field}'`,
  ),
  { name: "setObjectName", arg: "objectType", run: (v) => context.setObjectName(v as never, context.device, "x") },
  // A BigInt is a raw handle, which is trusted as nvk trusts it: 1n names no object (not run).
  {
    name: "setObjectName",
    arg: "handle",
    accept: ["bigint"],
    run: (v) => context.setObjectName(nvk.VK_OBJECT_TYPE_DEVICE, v as never, "x"),
  },
  {
    name: "setObjectName",
    arg: "name",
    accept: ["numericString"],
    run: (v) => context.setObjectName(nvk.VK_OBJECT_TYPE_DEVICE, context.device, v as never),
  },
  { name: "submitAndWait", arg: "record", accept: ["function"], run: (v) => context.submitAndWait(v as never) },
  { name: "rawHandle", arg: "nvk handle", run: (v) => rawHandle(v as never) },
  { name: "wrapHandle", arg: "cls", run: (v) => wrapHandle(v as never, 0n) },
  { name: "wrapHandle", arg: "raw", accept: ["bigint"], run: (v) => wrapHandle(nvk.VkBuffer as never, v as never) },
  { name: "isNvkHandle", arg: "className", run: (v) => isNvkHandle(context.device, v as never) },
  { name: "regionBytes", arg: "info", run: (v) => regionBytes(v as never, 4, 4) },
  { name: "regionBytes", arg: "width", accept: ["negativeZero"], run: (v) => regionBytes(rgba(), v as never, 4) },
  { name: "regionBytes", arg: "height", accept: ["negativeZero"], run: (v) => regionBytes(rgba(), 4, v as never) },
  { name: "regionBytes", arg: "depth", accept: ["negativeZero"], run: (v) => regionBytes(rgba(), 4, 4, v as never) },
  { name: "mipExtent", arg: "base", accept: ["negativeZero"], run: (v) => mipExtent(v as never, 0) },
  { name: "mipExtent", arg: "level", accept: ["negativeZero"], run: (v) => mipExtent(4, v as never) },
];

describe("Vulkan glue", () => {
  test.each(rows().map((row) => [row.name.includes(row.arg) ? row.name : `${row.name} ${row.arg}`, row] as const))(
    "%s",
    (_title, row) => expectRowRefused(row, everyValue),
  );
  test("the context recorded a command buffer after every case", () => {
    expect(commandBuffers).toBeGreaterThan(100);
  });
});
