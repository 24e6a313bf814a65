package io.reg4rec.model.nn;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class DecoderCacheTest {
    /** Stepping one position at a time through the cache gives the full causal pass's outputs, with memory padding and re-selected rows. */
    @Test
    void cachedStepsReproduceTheFullDecoder() {
        int groups = 2, len = 4, tk = 5, d = 16;
        try (Scope s = Scope.open(); TransformerDecoder decoder = new TransformerDecoder(Device.CPU, new TransformerConfig(d, 4, 32, 0.0), 2, 9)) {
            decoder.eval();
            Variable memory = Variable.constant(Tensor.randn(Device.CPU, DType.F32, 1, groups, tk, d));
            Tensor padding = Tensor.of(Device.CPU, new float[]{0, 0, 0, 1, 1, 0, 0, 0, 0, 0}, groups, tk);
            Variable x = Variable.constant(Tensor.randn(Device.CPU, DType.F32, 2, groups, len, d));
            try (NoGrad ignored = NoGrad.enter()) {
                float[] full = decoder.forward(x, null, memory, padding).data().toFloatArray();
                float[] reversedFull;
                // group 0 decoded in two copies; the second copy of group 1's row swapped in at step 2
                try (DecoderCache cache = decoder.startCache(memory, padding)) {
                    for (int p = 0; p < len; p++) {
                        if (p == 2) {
                            cache.reorder(new int[]{0, 0, 1, 1}, 2);
                            assertThrows(IllegalArgumentException.class, () -> cache.reorder(new int[]{0, 2, 1, 3}, 2), "rows stay in their group");
                        }
                        int rowsPerGroup = cache.rowsPerGroup();
                        Variable step = x.slice(1, p, p + 1);
                        if (rowsPerGroup == 2) {
                            try (Tensor idx = Tensor.of(Device.CPU, new long[]{0, 0, 1, 1}, 4)) {
                                step = step.indexSelect(idx);
                            }
                        }
                        float[] out = decoder.step(step, cache).data().toFloatArray();
                        for (int row = 0; row < cache.rows(); row++) {
                            int g = row / rowsPerGroup;
                            for (int j = 0; j < d; j++) assertEquals(full[(g * len + p) * d + j], out[row * d + j], 1e-4, "group " + g + " position " + p);
                        }
                    }
                    assertEquals(len, cache.length());
                }
            }
        }
    }
}
