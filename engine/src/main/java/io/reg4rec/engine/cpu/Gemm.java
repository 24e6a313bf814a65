package io.reg4rec.engine.cpu;

import io.reg4rec.engine.Bf16;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Tensor;

import java.util.Arrays;

/**
 * Batched GEMM for the CPU backend, fp32 (bf16 operands are widened to fp32 first). Loops in the
 * BLIS order: columns of C in NC blocks, K in KC steps; per step the B block (KC x NC) is packed
 * once into NR-column panels (about 512 KB, kept in L2), then row blocks of C are handed out to
 * the pool, each packing its A block into MR-row panels and running the register-blocked
 * micro-kernel over every (A panel, B panel) pair. Transposes are absorbed by packing.
 *
 * <p>Summation order, fixed by {@link #KC} alone: each C element is the in-order sum over K steps
 * of KC of a partial FMA chain (s = fma(a, b, s) over the step's k, from zero), each partial added
 * to C with one fp32 add. Results are therefore bit-identical for any thread count, MC, NC or
 * kernel (Vector API or scalar) and for the thin path. F64 is a plain row loop.
 */
final class Gemm {
    private Gemm() {}

    static final GemmKernel KERNEL = pickKernel();
    static final int KC = 256;
    static final int MC = KERNEL.mr() * 32;
    static final int NC = KERNEL.nr() * 16;
    /** Row blocks per thread and (NC, KC) step: several, so a thread that the OS preempts delays little. */
    private static final int BLOCKS_PER_THREAD = 4;
    /** Below this many multiply-adds a GEMM runs on the calling thread. */
    private static final long PARALLEL_MIN_FMAS = 1L << 18;

    private static GemmKernel pickKernel() {
        if (vectorApiPresent()) {
            try {
                return (GemmKernel) Class.forName("io.reg4rec.engine.cpu.VectorGemmKernel").getDeclaredConstructor().newInstance();
            } catch (ReflectiveOperationException | LinkageError e) {
                return new ScalarGemmKernel();
            }
        }
        return new ScalarGemmKernel();
    }

    /** True when the JVM was started with the incubating Vector API module. */
    static boolean vectorApiPresent() {
        return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
    }

    /** Name of the micro-kernel in use, for benchmarks and logs. */
    static String kernelName() {
        return KERNEL.getClass().getSimpleName() + " " + KERNEL.mr() + "x" + KERNEL.nr();
    }

    /** A GEMM operand: element (row, col) of batch t at offset + t*batchStride + row*rowStride + col*colStride. */
    record Operand(Object array, long offset, long batchStride, long rowStride, long colStride) {}

