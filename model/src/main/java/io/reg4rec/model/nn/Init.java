package io.reg4rec.model.nn;

import io.reg4rec.engine.CounterRng;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Distribution;
import io.reg4rec.engine.Tensor;

/**
 * Seeded parameter initialisers. Every draw comes from the engine's counter-based generator, so
 * a seed gives the same values on every backend; {@link #childSeed} derives independent seeds for
 * the members of a composite module.
 */
public final class Init {
    private Init() {}

    /** Uniform on [-bound, bound). */
    public static Tensor uniform(Device device, DType dtype, long seed, double bound, int... shape) {
        return Tensor.random(device, dtype, Distribution.UNIFORM, seed, -bound, bound, shape);
    }

    /** Normal with mean 0 and standard deviation std. */
    public static Tensor normal(Device device, DType dtype, long seed, double std, int... shape) {
        return Tensor.random(device, dtype, Distribution.NORMAL, seed, 0.0, std, shape);
    }

    /** A seed for member {@code index} of a module seeded with {@code seed}. */
    public static long childSeed(long seed, long index) {
        return CounterRng.mix(seed, index);
    }
}
