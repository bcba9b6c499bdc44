/**
 * SPIR-V shader modules from the set-up step's output.
 *
 * scripts/setup.mjs compiles `shaders/NAME.STAGE` to `build/shaders/NAME.STAGE.spv` (and `samples/**` to
 * `build/shaders/samples/**`). The project root is found by walking up from this file to the package.json named
 * "vkmem", so the same code works from the TypeScript sources (vitest) and from dist/ (plain node).
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { nvk, type Context, type NvkHandle } from "../../engine/index.js";
import { createNamed } from "./named-object.js";

let root: string | null = null;

/**
 * The vkmem project root (the folder of its package.json).
 * @throws Error when no package.json named "vkmem" is above this file.
 */
export function projectRoot(): string {
  if (root !== null) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, "utf8")) as { name?: string }).name === "vkmem") {
      root = dir;
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error(`projectRoot: no package.json named "vkmem" above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** Where the set-up step put the SPIR-V of `name` (e.g. "vma-sample.vert"). */
export function shaderPath(name: string): string {
  return path.join(projectRoot(), "build", "shaders", `${name}.spv`);
}

/**
 * Creates a VkShaderModule from `build/shaders/<name>.spv` and names it `name` for the validation layer.
 *
 * The caller owns the module and destroys it (vkDestroyShaderModule), usually right after creating the pipelines.
 * @throws Error when the file is missing (run `npm run setup`) or is not SPIR-V.
 * @throws VkError when vkCreateShaderModule fails.
 */
export function loadShaderModule(context: Context, name: string): NvkHandle {
  const file = shaderPath(name);
  if (!existsSync(file))
    throw new Error(`loadShaderModule: ${file} is missing; run 'npm run setup' to compile the shaders`);
  const bytes = readFileSync(file);
  if (bytes.length === 0 || bytes.length % 4 !== 0 || bytes.readUInt32LE(0) !== 0x07230203) {
    throw new Error(`loadShaderModule: ${file} is not SPIR-V (${bytes.length} bytes)`);
  }
  // nvk takes the code as bytes (it passes their address as pCode).
  const code = new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const info = new nvk.VkShaderModuleCreateInfo({ codeSize: code.byteLength, pCode: code });
  return createNamed(
    context,
    nvk.VkShaderModule,
    nvk.VK_OBJECT_TYPE_SHADER_MODULE,
    name,
    "vkCreateShaderModule",
    (out) => nvk.vkCreateShaderModule(context.device, info, null, out),
  );
}