    static void matmul(View a, boolean ta, View b, boolean tb, View out, Tensor at, Tensor bt, Tensor ot) {
        if (a.shape.length != 3 || b.shape.length != 3 || out.shape.length != 3) {
            throw new IllegalArgumentException("matmul: backend operands must be rank 3, got " + at.describe() + ", " + bt.describe() + " -> " + ot.describe());
        }
        int batch = out.shape[0], m = out.shape[1], n = out.shape[2];
        int am = ta ? a.shape[2] : a.shape[1], ak = ta ? a.shape[1] : a.shape[2];
        int bk = tb ? b.shape[2] : b.shape[1], bn = tb ? b.shape[1] : b.shape[2];
        if (am != m || bn != n || ak != bk || a.shape[0] != batch || b.shape[0] != batch) {
            throw new IllegalArgumentException("matmul: shapes do not fit: " + at.describe() + (ta ? "^T" : "") + " x "
                    + bt.describe() + (tb ? "^T" : "") + " -> " + ot.describe());
        }
        if (a.dtype != b.dtype) throw new IllegalArgumentException("matmul: dtype mismatch " + at.describe() + " vs " + bt.describe());
        if (a.dtype != DType.F32 && a.dtype != DType.BF16 && a.dtype != DType.F64) {
            throw new IllegalArgumentException("matmul: supports F32, BF16 and F64 on the CPU, got " + at.describe());
        }
        if (out.dtype != DType.F32 && out.dtype != a.dtype) {
            throw new IllegalArgumentException("matmul: output must be F32 or the inputs' dtype, got " + ot.describe() + " for " + at.describe());
        }
        if (!out.contiguous) throw new IllegalArgumentException("matmul: output " + ot.describe() + " must be contiguous");
        if ((a.strides[2] != 1 && a.shape[2] > 1) || (b.strides[2] != 1 && b.shape[2] > 1)) {
            throw new IllegalArgumentException("matmul: operands need a unit stride in the last dimension, got strides "
                    + Arrays.toString(a.strides) + " and " + Arrays.toString(b.strides));
        }
        int k = ak;
        long outElems = (long) batch * m * n;
        if (outElems == 0) return;
        if (a.dtype == DType.F64) {
            gemmF64(operand(a, ta), operand(b, tb), out, batch, m, n, k);
            return;
        }
        Operand opA = widen(a, ta), opB = widen(b, tb);
        if (out.dtype == DType.F32) {
            gemmF32(opA, opB, (float[]) out.array, out.offset, batch, m, n, k);
        } else {
            float[] tmp = new float[(int) outElems];
            gemmF32(opA, opB, tmp, 0, batch, m, n, k);
            short[] dst = (short[]) out.array;
            int base = (int) out.offset;
            CpuPool.parallelFor(outElems, 1 << 15, (s, e) -> {
                for (long i = s; i < e; i++) dst[base + (int) i] = Bf16.fromFloat(tmp[(int) i]);
            });
        }
    }

    /** The operand's (row, col) addressing after an optional transpose; the last dim has stride 1. */
    private static Operand operand(View v, boolean transposed) {
        long ld = v.strides[1];
        long bs = v.shape[0] == 1 ? 0 : v.strides[0];
        return transposed ? new Operand(v.array, v.offset, bs, 1, ld) : new Operand(v.array, v.offset, bs, ld, 1);
    }

    /** F32 operands as they are; BF16 operands widened to fp32 over the span they address. */
    private static Operand widen(View v, boolean transposed) {
        Operand op = operand(v, transposed);
        if (v.dtype == DType.F32) return op;
        long last = v.offset;
        for (int d = 0; d < 3; d++) if (v.shape[d] > 0) last += (long) (v.shape[d] - 1) * v.strides[d];
        int first = (int) v.offset, span = (int) (last - first + 1);
        short[] src = (short[]) v.array;
        float[] wide = new float[span];
        for (int i = 0; i < span; i++) wide[i] = Bf16.toFloat(src[first + i]);
        return new Operand(wide, 0, op.batchStride(), op.rowStride(), op.colStride());
    }

    // ---------------------------------------------------------------- fp32

    /** Per-thread packing buffers: A block, B block, and a scratch tile for partial edges. */
    private static final ThreadLocal<float[][]> BUFFERS = ThreadLocal.withInitial(() -> new float[][]{
            new float[MC * KC], new float[KC * NC], new float[KERNEL.mr() * KERNEL.nr()]});

    /**
     * C = A x B for every batch. Large single products share one packed B block per (NC, KC) step
     * among all threads, which split the rows in MC blocks; batches of at least as many products as
     * threads give each thread whole products instead. Small products stay on the calling thread.
     */
    static void gemmF32(Operand a, Operand b, float[] c, long cOffset, int batch, int m, int n, int k) {
        if (k == 0) {
            Arrays.fill(c, (int) cOffset, (int) (cOffset + (long) batch * m * n), 0f);
            return;
        }
        long fmas = (long) batch * m * n * k;
        int threads = CpuPool.threads();
        if (m < KERNEL.mr() && b.colStride() == 1) {
            gemmThin(a, b, c, cOffset, batch, m, n, k);
        } else if (fmas < PARALLEL_MIN_FMAS || threads == 1) {
            for (int t = 0; t < batch; t++) gemmSerial(a, b, c, cOffset + (long) t * m * n, t, m, n, k);
        } else if (batch >= 2 * threads || (batch >= threads && batch % threads == 0)) {
            CpuPool.forEachTask(batch, t -> gemmSerial(a, b, c, cOffset + (long) t * m * n, t, m, n, k));
        } else {
            for (int t = 0; t < batch; t++) gemmShared(a, b, c, cOffset + (long) t * m * n, t, m, n, k, threads);
        }
    }

