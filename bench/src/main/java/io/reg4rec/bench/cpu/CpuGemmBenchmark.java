package io.reg4rec.bench.cpu;

import io.reg4rec.engine.Backend;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import io.reg4rec.engine.Tensor;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * fp32 GEMM on the CPU backend: C[n,n] = A[n,n] x B[n,n] into a preallocated output, so only
 * the GEMM is timed. Score is milliseconds per product; GFLOP/s = 2 n^3 / (score * 1e6)
 * (bench/run-cpu-gemm.sh prints it next to numpy's).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class CpuGemmBenchmark {
    @Param({"256", "1024", "2048"})
    public int size;

    private Backend cpu;
    private Tensor a, b, out;

    @Setup(Level.Trial)
    public void setUp() {
        cpu = Engine.backend(Device.CPU);
        a = Tensor.randn(Device.CPU, DType.F32, 1, 1, size, size);
        b = Tensor.randn(Device.CPU, DType.F32, 2, 1, size, size);
        out = Tensor.empty(Device.CPU, DType.F32, 1, size, size);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        a.close();
        b.close();
        out.close();
    }

    @Benchmark
    public Tensor matmul() {
        cpu.matmul(a, false, b, false, out);
        return out;
    }
}
