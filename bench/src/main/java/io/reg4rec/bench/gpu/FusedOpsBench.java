package io.reg4rec.bench.gpu;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Distribution;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.FusedOps;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.cuda.CudaBackend;

import java.util.Locale;
import java.util.SplittableRandom;

/**
 * GPU benchmark of the fused layer norm and softmax cross-entropy (device time with CUDA events,
 * median over the repetitions, see {@link DeviceTimer}). Prints one JSON object per measurement:
 * <pre>{"bench":"layernorm_fwd"|"layernorm_fwd_bwd"|"cross_entropy_fwd"|"cross_entropy_fwd_bwd",
 *  "impl":"fused"|"composed","dtype":"f32"|"bf16","rows":R,"cols":C,"median_ms":..,"gbps":..}</pre>
 * gbps counts the minimum traffic of the fused kernels (layer norm forward: read x, write out;
 * forward + backward: also read x and dy, write dx; cross-entropy forward: read the logits once;
 * forward + backward: read them twice, write the gradient once), so the fused and the PyTorch
 * figures (bench/torch/fused_peer.py, same keys) compare on one scale. "composed" is the former
 * layer norm built from elementwise and reduction ops through autograd, for the launch-count gap.
 *
 * <p>Usage: {@code FusedOpsBench [--reps 50]}.
 */
public final class FusedOpsBench {
    private static final int[][] LAYER_NORM_SHAPES = {{51200, 128}, {4096, 1024}};
    private static final int[][] CROSS_ENTROPY_SHAPES = {{2560, 300}, {12800, 300}, {256, 12102}};
    private static final double SMOOTHING = 0.1;

    private FusedOpsBench() {}

    private static void print(String bench, String impl, DType dtype, int rows, int cols, double ms, double bytes) {
        System.out.printf(Locale.ROOT, "{\"bench\":\"%s\",\"impl\":\"%s\",\"dtype\":\"%s\",\"rows\":%d,\"cols\":%d,\"median_ms\":%.6f,\"gbps\":%.1f}%n",
                bench, impl, dtype == DType.F32 ? "f32" : "bf16", rows, cols, ms, bytes / (ms * 1e-3) / 1e9);
    }

    public static void main(String[] args) {
        int reps = 50;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--reps")) reps = Math.max(10, Integer.parseInt(args[++i]));
            else {
                System.err.println("usage: FusedOpsBench [--reps N>=10]");
                System.exit(2);
            }
        }
        if (!Engine.cudaAvailable()) {
            System.err.println("FusedOpsBench: CUDA is not available: " + CudaBackend.unavailableReason());
            System.exit(1);
        }
        CudaBackend cuda = CudaBackend.device(0);
        Device gpu = Device.cuda(0);
        System.err.println("FusedOpsBench on " + cuda);
        for (DType dtype : new DType[]{DType.F32, DType.BF16}) {
            for (int[] shape : LAYER_NORM_SHAPES) layerNorm(cuda, gpu, dtype, shape[0], shape[1], reps);
            for (int[] shape : CROSS_ENTROPY_SHAPES) crossEntropy(cuda, gpu, dtype, shape[0], shape[1], reps);
        }
    }

    private static void layerNorm(CudaBackend cuda, Device gpu, DType dtype, int rows, int cols, int reps) {
        try (Scope scope = Scope.open()) {
            Tensor x = Tensor.random(gpu, dtype, Distribution.NORMAL, 1, 0, 1, rows, cols);
            Tensor dy = Tensor.random(gpu, dtype, Distribution.NORMAL, 2, 0, 1, rows, cols);
            Tensor gamma = Tensor.ones(gpu, dtype, cols), beta = Tensor.zeros(gpu, dtype, cols);
            double elements = (double) rows * cols * dtype.byteSize();
            double fwd = DeviceTimer.medianMs(cuda, 5, reps, () -> FusedOps.layerNorm(x, gamma, beta, 1e-5).close());
            print("layernorm_fwd", "fused", dtype, rows, cols, fwd, 2 * elements);
            double both = DeviceTimer.medianMs(cuda, 5, reps, () -> {
                try (FusedOps.LayerNormResult r = FusedOps.layerNorm(x, gamma, beta, 1e-5)) {
                    FusedOps.LayerNormGrads g = FusedOps.layerNormBackward(x, gamma, r.mean(), r.rstd(), dy, true, true);
                    g.gradX().close();
                    g.gradGamma().close();
                    g.gradBeta().close();
                }
            });
            print("layernorm_fwd_bwd", "fused", dtype, rows, cols, both, 5 * elements);
            if (dtype == DType.F32) {
                Variable gv = Variable.input(gamma, "gamma"), bv = Variable.input(beta, "beta");
                double composed = DeviceTimer.medianMs(cuda, 3, reps, () -> {
                    try (Scope step = Scope.open()) {
                        Variable xv = Variable.input(x, "x");
                        Variable centred = xv.sub(xv.mean(-1, true));
                        Variable y = centred.mul(centred.square().mean(-1, true).add(1e-5).rsqrt()).mul(gv).add(bv);
                        y.backward(dy);
                        xv.zeroGrad();
                        gv.zeroGrad();
                        bv.zeroGrad();
                    }
                });
                print("layernorm_fwd_bwd", "composed", dtype, rows, cols, composed, 5 * elements);
            }
        }
    }

    private static void crossEntropy(CudaBackend cuda, Device gpu, DType dtype, int rows, int classes, int reps) {
        try (Scope scope = Scope.open()) {
            Tensor logits = Tensor.random(gpu, dtype, Distribution.NORMAL, 3, 0, 2, rows, classes);
            SplittableRandom random = new SplittableRandom(4);
            long[] t = new long[rows];
            for (int i = 0; i < rows; i++) t[i] = i % 10 == 9 ? -100 : random.nextInt(classes);
            Tensor targets = Tensor.of(gpu, t, rows);
            Tensor gradLosses = Tensor.full(gpu, DType.F32, 1.0 / rows, rows);
            double bytes = (double) rows * classes * dtype.byteSize();
            double fwd = DeviceTimer.medianMs(cuda, 5, reps, () -> FusedOps.crossEntropy(logits, targets, -100, SMOOTHING).close());
            print("cross_entropy_fwd", "fused", dtype, rows, classes, fwd, bytes);
            double both = DeviceTimer.medianMs(cuda, 5, reps, () -> {
                try (FusedOps.CrossEntropyResult r = FusedOps.crossEntropy(logits, targets, -100, SMOOTHING)) {
                    FusedOps.crossEntropyBackward(logits, targets, r.logSumExp(), gradLosses, -100, SMOOTHING).close();
                }
            });
            print("cross_entropy_fwd_bwd", "fused", dtype, rows, classes, both, 3 * bytes);
        }
    }
}
