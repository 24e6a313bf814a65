package io.reg4rec.engine;

/**
 * Random fills. Both backends draw element i from the same counter-based generator
 * ({@link CounterRng}), so a seeded fill gives the same numbers on CPU and CUDA.
 */
public enum Distribution {
    /** Uniform on [a, b). */
    UNIFORM,
    /** Normal with mean a and standard deviation b. */
    NORMAL
}
