package io.reg4rec.bench.gpu;

import io.reg4rec.engine.Attention;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.cuda.AttentionTuning;
import io.reg4rec.engine.cuda.CudaBackend;

import java.util.Locale;

/**
 * Device time of the fused attention kernels (median over CUDA-event-timed repetitions): forward,
 * and forward plus backward, in F32 and BF16, at the model's shapes (batch 1024, 4 heads, head dim
 * 32: encoder self-attention 50x50 with key padding, decoder self-attention 9x9 causal with
 * padding, cross-attention 9 queries over 50 padded keys), at a long shape (batch 16, 8 heads,
 * head dim 64, length 1024, causal and not, no padding), and decode (1 query over a 1024 cache).
 * The peer is bench/torch/attention_peer.py (same shapes, masks and JSON keys).
 *
 * <p>Prints one JSON object per measurement: bench (attention_fwd / attention_fwd_bwd), impl
 * (reg4rec), dtype, batch, heads, tq, tk, hd, causal, padded, median_ms, tflops. FLOPs count the
 * two forward matmuls (4 B H Tq Tk hd) and the backward's five (2.5 times that) over the visible
 * (query, key) pairs (about half with causal). Usage: {@code AttentionBench [--reps N] [--variants]}.
 *
 * <p>{@code --variants}: instead, the three model shapes (F32 and BF16, forward and forward plus
 * backward) under each {@link AttentionTuning#variants()} setting (the process default, set by the
 * -Dreg4rec.attention.* properties, first); each line gains "variant" (the setting's name), and
 * each forward line "max_abs_diff_out" / "max_abs_diff_lse": the largest |difference| of out and
 * logSumExp from the default setting's (also printed to stderr).
 */
public final class AttentionBench {
    private record Shape(String name, int batch, int heads, int tq, int tk, int hd, boolean causal, boolean padded) {}

    private static final Shape[] SHAPES = {
            new Shape("encoder_self", 1024, 4, 50, 50, 32, false, true),
            new Shape("decoder_self", 1024, 4, 9, 9, 32, true, true),
            new Shape("cross", 1024, 4, 9, 50, 32, false, true),
            new Shape("long", 16, 8, 1024, 1024, 64, false, false),
            new Shape("long_causal", 16, 8, 1024, 1024, 64, true, false),
            new Shape("decode", 16, 8, 1, 1024, 64, false, false),
    };

    private AttentionBench() {}

