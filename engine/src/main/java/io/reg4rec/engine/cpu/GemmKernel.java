package io.reg4rec.engine.cpu;

/**
 * A GEMM micro-kernel: C[MR x NR] (+)= A panel (kc x MR, column of MR per k) times B panel
 * (kc x NR, row of NR per k), both packed. Every implementation computes each element's partial
 * sum as the fused-multiply-add chain s = fma(a[p], b[p], s) for p = 0..kc-1 from s = 0, then
 * stores s, or c + s (one fp32 add) when accumulating, so all kernels agree bit for bit.
 */
interface GemmKernel {
    int mr();

    int nr();

    /** accumulate: add the partial sums to the current C values, else overwrite C. */
    void compute(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc, boolean accumulate);
}
