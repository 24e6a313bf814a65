package io.reg4rec.engine.cuda;

import io.reg4rec.engine.Backend;

/** Placeholder until the CUDA backend lands: reports CUDA as unavailable. */
public final class CudaBackend {
    private CudaBackend() {}

    public static boolean isAvailable() { return false; }

    public static String unavailableReason() { return "the CUDA backend is not built yet"; }

    public static Backend get(int index) {
        throw new IllegalStateException("CUDA device " + index + " is not available: " + unavailableReason());
    }
}
