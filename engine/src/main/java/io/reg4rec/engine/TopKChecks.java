package io.reg4rec.engine;

import java.util.Arrays;

/**
 * Argument checks of {@link Backend#topk}, shared by the backends (which are also called
 * directly, e.g. by decoders that keep the outputs in preallocated tensors).
 */
public final class TopKChecks {
    /** The largest k: the CUDA kernel sorts the survivors in one shared-memory bitonic network of up to this size. */
    public static final int MAX_K = 1024;

    private TopKChecks() {}

    /**
     * Throws unless x is a live contiguous [rows, n] F32 / BF16 tensor (F64 too when
     * {@code f64Allowed}) on device, 1 <= k <= min(n, {@link #MAX_K}), values a contiguous
     * [rows, k] tensor of x's dtype and indices a contiguous [rows, k] I32 tensor, both on device.
     */
    public static void check(String op, Device device, boolean f64Allowed, Tensor x, int k, Tensor values, Tensor indices) {
        if (x == null || values == null || indices == null) throw new IllegalArgumentException(op + ": x, values and indices must not be null");
        for (Tensor t : new Tensor[]{x, values, indices}) {
            if (t.isClosed()) throw new IllegalStateException(op + ": tensor " + Arrays.toString(t.shape()) + " " + t.dtype() + " used after release");
            if (!t.device().equals(device)) throw new IllegalArgumentException(op + ": tensor " + t.describe() + " is on " + t.device() + ", not " + device);
        }
        DType dt = x.dtype();
        if (dt != DType.F32 && dt != DType.BF16 && !(f64Allowed && dt == DType.F64)) {
            throw new IllegalArgumentException(op + ": x must be F32 or BF16" + (f64Allowed ? " or F64" : "") + ", got " + x.describe());
        }
        if (x.rank() != 2 || !x.isContiguous()) throw new IllegalArgumentException(op + ": x must be a contiguous [rows, n] tensor, got " + x.describe());
        int rows = x.size(0), n = x.size(1);
        if (k < 1 || k > n || k > MAX_K) {
            throw new IllegalArgumentException(op + ": k = " + k + " must be in [1, min(n, " + MAX_K + ")] for x " + x.describe());
        }
        if (values.dtype() != dt || values.rank() != 2 || values.size(0) != rows || values.size(1) != k || !values.isContiguous()) {
            throw new IllegalArgumentException(op + ": values must be a contiguous [" + rows + ", " + k + "] " + dt + " tensor, got " + values.describe());
        }
        if (indices.dtype() != DType.I32 || indices.rank() != 2 || indices.size(0) != rows || indices.size(1) != k || !indices.isContiguous()) {
            throw new IllegalArgumentException(op + ": indices must be a contiguous [" + rows + ", " + k + "] I32 tensor, got " + indices.describe());
        }
    }
}
