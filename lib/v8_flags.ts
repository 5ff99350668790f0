/**
 * The V8 flags Berth is started with, everywhere it is started: `deno task start` and `demo`,
 * `deno task compile` and the Dockerfile (which bake them into the binary), and the processes the
 * tests and benchmarks spawn. Without them V8 sizes its heap to the allocation rate, not to what
 * is live: at 10,000 resources about 30 MB is live and the heap grew to 160 MB. A young
 * generation of 2 × 4 MB and an old generation that grows 25% past what the last full GC kept
 * halve that, for somewhat more CPU spent in the GC (README, Performance).
 */
export const V8_FLAGS = ["--max-semi-space-size=4", "--heap-growing-percent=25"] as const;

/** {@link V8_FLAGS} as one `deno run` / `deno compile` argument. */
export const V8_FLAGS_ARG = `--v8-flags=${V8_FLAGS.join(",")}`;
