package io.reg4rec.engine;

/**
 * Counter-based random numbers: element i of a fill seeded with s is a pure function of (s, i),
 * so any thread, block or backend computes it without shared state. The CUDA kernels implement
 * the same integer mixing (kernels/src/main/cuda/random.cu).
 */
public final class CounterRng {
    private CounterRng() {}

    /** SplitMix64 finaliser of seed and counter. */
    public static long mix(long seed, long counter) {
        long z = seed + (counter + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform float in [0, 1) from the top 24 bits. */
    public static float uniform(long seed, long counter) {
        return (mix(seed, counter) >>> 40) * 0x1.0p-24f;
    }

    /** Standard normal by Box-Muller over the counter's two uniform draws (2i, 2i+1). */
    public static float normal(long seed, long counter) {
        float u1 = uniform(seed, 2 * counter);
        float u2 = uniform(seed, 2 * counter + 1);
        double r = Math.sqrt(-2.0 * Math.log(1.0 - u1));
        return (float) (r * Math.cos(2.0 * Math.PI * u2));
    }
}
