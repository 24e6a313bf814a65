package io.reg4rec.train;

import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;

import java.util.Locale;

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
        String setting = option;
        if (setting == null || setting.isBlank()) setting = System.getProperty("reg4rec.device");
        if (setting == null || setting.isBlank()) setting = System.getenv("REG4REC_DEVICE");
        if (setting == null || setting.isBlank()) setting = "auto";
        setting = setting.trim().toLowerCase(Locale.ROOT);
        try {
            Device chosen = setting.equals("auto") ? (Engine.cudaAvailable() ? Device.cuda(0) : Device.CPU) : Device.parse(setting);
            if (chosen.isCuda()) Engine.backend(chosen);   // throws with the reason when that device cannot be used
            return chosen;
        } catch (RuntimeException e) {
            throw new UsageException("--device " + setting + ": " + e.getMessage());
        }
    }
}
