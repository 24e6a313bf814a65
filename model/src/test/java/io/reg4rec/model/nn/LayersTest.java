package io.reg4rec.model.nn;

import io.reg4rec.autograd.GradCheck;
import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class LayersTest {
    private static Variable randn(long seed, int... shape) {
        return Variable.constant(Tensor.randn(Device.CPU, DType.F32, seed, shape));
    }

    /** x [b, t, d] with positions [from, to) replaced by fresh random values. */
    private static Variable replacePositions(Variable x, int from, int to, long seed) {
        int b = x.size(0), t = x.size(1), d = x.size(2);
        float[] v = x.data().toFloatArray();
        float[] fresh = Tensor.randn(Device.CPU, DType.F32, seed, b * t * d).toFloatArray();
        for (int i = 0; i < b; i++) for (int p = from; p < to; p++) for (int j = 0; j < d; j++) v[(i * t + p) * d + j] = fresh[(i * t + p) * d + j];
        return Variable.constant(Tensor.of(Device.CPU, v, b, t, d));
    }

    @Test
    void linearComputesXWTransposePlusBias() {
        try (Scope s = Scope.open(); Linear linear = new Linear(Device.CPU, 3, 2, true, 5)) {
            Variable x = randn(1, 2, 4, 3);
            float[] y = linear.forward(x).data().toFloatArray();
            float[] xs = x.data().toFloatArray(), w = linear.weight().data().toFloatArray(), b = linear.bias().data().toFloatArray();
            for (int r = 0; r < 8; r++) {
                for (int o = 0; o < 2; o++) {
                    double expected = b[o];
                    for (int i = 0; i < 3; i++) expected += xs[r * 3 + i] * w[o * 3 + i];
                    assertEquals(expected, y[r * 2 + o], 1e-5);
                }
            }
            assertArrayEquals(new int[]{2, 4, 2}, linear.forward(x).shape());
        }
    }

    @Test
    void linearWithoutBiasHasOnlyAWeight() {
        try (Linear linear = new Linear(Device.CPU, 3, 2, false, 5)) {
            assertNull(linear.bias());
            assertEquals(1, linear.namedParameters().size());
        }
    }

    @Test
    void embeddingGathersRowsAndScatterAddsGradients() {
        try (Scope s = Scope.open(); Embedding emb = new Embedding(Device.CPU, 5, 3, 1.0, 2)) {
            Tensor idx = Tensor.of(Device.CPU, new long[]{4, 1, 4, 0}, 2, 2);
            Variable out = emb.forward(idx);
            assertArrayEquals(new int[]{2, 2, 3}, out.shape());
            float[] w = emb.weight().data().toFloatArray(), o = out.data().toFloatArray();
            for (int j = 0; j < 3; j++) assertEquals(w[4 * 3 + j], o[j]);
            out.sumAll().backward();
            float[] g = emb.weight().grad().toFloatArray();
            float[] expectedRowCounts = {1, 1, 0, 0, 2};
            for (int r = 0; r < 5; r++) for (int j = 0; j < 3; j++) assertEquals(expectedRowCounts[r], g[r * 3 + j]);
            emb.zeroGrad();
        }
    }

    @Test
    void layerNormNormalisesTheLastDimension() {
        try (Scope s = Scope.open(); LayerNorm norm = new LayerNorm(Device.CPU, 16, 1e-5)) {
            Variable x = randn(3, 4, 16);
            float[] y = norm.forward(x.mul(3).add(2)).data().toFloatArray();
            for (int r = 0; r < 4; r++) {
                double mean = 0, sq = 0;
                for (int j = 0; j < 16; j++) mean += y[r * 16 + j];
                mean /= 16;
                for (int j = 0; j < 16; j++) sq += (y[r * 16 + j] - mean) * (y[r * 16 + j] - mean);
                assertEquals(0, mean, 1e-5);
                assertEquals(1, sq / 16, 1e-3);
            }
        }
    }

    @Test
    void layerNormGradientChecks() {
        try (Scope s = Scope.open(); LayerNorm norm = new LayerNorm(Device.CPU, DType.F64, 6, 1e-5)) {
            GradCheck.of(v -> norm.forward(v[0])).input("x", Tensor.randn(Device.CPU, DType.F64, 4, 3, 6)).run().assertBelow(1e-6);
            norm.zeroGrad();
        }
    }

    @Test
    void dropoutIsSeededPerCallAndIdentityInEval() {
        try (Scope s = Scope.open()) {
            Variable x = Variable.constant(Tensor.ones(Device.CPU, DType.F32, 10000));
            Dropout a = new Dropout(0.25, 77), b = new Dropout(0.25, 77);
            float[] first = a.forward(x).data().toFloatArray();
            assertArrayEquals(first, b.forward(x).data().toFloatArray(), "same seed, same call number: same mask");
            assertFalse(java.util.Arrays.equals(first, a.forward(x).data().toFloatArray()), "the next call draws a new mask");
            int kept = 0;
            for (float v : first) {
                if (v != 0) {
                    kept++;
                    assertEquals(1 / 0.75, v, 1e-6);
                }
            }
            assertEquals(0.75, kept / 10000.0, 0.02);
            a.eval();
            assertSame(x, a.forward(x));
            a.setCalls(0);
            a.train();
            assertArrayEquals(first, a.forward(x).data().toFloatArray(), "resetting the counter replays the masks");
        }
    }

    @Test
    void causalAttentionIgnoresFutureTokens() {
        try (Scope s = Scope.open(); MultiHeadAttention attn = new MultiHeadAttention(Device.CPU, 8, 2, 0.0, 4);
             NoGrad ignored = NoGrad.enter()) {
            Variable x = randn(5, 2, 5, 8);
            float[] base = attn.selfAttention(x, null, true).data().toFloatArray();
            // change only the last position: outputs at positions 0..3 stay the same
            Variable changed = replacePositions(x, 4, 5, 99);
            float[] after = attn.selfAttention(changed, null, true).data().toFloatArray();
            for (int b = 0; b < 2; b++) {
                for (int t = 0; t < 5; t++) {
                    for (int j = 0; j < 8; j++) {
                        int i = (b * 5 + t) * 8 + j;
                        if (t < 4) assertEquals(base[i], after[i], 1e-6);
                    }
                }
            }
            assertNotEquals(base[4 * 8], after[4 * 8]);
        }
    }

    @Test
    void keyPaddingHidesPaddedKeysAndFullyMaskedRowsStayFinite() {
        try (Scope s = Scope.open(); MultiHeadAttention attn = new MultiHeadAttention(Device.CPU, 8, 2, 0.0, 4);
             NoGrad ignored = NoGrad.enter()) {
            Variable q = randn(5, 2, 3, 8);
            Variable memory = randn(6, 2, 4, 8);
            Tensor padding = Tensor.of(Device.CPU, new long[]{0, 0, 1, 1, 0, 0, 0, 1}, 2, 4);
            float[] base = attn.crossAttention(q, memory, padding).data().toFloatArray();
            Variable changed = replacePositions(memory, 3, 4, 98);   // position 3 is padding in both rows
            assertArrayEquals(base, attn.crossAttention(q, changed, padding).data().toFloatArray(), 1e-6f);
            Tensor allPadded = Tensor.ones(Device.CPU, DType.I64, 2, 4);
            for (float v : attn.crossAttention(q, memory, allPadded).data().toFloatArray()) assertTrue(Float.isFinite(v));
        }
    }

    @Test
    void attentionGradientChecksWithMasks() {
        try (Scope s = Scope.open(); MultiHeadAttention attn = new MultiHeadAttention(Device.CPU, DType.F64, 4, 2, 0.0, 4)) {
            Tensor padding = Tensor.of(Device.CPU, new long[]{0, 0, 1, 0, 0, 0}, 2, 3);
            GradCheck.of(v -> attn.forward(v[0], v[1], padding, true))
                    .input("query", Tensor.randn(Device.CPU, DType.F64, 1, 2, 3, 4))
                    .input("keys", Tensor.randn(Device.CPU, DType.F64, 2, 2, 3, 4))
                    .run().assertBelow(1e-6);
            attn.zeroGrad();
        }
    }

    @Test
    void transformerForwardShapesAndBackwardReachEveryParameter() {
        TransformerConfig config = new TransformerConfig(8, 2, 16, 0.1);
        try (Scope s = Scope.open(); EncoderDecoderTransformer model = new EncoderDecoderTransformer(Device.CPU, config, 11, 7, 5, 4, 1, 2, 3)) {
            Tensor source = Tensor.of(Device.CPU, new long[]{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 2, 5, 2);
            Tensor sourcePadding = Tensor.of(Device.CPU, new long[]{0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, 2, 5);
            Tensor target = Tensor.of(Device.CPU, new long[]{0, 1, 2, 3, 0, 4, 5, 6}, 2, 4);
            Variable logits = model.forward(source, sourcePadding, target, null);
            assertArrayEquals(new int[]{2, 4, 7}, logits.shape());
            CrossEntropy.loss(logits, target).backward();
            model.namedParameters().forEach((name, p) -> assertNotNull(p.grad(), "no gradient reached " + name));
            model.zeroGrad();
        }
    }
}
