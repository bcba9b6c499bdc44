// Types of discrete-memory.mjs (vitest.config.ts imports it).
export declare const LAYER_NAME: string;
export declare const LAYER_SOURCE: string;
export declare const LAYER_DIR: string;
export declare const LAYER_LIBRARY: string;
export declare const LAYER_MANIFEST: string;
export declare function manifestText(): string;
export declare function layerEnvironment(root: string): { VK_ADD_LAYER_PATH: string; VKMEM_TEST_LAYERS: string };
export declare function layerPending(root: string): string | null;
export declare function buildLayer(root: string): string | null;
