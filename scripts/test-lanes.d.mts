// Types of scripts/test-lanes.mjs for the tests that import it.
export declare const ASAN_LEFT_OUT: readonly (readonly [file: string, why: string])[];
export declare const WIN_LEFT_OUT: readonly (readonly [file: string, why: string])[];
export declare function fuzzArgs(seeds: number): string[];
export declare const FUZZ_SEEDS: number;
export declare const FUZZ_ARGS: readonly string[];
export declare const WIN_FUZZ_SEEDS: number;
export declare const LANE_ENV: { readonly VKMEM_TEST_LANE: string };
export declare function laneArgs(leftOut: readonly (readonly [string, string])[], args: string[]): string[];
