package io.reg4rec.engine.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The CPU backend's one shared pool: availableProcessors daemon threads. Work is split into
 * contiguous ranges with a minimum grain so small ops run on the calling thread. A call made
 * from inside a pool task runs inline (no nested fan-out, so no deadlock).
 *
 * <p>Idle workers, and a caller waiting for its ranges, spin for {@link #SPIN_NANOS} before they
 * park: ops such as the blocked GEMM fork and join many times in a row, and a parked thread on a
 * busy machine may wait a whole scheduler slice to run again.
 */
public final class CpuPool {
    private static final int THREADS = Math.max(1, Runtime.getRuntime().availableProcessors());
    private static final ThreadLocal<Boolean> INSIDE = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private static final long SPIN_NANOS = 50_000;

    /** A work queue whose takers spin briefly before blocking. */
    private static final class SpinningQueue extends java.util.concurrent.LinkedBlockingQueue<Runnable> {
        @Override
        public Runnable take() throws InterruptedException {
            long deadline = System.nanoTime() + SPIN_NANOS;
            do {
                Runnable r = poll();
                if (r != null) return r;
                Thread.onSpinWait();
            } while (System.nanoTime() < deadline);
            return super.take();
        }
    }

    private static final ExecutorService POOL = new java.util.concurrent.ThreadPoolExecutor(THREADS, THREADS, 0L,
            java.util.concurrent.TimeUnit.MILLISECONDS, new SpinningQueue(), new java.util.concurrent.ThreadFactory() {
        private final AtomicInteger count = new AtomicInteger();

        @Override
        public Thread newThread(Runnable r) {
            Thread t = new Thread(() -> {
                INSIDE.set(Boolean.TRUE);
                r.run();
            }, "reg4rec-cpu-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        }
    });

    private CpuPool() {}

    public static int threads() { return THREADS; }

    /** Body over the half-open range [start, end). */
    @FunctionalInterface
    public interface RangeBody {
        void run(long start, long end);
    }

    /**
     * Runs body over [0, total) split into at most {@link #threads()} contiguous ranges of at
     * least {@code grain} items each. Which thread runs which range never affects results, as long
     * as body computes each item independently of the others.
     */
    public static void parallelFor(long total, long grain, RangeBody body) {
        if (total <= 0) return;
        int parts = (int) Math.min(THREADS, Math.max(1, total / Math.max(1, grain)));
        if (parts <= 1 || INSIDE.get()) {
            body.run(0, total);
            return;
        }
        long step = (total + parts - 1) / parts;
        List<Future<?>> futures = new ArrayList<>(parts - 1);
        AtomicInteger running = new AtomicInteger();
        for (int p = 1; p < parts; p++) {
            long s = p * step, e = Math.min(total, s + step);
            if (s >= e) break;
            running.incrementAndGet();
            futures.add(POOL.submit(() -> {
                try {
                    body.run(s, e);
                } finally {
                    running.decrementAndGet();
                }
            }));
        }
        Throwable failure = null;
        INSIDE.set(Boolean.TRUE);
        try {
            body.run(0, Math.min(total, step));
        } catch (Throwable t) {
            failure = t;
        } finally {
            INSIDE.set(Boolean.FALSE);
        }
        long deadline = System.nanoTime() + SPIN_NANOS;
        while (running.get() > 0 && System.nanoTime() < deadline) Thread.onSpinWait();
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                if (failure == null) failure = e.getCause();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (failure == null) failure = e;
            }
        }
        if (failure instanceof RuntimeException re) throw re;
        if (failure instanceof Error err) throw err;
        if (failure != null) throw new IllegalStateException("CPU task failed", failure);
    }

    /**
     * Runs {@code tasks} independent tasks, handed out dynamically to the pool threads and the
     * caller; {@code body} receives the task number.
     */
    public static void forEachTask(int tasks, java.util.function.IntConsumer body) {
        if (tasks <= 0) return;
        int workers = Math.min(THREADS, tasks);
        AtomicInteger next = new AtomicInteger();
        parallelFor(workers, 1, (s, e) -> {
            for (int t = next.getAndIncrement(); t < tasks; t = next.getAndIncrement()) body.accept(t);
        });
    }
}
