package io.reg4rec.engine.cpu;

import io.reg4rec.engine.*;

/** Placeholder until the CPU backend lands: every call fails clearly. */
public final class CpuBackend {
    private CpuBackend() {}

    public static Backend instance() {
        throw new UnsupportedOperationException("CPU backend not built yet");
    }
}
