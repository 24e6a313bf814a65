package io.reg4rec.train.optim;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class LrScheduleTest {
    @Test
    void warmsUpLinearlyThenDecaysByCosineToTheFloor() {
        LrSchedule s = LrSchedule.warmupCosine(1.0, 10, 110, 0.1);
        assertEquals(0.1, s.lr(0), 1e-12);
        assertEquals(0.5, s.lr(4), 1e-12);
        assertEquals(1.0, s.lr(9), 1e-12);
        assertEquals(1.0, s.lr(10), 1e-12);
        assertEquals(0.1 + 0.9 * 0.5, s.lr(60), 1e-12, "half way through the decay");
        assertEquals(0.1, s.lr(110), 1e-12);
        assertEquals(0.1, s.lr(10_000), 1e-12);
        for (long t = 10; t < 110; t++) assertTrue(s.lr(t + 1) <= s.lr(t), "monotone decay at " + t);
    }

    @Test
    void noWarmupStartsAtPeakAndBadArgumentsAreRejected() {
        assertEquals(2.0, LrSchedule.warmupCosine(2.0, 0, 5, 0).lr(0), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupCosine(1, 10, 5, 0));
        assertThrows(IllegalArgumentException.class, () -> LrSchedule.warmupCosine(0.1, 1, 5, 1));
    }
}