    /** Columns per work unit of the thin path. */
    private static final int THIN_COLUMNS = 2048;

    /**
     * Few rows (matrix-vector like, e.g. single-request inference) with row-major B: packing
     * would cost as much as the product, so each C row accumulates B's rows straight from memory
     * in a loop the JIT vectorises, with the packed path's summation order (FMA chains per KC step,
     * added to C). Work is split over column ranges.
     */
    private static void gemmThin(Operand a, Operand b, float[] c, long cOffset, int batch, int m, int n, int k) {
        float[] av = (float[]) a.array(), bv = (float[]) b.array();
        int colChunks = (n + THIN_COLUMNS - 1) / THIN_COLUMNS;
        long units = (long) batch * m * colChunks;
        long grain = Math.max(1, PARALLEL_MIN_FMAS / Math.max(1L, (long) Math.min(n, THIN_COLUMNS) * Math.max(k, 1)));
        CpuPool.parallelFor(units, grain, (s, e) -> {
            float[] partial = new float[THIN_COLUMNS];
            for (long u = s; u < e; u++) {
                int chunk = (int) (u % colChunks);
                long row = u / colChunks;
                int bt = (int) (row / m), i = (int) (row % m);
                int j0 = chunk * THIN_COLUMNS, len = Math.min(THIN_COLUMNS, n - j0);
                int cRow = (int) (cOffset + ((long) bt * m + i) * n + j0);
                long aRow = a.offset() + bt * a.batchStride() + i * a.rowStride();
                long bBase = b.offset() + bt * b.batchStride() + j0;
                for (int p0 = 0; p0 < k; p0 += KC) {
                    int pEnd = Math.min(k, p0 + KC);
                    Arrays.fill(partial, 0, len, 0f);
                    for (int p = p0; p < pEnd; p++) {
                        float x = av[(int) (aRow + p * a.colStride())];
                        int bRow = (int) (bBase + p * b.rowStride());
                        for (int j = 0; j < len; j++) partial[j] = Math.fma(x, bv[bRow + j], partial[j]);
                    }
                    if (p0 == 0) System.arraycopy(partial, 0, c, cRow, len);
                    else for (int j = 0; j < len; j++) c[cRow + j] += partial[j];
                }
            }
        });
    }

    /** One product on the calling thread. */
    private static void gemmSerial(Operand a, Operand b, float[] c, long cBase, int bt, int m, int n, int k) {
        float[][] buf = BUFFERS.get();
        long aBase = a.offset() + bt * a.batchStride(), bBase = b.offset() + bt * b.batchStride();
        for (int j0 = 0; j0 < n; j0 += NC) {
            int nc = Math.min(NC, n - j0);
            for (int p0 = 0; p0 < k; p0 += KC) {
                int kc = Math.min(KC, k - p0);
                packB(b, bBase, j0, nc, p0, kc, buf[1], KERNEL.nr(), 0, nc);
                for (int i0 = 0; i0 < m; i0 += MC) {
                    int mc = Math.min(MC, m - i0);
                    packA(a, aBase, i0, mc, p0, kc, buf[0], KERNEL.mr());
                    macroKernel(buf[0], buf[1], buf[2], c, cBase, n, i0, mc, j0, nc, kc, p0 > 0);
                }
            }
        }
    }

