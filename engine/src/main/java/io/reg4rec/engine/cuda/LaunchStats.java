package io.reg4rec.engine.cuda;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Counts what the CUDA backend queues on its streams: kernel launches by kernel name, GEMM calls
 * (cuBLAS or the engine's own GEMM, keyed {@code "gemm:<impl>:<op>"}) and device-to-device copies
 * ({@code "memcpyDtoD"}), to show where a training step's launches go. The total is always kept
 * (one increment per launch); the per-name table only while {@link #enable} is on, since it costs
 * a map update per launch. Counts are per JVM, over all devices and threads.
 */
public final class LaunchStats {
    private static volatile boolean detailed;
    private static long total;
    private static final Map<String, long[]> BY_NAME = new HashMap<>();

    private LaunchStats() {}

    /** Turns per-name counting on or off (the total is always counted). */
    public static void enable(boolean on) { detailed = on; }

    public static boolean enabled() { return detailed; }

    static void record(String name) {
        boolean perName = detailed;
        synchronized (BY_NAME) {   // uncontended in practice: one thread drives a device
            total++;
            if (perName) BY_NAME.computeIfAbsent(name, k -> new long[1])[0]++;
        }
    }

    /** Everything queued since the last {@link #reset}: kernel launches, GEMM calls and device copies. */
    public static long total() {
        synchronized (BY_NAME) {
            return total;
        }
    }

    /** Counts by name since the last reset, largest first (empty unless {@link #enable}d). */
    public static Map<String, Long> byName() {
        List<Map.Entry<String, long[]>> entries;
        synchronized (BY_NAME) {
            entries = new ArrayList<>(BY_NAME.entrySet());
        }
        entries.sort((a, b) -> a.getValue()[0] != b.getValue()[0] ? Long.compare(b.getValue()[0], a.getValue()[0]) : a.getKey().compareTo(b.getKey()));
        Map<String, Long> out = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : entries) out.put(e.getKey(), e.getValue()[0]);
        return out;
    }

    public static void reset() {
        synchronized (BY_NAME) {
            total = 0;
            BY_NAME.clear();
        }
    }
}
