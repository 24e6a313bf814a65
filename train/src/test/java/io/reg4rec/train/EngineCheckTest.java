package io.reg4rec.train;

import io.reg4rec.engine.Engine;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class EngineCheckTest {

    private record Run(int exitCode, String out, String err) {}

    private static Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = new CommandLine(new EngineCheck()).execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void cpuWorkloadPassesAndReleasesItsMemory() {
        Run r = run("--device", "cpu", "--size", "40");
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(r.out().contains("device: cpu (requested; setting from --device cpu)"), r.out());
        assertTrue(r.out().contains("in-use bytes back to baseline"), r.out());
        assertTrue(r.out().contains("engine check passed"), r.out());
    }

    @Test
    void bf16WorkloadPassesWithItsLooserTolerance() {
        Run r = run("--device", "cpu", "--size", "33", "--dtype", "bf16");
        assertEquals(0, r.exitCode(), r.out() + r.err());
        assertTrue(r.out().contains("tolerance 0.03"), r.out());
    }

    @Test
    void anImpossibleToleranceFailsTheCheck() {
        // bf16 rounding alone puts the product far above 1e-9 relative error, so the check must fail.
        Run r = run("--device", "cpu", "--size", "16", "--dtype", "bf16", "--tolerance", "1e-9");
        assertEquals(1, r.exitCode(), r.out());
        assertTrue(r.out().contains("engine check FAILED"), r.out());
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertEquals(2, run("--dtype", "f16").exitCode());
        assertEquals(2, run("--size", "0").exitCode());
        assertEquals(2, run("--device", "tpu").exitCode());
        assertEquals(2, run("--size", "many").exitCode());
    }

    @Test
    void cudaRequestedWithoutCudaIsAUsageErrorThatSaysWhy() {
        assumeFalse(Engine.cudaAvailable());
        Run r = run("--device", "cuda", "--size", "8");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("CUDA"), r.err());
    }

    @Test
    void relativeErrorIsScaledByTheReferenceAndNaNNeverPasses() {
        assertEquals(0.5, EngineCheck.maxRelativeError(new float[] {1, 3}, new float[] {1, 2}), 1e-12);
        assertEquals(Double.POSITIVE_INFINITY, EngineCheck.maxRelativeError(new float[] {Float.NaN}, new float[] {Float.NaN}));
        assertEquals(Double.POSITIVE_INFINITY, EngineCheck.maxRelativeError(new float[] {Float.NaN}, new float[] {1}));
        assertEquals(Double.POSITIVE_INFINITY, EngineCheck.maxRelativeError(new float[] {1}, new float[] {1, 2}));
    }
}
