package io.reg4rec.bench.model;

import io.reg4rec.engine.CallCountingBackend;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Counts the backend calls of one paper-sized training step on the CPU (a small batch: the counts
 * do not depend on it) and prints the histogram, so launch-count regressions show up without a GPU.
 */
class TrainStepOpCountTest {
    @Test
    void oneStepHistogram() {
        CallCountingBackend.Counts counts = TrainStepBench.countOps(2);
        Map<String, Long> histogram = counts.snapshot();
        StringBuilder line = new StringBuilder("train-step backend calls: work=" + counts.work() + " allocate=" + counts.get("allocate"));
        histogram.forEach((k, v) -> line.append("\n  ").append(k).append(' ').append(v));
        System.out.println(line);
        assertTrue(counts.work() > 0, "a step must queue work");
    }
}
