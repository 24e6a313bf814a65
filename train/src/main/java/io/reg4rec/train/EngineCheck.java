package io.reg4rec.train;

import io.reg4rec.engine.Backend;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.MemoryStats;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Self-check of the tensor engine on one device: says which device was chosen and why, runs a
 * small workload (random matrices, matmul, softmax, reductions), verifies it against a plain
 * fp64 computation on the host and, on a CUDA device, against the CPU backend, and shows that
 * the allocator's in-use bytes return to where they started once the workload's scope closes.
 * Exit status 0 when every check passes, 1 when one fails, 2 on bad usage or an unusable device.
 */
@Command(name = "engine-check", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Runs a small workload on the chosen device and checks results and memory release.",
                "Device choice: --device, else -Dreg4rec.device, else REG4REC_DEVICE, else auto."})
public final class EngineCheck implements Callable<Integer> {

    @Option(names = "--device", paramLabel = "DEVICE",
            description = "auto, cpu, cuda or cuda:N (auto: cuda:0 when a usable GPU is present, else cpu)")
    String device;

    @Option(names = "--size", paramLabel = "N", defaultValue = "256", description = "matrices are N x N (default: ${DEFAULT-VALUE})")
    int size;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "f32", description = "f32 or bf16 (default: ${DEFAULT-VALUE})")
    String dtypeName;

    @Option(names = "--seed", defaultValue = "42", description = "random seed (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--tolerance", paramLabel = "TOL",
            description = "largest accepted error, relative to the largest magnitude of the reference "
                    + "(default: 2e-3 for f32, which admits TF32 GEMMs; 3e-2 for bf16)")
    Double tolerance;

    private boolean allPassed = true;

    public static void main(String[] args) {
        System.exit(new CommandLine(new EngineCheck()).execute(args));
    }

    /** The host-side values of one run of the workload. */
    private record Results(float[] a, float[] b, float[] product, float[] softmax, float[] rowSums, float[] columnMax,
                           double millis) {}

    @Override
    public Integer call() {
        if (size < 1 || size > 8192) {
            System.err.println("engine-check: --size must be between 1 and 8192, got " + size);
            return 2;
        }
        DType dtype = switch (dtypeName.toLowerCase(Locale.ROOT)) {
            case "f32", "fp32", "float32" -> DType.F32;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> null;
        };
        if (dtype == null) {
            System.err.println("engine-check: --dtype must be f32 or bf16, got " + dtypeName);
            return 2;
        }
        double tol = tolerance != null ? tolerance : dtype == DType.F32 ? 2e-3 : 3e-2;

        Device chosen;
        try {
            chosen = chooseDevice();
        } catch (IllegalArgumentException | IllegalStateException e) {
            System.err.println("engine-check: " + e.getMessage());
            return 2;
        }
        Backend backend = Engine.backend(chosen);

        System.out.printf(Locale.ROOT, "%nworkload: %d x %d %s, seed %d: C = A B, softmax(C / sqrt(N)) along rows, row sums, column max%n",
                size, size, dtype, seed);
        MemoryStats before = backend.memoryStats();
        System.out.println("memory before: " + before);
        Results warmUp = run(chosen, dtype);   // first run pays for class loading, JIT and module loading
        Results results = run(chosen, dtype);
        System.out.printf(Locale.ROOT, "time: %.2f ms (second run; first %.2f ms)%n", results.millis(), warmUp.millis());

        System.out.println("\nchecks on " + chosen + " (tolerance " + tol + "):");
        checkAgainstHost(results, tol);
        if (chosen.isCuda()) {
            System.out.println("\ncompared with the CPU backend:");
            Results cpu = run(Device.CPU, dtype);
            check("matmul", maxRelativeError(results.product(), cpu.product()), tol);
            check("softmax", maxRelativeError(results.softmax(), cpu.softmax()), tol);
            check("row sums", maxRelativeError(results.rowSums(), cpu.rowSums()), tol);
            check("column max", maxRelativeError(results.columnMax(), cpu.columnMax()), tol);
        }

        MemoryStats after = backend.memoryStats();
        System.out.println("\nmemory after:  " + after);
        boolean released = after.inUseBytes() == before.inUseBytes();
        System.out.printf(Locale.ROOT, "in-use bytes %s: %,d before, %,d after (peak %,d)%n",
                released ? "back to baseline" : "NOT back to baseline", before.inUseBytes(), after.inUseBytes(), after.peakInUseBytes());
        allPassed &= released;

        System.out.println(allPassed ? "\nengine check passed" : "\nengine check FAILED");
        return allPassed ? 0 : 1;
    }

    /** Resolves the device and prints why it was chosen. */
    private Device chooseDevice() {
        String setting;
        String source;
        if (device != null && !device.isBlank()) {
            setting = device;
            source = "--device " + device;
        } else if (System.getProperty("reg4rec.device") != null && !System.getProperty("reg4rec.device").isBlank()) {
            setting = System.getProperty("reg4rec.device");
            source = "system property reg4rec.device=" + setting;
        } else if (System.getenv("REG4REC_DEVICE") != null && !System.getenv("REG4REC_DEVICE").isBlank()) {
            setting = System.getenv("REG4REC_DEVICE");
            source = "environment REG4REC_DEVICE=" + setting;
        } else {
            setting = "auto";
            source = "the default (no --device, reg4rec.device or REG4REC_DEVICE)";
        }
        setting = setting.trim().toLowerCase(Locale.ROOT);
        boolean cuda = Engine.cudaAvailable();
        Device chosen;
        String why;
        if (setting.equals("auto")) {
            chosen = cuda ? Device.cuda(0) : Device.CPU;
            why = cuda ? "auto: a usable CUDA device is present" : "auto: no usable CUDA device";
        } else {
            chosen = Device.parse(setting);
            why = "requested";
        }
        if (chosen.isCuda()) {
            Engine.backend(chosen);   // throws with the reason when that device cannot be used
        }
        System.out.println("device: " + chosen + " (" + why + "; setting from " + source + ")");
        if (!cuda && !chosen.isCuda()) {
            try {
                Engine.backend(Device.cuda(0));
            } catch (RuntimeException e) {
                System.out.println("  CUDA: " + e.getMessage());
            }
        }
        return chosen;
    }

    /** Runs the workload inside a scope, so every tensor it creates is released when it returns. */
    private Results run(Device on, DType dtype) {
        Backend backend = Engine.backend(on);
        long start = System.nanoTime();
        try (Scope scope = Scope.open()) {
            Tensor a = Tensor.randn(on, dtype, seed, size, size);
            Tensor b = Tensor.randn(on, dtype, seed + 1, size, size);
            Tensor product = a.matmul(b);
            Tensor softmax = product.mul(1.0 / Math.sqrt(size)).softmax(1);
            Tensor rowSums = softmax.sum(1, false);
            Tensor columnMax = product.max(0, false);
            backend.synchronize();
            double millis = (System.nanoTime() - start) / 1e6;
            Results r = new Results(a.toFloatArray(), b.toFloatArray(), product.toFloatArray(), softmax.toFloatArray(),
                    rowSums.toFloatArray(), columnMax.toFloatArray(), millis);
            System.out.printf(Locale.ROOT, "  run on %s: %d tensors held by the scope, %s%n", on, scope.size(), backend.memoryStats());
            return r;
        }
    }

    /** Checks the device's results against fp64 arithmetic on the host, from the same inputs. */
    private void checkAgainstHost(Results r, double tol) {
        int n = size;
        // Reference product on sampled rows (all rows when small), in fp64 from the device's inputs.
        int rows = Math.min(n, 64);
        float[] refRows = new float[rows * n];
        float[] gotRows = new float[rows * n];
        for (int s = 0; s < rows; s++) {
            int i = (int) ((long) s * n / rows);
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < n; p++) acc += (double) r.a()[i * n + p] * r.b()[p * n + j];
                refRows[s * n + j] = (float) acc;
                gotRows[s * n + j] = r.product()[i * n + j];
            }
        }
        check("matmul vs fp64 host reference (" + rows + " rows)", maxRelativeError(gotRows, refRows), tol);

        // Softmax recomputed on the host from the device's own product.
        float[] refSoftmax = new float[n * n];
        double scale = 1.0 / Math.sqrt(n);
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) max = Math.max(max, r.product()[i * n + j] * scale);
            double sum = 0;
            for (int j = 0; j < n; j++) sum += Math.exp(r.product()[i * n + j] * scale - max);
            for (int j = 0; j < n; j++) refSoftmax[i * n + j] = (float) (Math.exp(r.product()[i * n + j] * scale - max) / sum);
        }
        check("softmax vs host", maxRelativeError(r.softmax(), refSoftmax), tol);

        float[] ones = new float[n];
        Arrays.fill(ones, 1f);
        check("softmax rows sum to 1", maxRelativeError(r.rowSums(), ones), tol);

        float[] refColumnMax = new float[n];
        Arrays.fill(refColumnMax, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) refColumnMax[j] = Math.max(refColumnMax[j], r.product()[i * n + j]);
        }
        // A maximum picks one of the values, so it must match exactly.
        check("column max vs host (exact)", maxRelativeError(r.columnMax(), refColumnMax), 0);
    }

    private void check(String what, double error, double tol) {
        boolean ok = error <= tol;
        allPassed &= ok;
        System.out.printf(Locale.ROOT, "  %-45s max error %.3e  %s%n", what, error, ok ? "ok" : "FAILED (tolerance " + tol + ")");
    }

    /** max |got - want| over max(1e-30, max |want|); NaN anywhere gives infinity. */
    static double maxRelativeError(float[] got, float[] want) {
        if (got.length != want.length) return Double.POSITIVE_INFINITY;
        double maxDiff = 0, maxRef = 1e-30;
        for (int i = 0; i < got.length; i++) {
            if (Float.isNaN(got[i]) || Float.isNaN(want[i])) return Double.POSITIVE_INFINITY;   // no NaN is expected here
            maxDiff = Math.max(maxDiff, Math.abs((double) got[i] - want[i]));
            maxRef = Math.max(maxRef, Math.abs(want[i]));
        }
        return maxDiff / maxRef;
    }
}
