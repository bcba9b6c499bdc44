/** The tests' seeded PRNGs: they live in bench/random.ts, which the stress runs under bench/gpu/ share. */
export { mulberry, random, rng } from "../../bench/random.js";
