package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;
import org.junit.jupiter.api.Test;

import static io.reg4rec.engine.cpu.CpuTestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The CPU references of matmulScaled and matmulEpilogue against plain triple loops in double
 * over the decoded inputs. matmulScaled multiplies in F64 and rounds once, so it must equal the
 * loop's double result rounded to out's dtype up to F64 summation order (1e-12 relative to the
 * magnitude sum); matmulEpilogue accumulates in fp32 and runs its epilogue in fp32 tensors:
 * within (K + 4) 2^-23 of the magnitude sum plus out's rounding (2^-8 relative for bf16).
 */
class CpuFusedGemmTest {
    private static final Backend CPU_BACKEND = Engine.backend(Device.CPU);

    /** op(x)(r, c) of a stored [batch, rows, cols] operand as doubles. */
    private static double at(double[] x, int[] shape, int batch, boolean t, int r, int c) {
        int b = shape[0] == 1 ? 0 : batch;
        int row = t ? c : r, col = t ? r : c;
        return x[(b * shape[1] + row) * shape[2] + col];
    }

    private static double gelu(double x) {
        return 0.5 * x * (1.0 + Math.tanh(Math.sqrt(2.0 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    @Test
    void scaledMatchesTheDecodedProduct() {
        int batch = 2, m = 5, n = 7, k = 19;
        DType[][] pairs = {{DType.F8E4M3, DType.F8E4M3}, {DType.F8E5M2, DType.F8E4M3}, {DType.F8E4M3, DType.F8E5M2}};
        for (DType[] pair : pairs) {
            for (int variant = 0; variant < 4; variant++) {
                boolean ta = (variant & 1) != 0, tb = (variant & 2) != 0;
                try (Tensor a = ta ? random(pair[0], 1, -3, 3, batch, k, m) : random(pair[0], 1, -3, 3, batch, m, k);
                     Tensor b = tb ? random(pair[1], 2, -3, 3, 1, n, k) : random(pair[1], 2, -3, 3, 1, k, n);
                     Tensor sa = Tensor.full(Device.CPU, DType.F32, 0.75, 1); Tensor sb = Tensor.full(Device.CPU, DType.F32, -2, 1);
                     Tensor out = Tensor.empty(Device.CPU, DType.F32, batch, m, n)) {
                    CPU_BACKEND.matmulScaled(a, ta, b, tb, sa, sb, out);
                    double[] av = values(a), bv = values(b), got = values(out);
                    for (int bi = 0; bi < batch; bi++) {
                        for (int i = 0; i < m; i++) {
                            for (int j = 0; j < n; j++) {
                                double sum = 0, mag = 0;
                                for (int p = 0; p < k; p++) {
                                    double x = at(av, a.shape(), bi, ta, i, p) * at(bv, b.shape(), bi, tb, p, j);
                                    sum += x;
                                    mag += Math.abs(x);
                                }
                                double expected = (float) (sum * 0.75 * -2);
                                double g = got[(bi * m + i) * n + j];
                                assertEquals(expected, g, Math.ulp((float) expected) + 1e-12 * mag * 1.5,
                                        pair[0] + " x " + pair[1] + " variant " + variant + " at " + bi + "," + i + "," + j);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void epilogueMatchesTheLoop() {
        int batch = 3, m = 6, n = 9, k = 33;
        for (DType outType : new DType[]{DType.F32, DType.BF16}) {
            for (boolean gelu : new boolean[]{false, true}) {
                for (int variant = 0; variant < 4; variant++) {
                    boolean ta = (variant & 1) != 0, tb = (variant & 2) != 0;
                    try (Tensor a = ta ? random(DType.BF16, 3, -1, 1, batch, k, m) : random(DType.BF16, 3, -1, 1, batch, m, k);
                         Tensor b = tb ? random(DType.BF16, 4, -1, 1, batch, n, k) : random(DType.BF16, 4, -1, 1, batch, k, n);
                         Tensor bias = random(DType.BF16, 5, -1, 1, n); Tensor res = random(DType.F32, 6, -1, 1, 1, m, n);
                         Tensor out = Tensor.empty(Device.CPU, outType, batch, m, n)) {
                        CPU_BACKEND.matmulEpilogue(a, ta, b, tb, bias, gelu, res, out);
                        double[] av = values(a), bv = values(b), biasV = values(bias), rv = values(res), got = values(out);
                        for (int bi = 0; bi < batch; bi++) {
                            for (int i = 0; i < m; i++) {
                                for (int j = 0; j < n; j++) {
                                    double sum = 0, mag = 0;
                                    for (int p = 0; p < k; p++) {
                                        double x = at(av, a.shape(), bi, ta, i, p) * at(bv, b.shape(), bi, tb, p, j);
                                        sum += x;
                                        mag += Math.abs(x);
                                    }
                                    double v = sum + biasV[j];
                                    if (gelu) v = gelu(v);
                                    v += rv[i * n + j];
                                    double tol = (k + 4) * Math.scalb(mag + 2, -23) + (outType == DType.BF16 ? Math.scalb(Math.abs(v), -8) : 1e-6);
                                    assertEquals(v, got[(bi * m + i) * n + j], tol,
                                            outType + " gelu " + gelu + " variant " + variant + " at " + bi + "," + i + "," + j);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void noEpilogueIsThePlainProduct() {
        try (Tensor a = random(DType.BF16, 7, -1, 1, 1, 4, 8); Tensor b = random(DType.BF16, 8, -1, 1, 1, 8, 3);
             Tensor out = Tensor.empty(Device.CPU, DType.F32, 1, 4, 3); Tensor plain = Tensor.empty(Device.CPU, DType.F32, 1, 4, 3)) {
            CPU_BACKEND.matmulEpilogue(a, false, b, false, null, false, null, out);
            CPU_BACKEND.matmul(a, false, b, false, plain);
            assertArrayEquals(plain.toFloatArray(), out.toFloatArray());
        }
    }

    @Test
    void rejectsWhatTheContractForbids() {
        try (Tensor e5 = random(DType.F8E5M2, 1, -1, 1, 1, 4, 8); Tensor e4 = random(DType.F8E4M3, 1, -1, 1, 1, 4, 8);
             Tensor s = Tensor.full(Device.CPU, DType.F32, 1, 1); Tensor s64 = Tensor.full(Device.CPU, DType.F64, 1, 1);
             Tensor out = Tensor.empty(Device.CPU, DType.F32, 1, 4, 4); Tensor out8 = Tensor.empty(Device.CPU, DType.F8E4M3, 1, 4, 4);
             Tensor bf = random(DType.BF16, 1, -1, 1, 1, 4, 8); Tensor res = Tensor.zeros(Device.CPU, DType.F32, 2, 4, 4)) {
            assertMessage("at most one operand may be F8E5M2", () -> CPU_BACKEND.matmulScaled(e5, false, e5, true, s, s, out));
            assertMessage("scales must be one-element F32", () -> CPU_BACKEND.matmulScaled(e4, false, e5, true, s64, s, out));
            assertMessage("out must be BF16 or F32", () -> CPU_BACKEND.matmulScaled(e4, false, e4, true, s, s, out8));
            assertMessage("operands must be F8E4M3 or F8E5M2", () -> CPU_BACKEND.matmulScaled(bf, false, bf, true, s, s, out));
            assertMessage("shapes do not match", () -> CPU_BACKEND.matmulScaled(e4, false, e4, false, s, s, out));
            assertMessage("residual must have shape [1 or 1, 4, 4]", () -> CPU_BACKEND.matmulEpilogue(bf, false, bf, true, null, false, res, out));
            assertMessage("operands must be BF16", () -> CPU_BACKEND.matmulEpilogue(e4, false, e4, true, null, false, null, out));
        }
    }

    private static void assertMessage(String part, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }
}
