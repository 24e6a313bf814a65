package io.reg4rec.engine;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A {@link Backend} that forwards every call to another and counts the calls that queue device
 * work, by method and, for {@code unary}, {@code binary}, {@code binaryScalar} and {@code reduce},
 * by op too (e.g. {@code "binary:ADD"}). On CUDA each counted call is one or a few kernel
 * launches, so counting a training step on the CPU shows where its launches go without a GPU
 * (install it with {@link Engine#overrideCpuBackend}). {@code allocate} calls are counted under
 * {@code "allocate"}; calls that queue nothing (device, memoryStats, copyToHost) are not counted.
 */
public final class CallCountingBackend {
    private CallCountingBackend() {}

    /** The counts of one counting backend; thread-safe. */
    public static final class Counts {
        private final Map<String, long[]> counts = new HashMap<>();

        synchronized void add(String key) {
            counts.computeIfAbsent(key, k -> new long[1])[0]++;
        }

        /** Counts by key, largest first. */
        public synchronized Map<String, Long> snapshot() {
            List<Map.Entry<String, long[]>> entries = new ArrayList<>(counts.entrySet());
            entries.sort((a, b) -> a.getValue()[0] != b.getValue()[0] ? Long.compare(b.getValue()[0], a.getValue()[0]) : a.getKey().compareTo(b.getKey()));
            Map<String, Long> out = new LinkedHashMap<>();
            for (Map.Entry<String, long[]> e : entries) out.put(e.getKey(), e.getValue()[0]);
            return out;
        }

        /** Calls that queue device work (everything counted but {@code allocate}). */
        public synchronized long work() {
            long n = 0;
            for (Map.Entry<String, long[]> e : counts.entrySet()) if (!e.getKey().equals("allocate")) n += e.getValue()[0];
            return n;
        }

        public synchronized long get(String key) {
            long[] c = counts.get(key);
            return c == null ? 0 : c[0];
        }

        public synchronized void reset() { counts.clear(); }
    }

    /** A backend that counts into {@code counts} and forwards to {@code target}. */
    public static Backend wrap(Backend target, Counts counts) {
        InvocationHandler handler = (proxy, method, args) -> {
            String key = keyOf(method, args);
            if (key != null) counts.add(key);
            try {
                return method.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[]{Backend.class}, handler);
    }

    private static String keyOf(Method method, Object[] args) {
        String name = method.getName();
        switch (name) {
            case "device", "memoryStats", "copyToHost", "synchronize", "toString", "hashCode", "equals" -> {
                return null;
            }
            case "unary", "binary", "binaryScalar", "reduce" -> {
                return name + ":" + ((Enum<?>) args[0]).name();
            }
            default -> {
                return name;
            }
        }
    }
}
