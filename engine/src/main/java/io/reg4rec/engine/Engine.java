package io.reg4rec.engine;

import io.reg4rec.engine.cpu.CpuBackend;
import io.reg4rec.engine.cuda.CudaBackend;

import java.util.Locale;

/**
 * The one place that decides devices. The default device is read from the system property
 * {@code reg4rec.device} or the environment variable {@code REG4REC_DEVICE} ("auto", "cpu",
 * "cuda", "cuda:N"); "auto" (the default) picks cuda:0 when a usable GPU is present, else the CPU.
 */
public final class Engine {
    private static volatile Device defaultDevice;

    private Engine() {}

    public static Backend backend(Device device) {
        return switch (device.kind()) {
            case CPU -> cpuOverride != null ? cpuOverride : CpuBackend.instance();
            case CUDA -> CudaBackend.get(device.index());
        };
    }

    /** True when the CUDA driver loads and reports at least one device; never throws. */
    public static boolean cudaAvailable() {
        return CudaBackend.isAvailable();
    }

    public static Device defaultDevice() {
        Device d = defaultDevice;
        if (d == null) {
            synchronized (Engine.class) {
                if (defaultDevice == null) defaultDevice = resolve(configured());
                d = defaultDevice;
            }
        }
        return d;
    }

    /** Overrides the configured default for this JVM. */
    public static void setDefaultDevice(Device device) {
        backend(device);
        defaultDevice = device;
    }

    static String configured() {
        String v = System.getProperty("reg4rec.device");
        if (v == null || v.isBlank()) v = System.getenv("REG4REC_DEVICE");
        return v == null || v.isBlank() ? "auto" : v.trim().toLowerCase(Locale.ROOT);
    }

    /**
     * The device a launcher option names ("auto", "cpu", "cuda", "cuda:N"), or the configured
     * default's setting when the option is null or blank; a CUDA device is checked to be usable
     * (its backend is created), so a bad choice fails here with the reason.
     */
    public static Device select(String option) {
        Device d = resolve(option == null || option.isBlank() ? configured() : option.trim().toLowerCase(Locale.ROOT));
        if (d.isCuda()) backend(d);
        return d;
    }

    static Device resolve(String setting) {
        if (setting.equals("auto")) return cudaAvailable() ? Device.cuda(0) : Device.CPU;
        Device d = Device.parse(setting);
        if (d.isCuda() && !cudaAvailable()) {
            throw new IllegalStateException("device " + d + " was requested but CUDA is not available: " + CudaBackend.unavailableReason());
        }
        return d;
    }

    // ---- train-step fusions

    private static volatile Backend cpuOverride;

    /**
     * Routes tensors created on the CPU from now on through {@code backend} (e.g. a
     * {@link CallCountingBackend} over the CPU backend, to count the ops a training step runs);
     * null restores the plain CPU backend. Tensors keep the backend they were created with.
     */
    public static void overrideCpuBackend(Backend backend) {
        if (backend != null && !backend.device().equals(Device.CPU)) {
            throw new IllegalArgumentException("overrideCpuBackend: " + backend + " is a backend for " + backend.device() + ", not the CPU");
        }
        cpuOverride = backend;
    }
}