    public static void main(String[] args) {
        int reps = 30;
        boolean variants = false;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--reps")) reps = Math.max(5, Integer.parseInt(args[++i]));
            else if (args[i].equals("--variants")) variants = true;
            else {
                System.err.println("usage: AttentionBench [--reps N] [--variants]");
                System.exit(2);
            }
        }
        if (!Engine.cudaAvailable()) {
            System.err.println("AttentionBench: CUDA is not available: " + CudaBackend.unavailableReason());
            System.exit(1);
        }
        CudaBackend cuda = CudaBackend.device(0);
        System.err.println("AttentionBench on " + cuda);
        if (variants) {
            runVariants(cuda, reps);
            return;
        }
        for (Shape s : SHAPES) {
            for (DType t : new DType[]{DType.F32, DType.BF16}) {
                try (Scope scope = Scope.open()) {
                    run(cuda, s, t, reps);
                }
            }
        }
    }

    /** Visible (query, key) pairs per (batch, head): all, or with bottom-right causal masking. */
    private static double visiblePairs(Shape s) {
        if (!s.causal) return (double) s.tq * s.tk;
        double n = 0;
        for (int i = 0; i < s.tq; i++) n += Math.max(0, Math.min(s.tk, i + s.tk - s.tq + 1));
        return n;
    }

    private static void run(CudaBackend cuda, Shape s, DType t, int reps) {
        var gpu = cuda.device();
        Tensor q = Tensor.randn(gpu, t, 1, s.batch, s.heads, s.tq, s.hd);
        Tensor k = Tensor.randn(gpu, t, 2, s.batch, s.heads, s.tk, s.hd);
        Tensor v = Tensor.randn(gpu, t, 3, s.batch, s.heads, s.tk, s.hd);
        Tensor gradOut = Tensor.randn(gpu, t, 4, s.batch, s.heads, s.tq, s.hd);
        Tensor pad = s.padded ? padding(s.batch, s.tk).to(gpu) : null;
        double scale = 1 / Math.sqrt(s.hd);
        double fwdFlops = 4.0 * s.batch * s.heads * visiblePairs(s) * s.hd;

        double fwdMs = DeviceTimer.medianMs(cuda, 3, reps, () -> Attention.forward(q, k, v, pad, s.causal, scale).close());
        print("attention_fwd", s, t, fwdMs, fwdFlops);
        if (s.name.equals("decode")) return;  // decode serves inference: no backward measured
        double bothMs = DeviceTimer.medianMs(cuda, 3, reps, () -> {
            try (Attention.Result r = Attention.forward(q, k, v, pad, s.causal, scale);
                 Attention.Gradients g = Attention.backward(q, k, v, pad, s.causal, scale, r.out(), gradOut, r.logSumExp())) {
                // results are released at once; the caching allocator hands the blocks to the next repetition
            }
        });
        print("attention_fwd_bwd", s, t, bothMs, fwdFlops * 3.5);
    }

    /** The model shapes under every tuning variant, each variant's forward checked against the default's. */
    private static void runVariants(CudaBackend cuda, int reps) {
        java.util.List<AttentionTuning.Setting> settings = AttentionTuning.variants();
        AttentionTuning.Setting base = settings.get(0);
        var gpu = cuda.device();
        try {
            for (Shape s : SHAPES) {
                if (!(s.name.equals("encoder_self") || s.name.equals("cross") || s.name.equals("decoder_self"))) continue;
                for (DType t : new DType[]{DType.F32, DType.BF16}) {
                    try (Scope scope = Scope.open()) {
                        Tensor q = Tensor.randn(gpu, t, 1, s.batch, s.heads, s.tq, s.hd);
                        Tensor k = Tensor.randn(gpu, t, 2, s.batch, s.heads, s.tk, s.hd);
                        Tensor v = Tensor.randn(gpu, t, 3, s.batch, s.heads, s.tk, s.hd);
                        Tensor gradOut = Tensor.randn(gpu, t, 4, s.batch, s.heads, s.tq, s.hd);
                        Tensor pad = s.padded ? padding(s.batch, s.tk).to(gpu) : null;
                        double scale = 1 / Math.sqrt(s.hd);
                        double fwdFlops = 4.0 * s.batch * s.heads * visiblePairs(s) * s.hd;
                        AttentionTuning.set(base);
                        float[] baseOut, baseLse;
                        try (Attention.Result r = Attention.forward(q, k, v, pad, s.causal, scale)) {
                            baseOut = r.out().toFloatArray();
                            baseLse = r.logSumExp().toFloatArray();
                        }
                        for (AttentionTuning.Setting setting : settings) {
                            AttentionTuning.set(setting);
                            double diffOut, diffLse;
                            try (Attention.Result r = Attention.forward(q, k, v, pad, s.causal, scale)) {
                                diffOut = maxAbsDiff(baseOut, r.out().toFloatArray());
                                diffLse = maxAbsDiff(baseLse, r.logSumExp().toFloatArray());
                            }
                            System.err.printf(Locale.ROOT, "%s %s %s: max |out - default| %.3g, max |lse - default| %.3g%n",
                                    setting.name(), s.name, t, diffOut, diffLse);
                            double fwdMs = DeviceTimer.medianMs(cuda, 3, reps, () -> Attention.forward(q, k, v, pad, s.causal, scale).close());
                            printVariant("attention_fwd", s, t, fwdMs, fwdFlops, setting,
                                    String.format(Locale.ROOT, ",\"max_abs_diff_out\":%.6g,\"max_abs_diff_lse\":%.6g", diffOut, diffLse));
                            double bothMs = DeviceTimer.medianMs(cuda, 3, reps, () -> {
                                try (Attention.Result r = Attention.forward(q, k, v, pad, s.causal, scale);
                                     Attention.Gradients g = Attention.backward(q, k, v, pad, s.causal, scale, r.out(), gradOut, r.logSumExp())) {
                                    // released at once; the caching allocator hands the blocks to the next repetition
                                }
                            });
                            printVariant("attention_fwd_bwd", s, t, bothMs, fwdFlops * 3.5, setting, "");
                        }
                    }
                }
            }
        } finally {
            AttentionTuning.set(base);
        }
    }

    /** Largest |a - b| over finite pairs; infinite entries must match exactly (else infinity). */
    private static double maxAbsDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i] == b[i]) continue;
            double d = Math.abs((double) a[i] - b[i]);
            m = Math.max(m, Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
        }
        return m;
    }

    private static void printVariant(String bench, Shape s, DType t, double ms, double flops, AttentionTuning.Setting setting, String extra) {
        System.out.println(String.format(Locale.ROOT,
                "{\"bench\":\"%s\",\"impl\":\"reg4rec\",\"variant\":\"%s\",\"dtype\":\"%s\",\"shape\":\"%s\",\"batch\":%d,\"heads\":%d,\"tq\":%d,\"tk\":%d,\"hd\":%d,"
                        + "\"causal\":%b,\"padded\":%b,\"median_ms\":%.6f,\"tflops\":%.3f%s}",
                bench, setting.name(), t.name().toLowerCase(Locale.ROOT), s.name, s.batch, s.heads, s.tq, s.tk, s.hd, s.causal, s.padded,
                ms, flops / (ms * 1e-3) / 1e12, extra));
    }

    /** F32 [B, Tk] flags: the last (37 b) mod (Tk / 5 + 1) keys of batch row b are padding (the peer uses the same rule). */
    private static Tensor padding(int batch, int tk) {
        float[] f = new float[batch * tk];
        for (int b = 0; b < batch; b++) {
            int padded = (37 * b) % (tk / 5 + 1);
            for (int j = tk - padded; j < tk; j++) f[b * tk + j] = 1f;
        }
        return Tensor.of(io.reg4rec.engine.Device.CPU, f, batch, tk);
    }

    private static void print(String bench, Shape s, DType t, double ms, double flops) {
        System.out.println(String.format(Locale.ROOT,
                "{\"bench\":\"%s\",\"impl\":\"reg4rec\",\"dtype\":\"%s\",\"shape\":\"%s\",\"batch\":%d,\"heads\":%d,\"tq\":%d,\"tk\":%d,\"hd\":%d,"
                        + "\"causal\":%b,\"padded\":%b,\"median_ms\":%.6f,\"tflops\":%.3f}",
                bench, t.name().toLowerCase(Locale.ROOT), s.name, s.batch, s.heads, s.tq, s.tk, s.hd, s.causal, s.padded, ms, flops / (ms * 1e-3) / 1e12));
    }
}