    /** One product over all threads: B block packed once (in parallel), row blocks handed out. */
    private static void gemmShared(Operand a, Operand b, float[] c, long cBase, int bt, int m, int n, int k, int threads) {
        float[] bp = BUFFERS.get()[1];
        int mr = KERNEL.mr(), nr = KERNEL.nr();
        // Row blocks: BLOCKS_PER_THREAD per thread for balance, at most MC rows, whole MR panels.
        int mc = Math.max(mr, Math.min(MC, ((m + BLOCKS_PER_THREAD * threads - 1) / (BLOCKS_PER_THREAD * threads) + mr - 1) / mr * mr));
        int mBlocks = (m + mc - 1) / mc;
        long aBase = a.offset() + bt * a.batchStride(), bBase = b.offset() + bt * b.batchStride();
        for (int j0 = 0; j0 < n; j0 += NC) {
            int nc = Math.min(NC, n - j0);
            int panels = (nc + nr - 1) / nr;
            for (int p0 = 0; p0 < k; p0 += KC) {
                int kc = Math.min(KC, k - p0);
                int fj0 = j0, fp0 = p0;
                CpuPool.parallelFor(panels, 4, (s, e) -> packB(b, bBase, fj0, nc, fp0, kc, bp, nr, (int) s * nr, (int) Math.min(nc, e * nr)));
                CpuPool.forEachTask(mBlocks, blk -> {
                    float[][] own = BUFFERS.get();
                    int i0 = blk * mc, rows = Math.min(mc, m - i0);
                    packA(a, aBase, i0, rows, fp0, kc, own[0], mr);
                    macroKernel(own[0], bp, own[2], c, cBase, n, i0, rows, fj0, nc, kc, fp0 > 0);
                });
            }
        }
    }

    /** Runs the micro-kernel over a packed A block (mc x kc) and packed B block (kc x nc). */
    private static void macroKernel(float[] ap, float[] bp, float[] edge, float[] c, long cBase, int ldc,
                                    int i0, int mc, int j0, int nc, int kc, boolean accumulate) {
        GemmKernel kernel = KERNEL;
        int mr = kernel.mr(), nr = kernel.nr();
        for (int ip = 0; ip < mc; ip += mr) {
            int rows = Math.min(mr, mc - ip);
            int aOff = ip * kc;
            for (int jp = 0; jp < nc; jp += nr) {
                int cols = Math.min(nr, nc - jp);
                int bOff = jp * kc;
                int cOff = (int) (cBase + (long) (i0 + ip) * ldc + j0 + jp);
                if (rows == mr && cols == nr) {
                    kernel.compute(kc, ap, aOff, bp, bOff, c, cOff, ldc, accumulate);
                } else {
                    // Partial tile: run the same kernel on a scratch tile holding the valid part of C.
                    if (accumulate) for (int r = 0; r < rows; r++) System.arraycopy(c, cOff + r * ldc, edge, r * nr, cols);
                    kernel.compute(kc, ap, aOff, bp, bOff, edge, 0, nr, accumulate);
                    for (int r = 0; r < rows; r++) System.arraycopy(edge, r * nr, c, cOff + r * ldc, cols);
                }
            }
        }
    }

