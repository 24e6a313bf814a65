package io.reg4rec.engine.cpu;

import io.reg4rec.engine.BinaryOp;
import io.reg4rec.engine.Bf16;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Fp8;
import io.reg4rec.engine.UnaryOp;

/**
 * Elementwise math on chunk buffers. Float dtypes compute in double: for + - * / and sqrt,
 * rounding the double result to fp32 gives exactly the fp32 result (53 >= 2 * 24 + 2 bits), and
 * the transcendental functions come out correctly rounded or nearly so.
 */
final class Elementwise {
    private Elementwise() {}

    static final double SQRT_2_OVER_PI = Math.sqrt(2.0 / Math.PI);
    static final double GELU_CUBIC = 0.044715;

    static void unary(UnaryOp op, double[] v, int n) {
        switch (op) {
            case NEG -> { for (int i = 0; i < n; i++) v[i] = -v[i]; }
            case ABS -> { for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]); }
            case EXP -> { for (int i = 0; i < n; i++) v[i] = Math.exp(v[i]); }
            case LOG -> { for (int i = 0; i < n; i++) v[i] = Math.log(v[i]); }
            case SQRT -> { for (int i = 0; i < n; i++) v[i] = Math.sqrt(v[i]); }
            case RSQRT -> { for (int i = 0; i < n; i++) v[i] = 1.0 / Math.sqrt(v[i]); }
            case RECIPROCAL -> { for (int i = 0; i < n; i++) v[i] = 1.0 / v[i]; }
            case TANH -> { for (int i = 0; i < n; i++) v[i] = Math.tanh(v[i]); }
            case SIGMOID -> { for (int i = 0; i < n; i++) v[i] = 1.0 / (1.0 + Math.exp(-v[i])); }
            case RELU -> { for (int i = 0; i < n; i++) v[i] = v[i] > 0 || v[i] != v[i] ? v[i] : 0.0; }
            case STEP -> { for (int i = 0; i < n; i++) v[i] = v[i] > 0 ? 1.0 : 0.0; }
            case GELU -> {
                for (int i = 0; i < n; i++) {
                    double x = v[i];
                    v[i] = 0.5 * x * (1.0 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)));
                }
            }
            case GELU_GRAD -> {
                for (int i = 0; i < n; i++) {
                    double x = v[i];
                    double t = Math.tanh(SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x));
                    v[i] = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * x * x);
                }
            }
        }
    }

    /** lhs = op(lhs, rhs) in double; comparisons give 1 or 0; MAX/MIN propagate NaN. */
    static void binary(BinaryOp op, double[] lhs, double[] rhs, int n) {
        switch (op) {
            case ADD -> { for (int i = 0; i < n; i++) lhs[i] += rhs[i]; }
            case SUB -> { for (int i = 0; i < n; i++) lhs[i] -= rhs[i]; }
            case MUL -> { for (int i = 0; i < n; i++) lhs[i] *= rhs[i]; }
            case DIV -> { for (int i = 0; i < n; i++) lhs[i] /= rhs[i]; }
            case MAX -> { for (int i = 0; i < n; i++) lhs[i] = Math.max(lhs[i], rhs[i]); }
            case MIN -> { for (int i = 0; i < n; i++) lhs[i] = Math.min(lhs[i], rhs[i]); }
            case POW -> { for (int i = 0; i < n; i++) lhs[i] = Math.pow(lhs[i], rhs[i]); }
            case EQ -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] == rhs[i] ? 1 : 0; }
            case NE -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] != rhs[i] ? 1 : 0; }
            case LT -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] < rhs[i] ? 1 : 0; }
            case LE -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] <= rhs[i] ? 1 : 0; }
            case GT -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] > rhs[i] ? 1 : 0; }
            case GE -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] >= rhs[i] ? 1 : 0; }
        }
    }

    /** lhs = op(lhs, rhs) in long; division truncates toward zero. */
    static void binaryLong(BinaryOp op, long[] lhs, long[] rhs, int n) {
        switch (op) {
            case ADD -> { for (int i = 0; i < n; i++) lhs[i] += rhs[i]; }
            case SUB -> { for (int i = 0; i < n; i++) lhs[i] -= rhs[i]; }
            case MUL -> { for (int i = 0; i < n; i++) lhs[i] *= rhs[i]; }
            case DIV -> {
                for (int i = 0; i < n; i++) {
                    if (rhs[i] == 0) throw new ArithmeticException("div: integer division by zero");
                    lhs[i] /= rhs[i];
                }
            }
            case MAX -> { for (int i = 0; i < n; i++) lhs[i] = Math.max(lhs[i], rhs[i]); }
            case MIN -> { for (int i = 0; i < n; i++) lhs[i] = Math.min(lhs[i], rhs[i]); }
            case POW -> throw new IllegalArgumentException("pow: needs floating tensors");
            case EQ -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] == rhs[i] ? 1 : 0; }
            case NE -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] != rhs[i] ? 1 : 0; }
            case LT -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] < rhs[i] ? 1 : 0; }
            case LE -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] <= rhs[i] ? 1 : 0; }
            case GT -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] > rhs[i] ? 1 : 0; }
            case GE -> { for (int i = 0; i < n; i++) lhs[i] = lhs[i] >= rhs[i] ? 1 : 0; }
        }
    }

    /** array[idx[i]] += values[i] in order, each add in the dtype's compute precision (fp32 or fp64). */
    static void accumulate(Object array, DType dtype, int[] idx, double[] values, int n) {
        switch (dtype) {
            case F64 -> { double[] a = (double[]) array; for (int i = 0; i < n; i++) a[idx[i]] += values[i]; }
            case F32 -> { float[] a = (float[]) array; for (int i = 0; i < n; i++) a[idx[i]] = (float) (a[idx[i]] + values[i]); }
            case BF16 -> {
                short[] a = (short[]) array;
                for (int i = 0; i < n; i++) a[idx[i]] = Bf16.fromFloat((float) (Bf16.toFloat(a[idx[i]]) + values[i]));
            }
            case F8E4M3, F8E5M2 -> {
                byte[] a = (byte[]) array;
                for (int i = 0; i < n; i++) a[idx[i]] = Fp8.fromFloat(dtype, (float) (Fp8.toFloat(dtype, a[idx[i]]) + values[i]));
            }
            default -> throw new IllegalArgumentException("accumulate: " + dtype + " is not a float type");
        }
    }
}
