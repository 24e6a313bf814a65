package io.reg4rec.bench.gpu;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Distribution;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.engine.cuda.CudaBackend;

import java.util.Locale;

/**
 * GPU benchmark of the row-wise top-k (topk.cu; device time with CUDA events, median over the
 * repetitions, see {@link DeviceTimer}) on the beam-search shapes (rows = users x beam, n =
 * M x D = 2,400 log-probabilities) and the SASRec evaluation shapes (256 users, 12,000-20,000
 * item scores). Prints one JSON object per measurement:
 * <pre>{"bench":"topk","impl":"own","dtype":"f32"|"bf16","rows":R,"cols":N,"k":K,"median_ms":..,"gbps":..}</pre>
 * gbps counts one read of the input (rows x cols elements), the same scale as the PyTorch peer
 * (bench/torch/topk_peer.py, torch.topk on the same shapes, same keys with "impl":"torch").
 *
 * <p>Usage: {@code TopKBench [--reps 50]}.
 */
public final class TopKBench {
    /** {rows, cols, k}. */
    static final int[][] SHAPES = {{256, 2400, 20}, {1280, 2400, 40}, {5120, 2400, 64}, {10000, 2400, 20},
            {256, 12000, 10}, {256, 12000, 100}, {256, 20000, 10}, {256, 20000, 100}};

    private TopKBench() {}

    public static void main(String[] args) {
        int reps = 50;
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--reps")) reps = Math.max(10, Integer.parseInt(args[++i]));
            else {
                System.err.println("usage: TopKBench [--reps N>=10]");
                System.exit(2);
            }
        }
        if (!Engine.cudaAvailable()) {
            System.err.println("TopKBench: CUDA is not available: " + CudaBackend.unavailableReason());
            System.exit(1);
        }
        CudaBackend cuda = CudaBackend.device(0);
        Device gpu = Device.cuda(0);
        System.err.println("TopKBench on " + cuda);
        for (DType dtype : new DType[]{DType.F32, DType.BF16}) {
            for (int[] s : SHAPES) {
                int rows = s[0], cols = s[1], k = s[2];
                try (Scope scope = Scope.open()) {
                    // log-probability-like scores: a normal spread shifted below zero
                    Tensor x = Tensor.random(gpu, dtype, Distribution.NORMAL, 7, -8, 2, rows, cols);
                    double ms = DeviceTimer.medianMs(cuda, 5, reps, () -> x.topk(k).close());
                    double bytes = (double) rows * cols * dtype.byteSize();
                    System.out.printf(Locale.ROOT, "{\"bench\":\"topk\",\"impl\":\"own\",\"dtype\":\"%s\",\"rows\":%d,\"cols\":%d,\"k\":%d,\"median_ms\":%.6f,\"gbps\":%.1f}%n",
                            dtype == DType.F32 ? "f32" : "bf16", rows, cols, k, ms, bytes / (ms * 1e-3) / 1e9);
                }
            }
        }
    }
}