    /** Packs A[i0..i0+mc, p0..p0+kc] into MR-row panels: panel q holds (p, r) at q*kc*MR + p*MR + r. */
    static void packA(Operand a, long base, int i0, int mc, int p0, int kc, float[] ap, int mr) {
        float[] src = (float[]) a.array();
        long rs = a.rowStride(), cs = a.colStride();
        for (int ip = 0; ip < mc; ip += mr) {
            int rows = Math.min(mr, mc - ip);
            int dst = ip * kc;
            if (cs == 1 && rows == 8 && mr == 8) {
                // Eight row streams read in step, one sequential write stream.
                int s0 = (int) (base + (i0 + ip) * rs + p0);
                int r1 = (int) rs, r2 = 2 * r1, r3 = 3 * r1, r4 = 4 * r1, r5 = 5 * r1, r6 = 6 * r1, r7 = 7 * r1;
                for (int p = 0, d = dst; p < kc; p++, d += 8) {
                    int s = s0 + p;
                    ap[d] = src[s]; ap[d + 1] = src[s + r1]; ap[d + 2] = src[s + r2]; ap[d + 3] = src[s + r3];
                    ap[d + 4] = src[s + r4]; ap[d + 5] = src[s + r5]; ap[d + 6] = src[s + r6]; ap[d + 7] = src[s + r7];
                }
            } else if (cs == 1) {
                for (int r = 0; r < rows; r++) {
                    int s = (int) (base + (i0 + ip + r) * rs + p0);
                    for (int p = 0; p < kc; p++) ap[dst + p * mr + r] = src[s + p];
                }
            } else {
                for (int p = 0; p < kc; p++) {
                    int s = (int) (base + (long) (p0 + p) * cs + (i0 + ip) * rs);
                    int d = dst + p * mr;
                    for (int r = 0; r < rows; r++) ap[d + r] = src[(int) (s + r * rs)];
                }
            }
            if (rows < mr) {
                for (int p = 0; p < kc; p++) for (int r = rows; r < mr; r++) ap[dst + p * mr + r] = 0f;
            }
        }
    }

    /** Packs columns [fromCol, toCol) of B[p0..p0+kc, j0..j0+nc] into NR-column panels: panel q holds (p, j) at q*kc*NR + p*NR + j. */
    static void packB(Operand b, long base, int j0, int nc, int p0, int kc, float[] bp, int nr, int fromCol, int toCol) {
        float[] src = (float[]) b.array();
        long rs = b.rowStride(), cs = b.colStride();
        for (int jp = fromCol; jp < toCol; jp += nr) {
            int cols = Math.min(nr, nc - jp);
            int dst = jp * kc;
            if (cs == 1) {
                for (int p = 0; p < kc; p++) {
                    int s = (int) (base + (long) (p0 + p) * rs + j0 + jp);
                    System.arraycopy(src, s, bp, dst + p * nr, cols);
                }
            } else {
                for (int j = 0; j < cols; j++) {
                    int s = (int) (base + (long) (j0 + jp + j) * cs + p0 * rs);
                    for (int p = 0; p < kc; p++) bp[dst + p * nr + j] = src[(int) (s + p * rs)];
                }
            }
            if (cols < nr) {
                for (int p = 0; p < kc; p++) Arrays.fill(bp, dst + p * nr + cols, dst + p * nr + nr, 0f);
            }
        }
    }

    // ---------------------------------------------------------------- fp64

    /** F64 reference GEMM: rows split over the pool, each element summed over k in order. */
    private static void gemmF64(Operand a, Operand b, View out, int batch, int m, int n, int k) {
        double[] av = (double[]) a.array(), bv = (double[]) b.array();
        long rows = (long) batch * m;
        long grain = Math.max(1, PARALLEL_MIN_FMAS / Math.max(1L, (long) n * Math.max(k, 1)));
        CpuPool.parallelFor(rows, grain, (s, e) -> {
            double[] acc = new double[n];
            double[] bRow = new double[n];
            for (long row = s; row < e; row++) {
                int bt = (int) (row / m), i = (int) (row % m);
                Arrays.fill(acc, 0.0);
                long aRow = a.offset() + bt * a.batchStride() + i * a.rowStride();
                long bBase = b.offset() + bt * b.batchStride();
                for (int p = 0; p < k; p++) {
                    double x = av[(int) (aRow + p * a.colStride())];
                    long bp = bBase + p * b.rowStride();
                    for (int j = 0; j < n; j++) bRow[j] = bv[(int) (bp + j * b.colStride())];
                    for (int j = 0; j < n; j++) acc[j] += x * bRow[j];
                }
                out.storeDouble(row * n, n, acc);
            }
        });
    }
}
