package io.reg4rec.train.optim;

/** A learning rate as a function of the (0-based) optimizer step. */
@FunctionalInterface
public interface LrSchedule {
    double lr(long step);

    /** A constant rate. */
    static LrSchedule constant(double lr) {
        return step -> lr;
    }

    /**
     * Linear warm-up from peak / warmupSteps to peak over the first warmupSteps steps, then a
     * cosine decay from peak to floor that reaches floor at totalSteps and stays there.
     */
    static LrSchedule warmupCosine(double peak, long warmupSteps, long totalSteps, double floor) {
        if (warmupSteps < 0 || totalSteps < warmupSteps || !(peak >= floor) || floor < 0) {
            throw new IllegalArgumentException("warmupCosine: needs 0 <= warmup <= total and peak >= floor >= 0, got warmup " + warmupSteps
                    + ", total " + totalSteps + ", peak " + peak + ", floor " + floor);
        }
        return step -> {
            if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
            long decaySteps = totalSteps - warmupSteps;
            if (decaySteps == 0 || step >= totalSteps) return floor;
            double progress = (double) (step - warmupSteps) / decaySteps;
            return floor + (peak - floor) * 0.5 * (1 + Math.cos(Math.PI * progress));
        };
    }
}
