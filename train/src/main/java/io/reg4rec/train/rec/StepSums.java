package io.reg4rec.train.rec;

import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Running sums of the training steps' named scalars (loss parts, gradient norm), kept on the
 * device the scalars live on: adding a step is one launch per name and no host synchronisation;
 * {@link #read} copies the sums to the host (one synchronisation per name), which the training
 * loop does only every few seconds and at the end of an epoch.
 */
final class StepSums implements AutoCloseable {
    private final Map<String, Tensor> sums = new LinkedHashMap<>();

    /** Adds each named scalar (any shape of one element, any floating dtype) to its running sum. */
    void add(Map<String, Tensor> parts) {
        parts.forEach(this::add);
    }

    void add(String name, Tensor scalar) {
        if (scalar.numel() != 1) throw new IllegalArgumentException("StepSums: '" + name + "' must be a single value, got " + scalar.describe());
        Tensor sum = sums.get(name);
        if (sum == null) {
            sum = Tensor.zeros(scalar.device(), DType.F32).unscoped();
            sums.put(name, sum);
        }
        try (Tensor value = scalar.reshape()) {
            if (value.dtype() == DType.F32) {
                sum.backend().binary(BinaryOp.ADD, sum, value, sum);
            } else {
                try (Tensor f32 = value.to(DType.F32)) {
                    sum.backend().binary(BinaryOp.ADD, sum, f32, sum);
                }
            }
        }
    }

    /** The sums so far, on the host, in the order the names first arrived. */
    Map<String, Double> read() {
        Map<String, Double> out = new LinkedHashMap<>();
        sums.forEach((name, sum) -> out.put(name, sum.item()));
        return out;
    }

    @Override
    public void close() {
        sums.values().forEach(Tensor::close);
        sums.clear();
    }
}
