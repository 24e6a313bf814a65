package io.reg4rec.engine.cuda;

import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;

import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.TreeSet;

import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;

/**
 * Loads the kernel fatbins that the kernels module packages as classpath resources
 * ({@code /io/reg4rec/kernels/NAME.fatbin}, listed in {@code index.properties}) into one device's
 * context, and caches modules and functions. Loading is lazy: a module is read on its first use.
 */
final class KernelModules {
    static final String RESOURCE_DIR = "/io/reg4rec/kernels/";

    private final CudaBackend backend;
    private final Map<String, CUmodule> modules = new HashMap<>();
    /** module -> function name -> function; written only under the lock, read without it. */
    private final Map<String, Map<String, CUfunction>> functions = new ConcurrentHashMap<>();

    KernelModules(CudaBackend backend) {
        this.backend = backend;
    }

    /** The kernel build's index, or the reason no usable kernels exist. */
    static final class Index {
        final boolean built;
        final Set<String> modules;
        final String problem;

        private Index(boolean built, Set<String> modules, String problem) {
            this.built = built;
            this.modules = modules;
            this.problem = problem;
        }

        static final Index INSTANCE = read();

        private static Index read() {
            try (InputStream in = KernelModules.class.getResourceAsStream(RESOURCE_DIR + "index.properties")) {
                if (in == null) {
                    return new Index(false, Set.of(), "CUDA kernels were not built: " + RESOURCE_DIR
                            + "index.properties is not on the classpath (is the kernels module's jar missing?)");
                }
                Properties p = new Properties();
                p.load(in);
                if (!Boolean.parseBoolean(p.getProperty("built", "false"))) {
                    return new Index(false, Set.of(), "CUDA kernels were not built (" + p.getProperty("reason", "built=false")
                            + "); rebuild the kernels module on a machine with nvcc");
                }
                Set<String> names = new TreeSet<>();
                for (String s : p.getProperty("modules", "").split(",")) if (!s.isBlank()) names.add(s.trim());
                return new Index(true, names, null);
            } catch (IOException e) {
                return new Index(false, Set.of(), "CUDA kernels index could not be read: " + e);
            }
        }
    }

    /**
     * The function {@code name} of module {@code module}, loading the module on first use. Called
     * for every launch: a hit is one lock-free lookup in the module's table.
     */
    CUfunction function(String module, String name) {
        Map<String, CUfunction> byName = functions.get(module);
        CUfunction f = byName == null ? null : byName.get(name);
        return f != null ? f : resolve(module, name);
    }

    private synchronized CUfunction resolve(String module, String name) {
        Map<String, CUfunction> byName = functions.computeIfAbsent(module, k -> new ConcurrentHashMap<>());
        CUfunction f = byName.get(name);
        if (f != null) return f;
        CUmodule m = modules.get(module);
        if (m == null) {
            m = load(module);
            modules.put(module, m);
        }
        f = new CUfunction();
        try {
            cuModuleGetFunction(f, m, name);
        } catch (RuntimeException e) {
            throw new IllegalStateException("kernel " + name + " not found in module " + module + ".fatbin on " + backend.device()
                    + " (kernels and engine out of step?): " + e.getMessage(), e);
        }
        byName.put(name, f);
        return f;
    }

    private CUmodule load(String module) {
        Index index = Index.INSTANCE;
        if (!index.built) throw new IllegalStateException(index.problem);
        if (!index.modules.contains(module)) {
            throw new IllegalStateException("CUDA kernels were not built for module '" + module + "': index.properties lists only "
                    + index.modules + "; rebuild the kernels module");
        }
        byte[] image;
        try (InputStream in = KernelModules.class.getResourceAsStream(RESOURCE_DIR + module + ".fatbin")) {
            if (in == null) throw new IllegalStateException("CUDA kernels were not built: " + RESOURCE_DIR + module + ".fatbin is missing from the classpath");
            image = in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("reading " + module + ".fatbin failed: " + e, e);
        }
        if (image.length == 0) throw new IllegalStateException("CUDA kernels were not built: " + module + ".fatbin is empty");
        // A fatbin needs no terminating NUL: the driver reads the size from its header.
        CUmodule m = new CUmodule();
        backend.makeCurrent();
        try {
            cuModuleLoadData(m, image);
        } catch (RuntimeException e) {
            throw new IllegalStateException("loading " + module + ".fatbin (" + image.length + " B) on " + backend.device() + " ("
                    + backend.deviceName() + ") failed: " + e.getMessage() + "; the fatbin holds sm_80 and sm_90 code and compute_90 PTX", e);
        }
        return m;
    }
}
