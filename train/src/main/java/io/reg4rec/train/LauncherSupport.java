package io.reg4rec.train;

import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;

/** What the training launchers share: device choice and usage errors. */
final class LauncherSupport {
    private LauncherSupport() {}

    /** A usage problem: the launcher prints the message and exits with status 2. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) { super(message); }
    }

    /**
     * --device, else -Dreg4rec.device, else REG4REC_DEVICE, else auto (cuda:0 when usable, else
     * the CPU). Asking for CUDA that cannot be used is a usage error naming the reason.
     */
    static Device chooseDevice(String option) {
        try {
            return Engine.select(option);
        } catch (RuntimeException e) {
            throw new UsageException((option == null || option.isBlank() ? "" : "--device " + option + ": ") + e.getMessage());
        }
    }
}
