package io.reg4rec.engine.cpu;

/**
 * A GEMM micro-kernel: C[MR x NR] (+)= A panel (kc x MR, column of MR per k) times B panel
 * (kc x NR, row of NR per k), both packed. Every implementation computes each C element as the
 * fused-multiply-add chain c = fma(a[p], b[p], c) for p = 0..kc-1, so all kernels agree bit for bit.
 */
interface GemmKernel {
    int mr();

    int nr();

    /** accumulate: start from the current C values, else from zero. */
    void compute(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc, boolean accumulate);
}
