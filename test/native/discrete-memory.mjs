// The test layer VK_LAYER_VKMEM_discrete_memory (discrete_memory_layer.cpp beside this file): where it is built, its
// manifest, and the environment that puts it under the suite's GPU tests. scripts/setup.mjs builds it (Linux, g++)
// and vitest.config.ts runs test/memory and test/resources a second time with it, as the project `discrete-memory`.
// For the repository only: nothing under engine/ knows of it and the package does not ship it.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const LAYER_NAME = "VK_LAYER_VKMEM_discrete_memory";
export const LAYER_SOURCE = "test/native/discrete_memory_layer.cpp";
export const LAYER_DIR = "build/test";
export const LAYER_LIBRARY = `${LAYER_DIR}/libVkLayer_vkmem_discrete_memory.so`;
export const LAYER_MANIFEST = `${LAYER_DIR}/VkLayer_vkmem_discrete_memory.json`;

/** The manifest the loader reads; the library path is relative to the manifest's folder. */
export function manifestText() {
  const manifest = {
    file_format_version: "1.1.2",
    layer: {
      name: LAYER_NAME,
      type: "GLOBAL",
      library_path: `./${path.basename(LAYER_LIBRARY)}`,
      api_version: "1.3.0",
      implementation_version: "1",
      description: "vkmem's tests: a discrete GPU's memory heaps and types over the device beneath",
      functions: {
        vkGetInstanceProcAddr: "vkmemDiscreteMemory_GetInstanceProcAddr",
        vkGetDeviceProcAddr: "vkmemDiscreteMemory_GetDeviceProcAddr",
      },
    },
  };
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/** The environment a process needs for fixture contexts (test/helpers/gpu.ts) to enable the layer. */
export function layerEnvironment(root) {
  return { VK_ADD_LAYER_PATH: path.join(root, LAYER_DIR), VKMEM_TEST_LAYERS: LAYER_NAME };
}

/** Why the layer must be (re)built, or null when it is current. */
export function layerPending(root) {
  const mtime = (p) => {
    try {
      return fs.statSync(path.join(root, p)).mtimeMs;
    } catch {
      return -1;
    }
  };
  if (mtime(LAYER_LIBRARY) < 0 || mtime(LAYER_MANIFEST) < 0) return `${LAYER_LIBRARY} is missing`;
  if (mtime(LAYER_SOURCE) > mtime(LAYER_LIBRARY)) return `${LAYER_LIBRARY} is older than ${LAYER_SOURCE}`;
  return null;
}

/** Builds the layer and writes its manifest; returns an error text, or null. */
export function buildLayer(root) {
  fs.mkdirSync(path.join(root, LAYER_DIR), { recursive: true });
  const tmp = `${LAYER_LIBRARY}.tmp`;
  const r = spawnSync(
    "g++",
    ["-std=c++17", "-O1", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-Werror", LAYER_SOURCE, "-o", tmp],
    { cwd: root, encoding: "utf8" },
  );
  if (r.error || r.status !== 0) {
    fs.rmSync(path.join(root, tmp), { force: true });
    return r.error ? `g++: ${r.error.message}` : `g++ exited with ${r.status}:\n${r.stderr}`;
  }
  fs.renameSync(path.join(root, tmp), path.join(root, LAYER_LIBRARY));
  fs.writeFileSync(path.join(root, LAYER_MANIFEST), manifestText());
  return null;
}
