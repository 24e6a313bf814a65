package io.reg4rec.engine.cpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.FusedBiasGelu;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.UnaryOp;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The fused bias + GELU reference equals the composed ops it replaces (add, gelu; gelu', multiply) bit for bit in F32. */
class CpuBiasGeluTest {
    private static Tensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[(int) io.reg4rec.engine.Shapes.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextDouble() * 8 - 4);
        return Tensor.of(Device.CPU, v, shape);
    }

    @Test
    void equalsTheComposedOps() {
        try (Scope scope = Scope.open()) {
            Tensor x = random(1, 3, 7, 33), b = random(2, 33), g = random(3, 3, 7, 33);
            Tensor t = x.add(b);
            assertArrayEquals(t.gelu().toFloatArray(), FusedBiasGelu.forward(x, b).toFloatArray());
            assertArrayEquals(g.mul(t.unary(UnaryOp.GELU_GRAD)).toFloatArray(), FusedBiasGelu.backward(x, b, g).toFloatArray());
            assertArrayEquals(x.gelu().toFloatArray(), FusedBiasGelu.forward(x.transpose(0, 1), null).transpose(0, 1).contiguous().toFloatArray());
        }
    }

    @Test
    void rejectsABiasOfTheWrongSize() {
        try (Scope scope = Scope.open()) {
            Tensor x = random(1, 4, 5);
            assertThrows(IllegalArgumentException.class, () -> FusedBiasGelu.forward(x, random(2, 4)));
            assertThrows(IllegalArgumentException.class, () -> FusedBiasGelu.backward(x, null, random(3, 5, 4)));
            assertThrows(IllegalArgumentException.class, () -> FusedBiasGelu.forward(x, random(2, 5).to(DType.F64)));
        }
    }
}
