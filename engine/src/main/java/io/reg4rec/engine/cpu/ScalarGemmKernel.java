package io.reg4rec.engine.cpu;

/** Portable 4 x 8 micro-kernel with scalar {@link Math#fma}; used when the Vector API is absent. */
final class ScalarGemmKernel implements GemmKernel {
    static final int MR = 4, NR = 8;

    @Override
    public int mr() { return MR; }

    @Override
    public int nr() { return NR; }

    @Override
    public void compute(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc, boolean accumulate) {
        float[] acc = new float[MR * NR];
        for (int p = 0; p < kc; p++) {
            int ap = aOff + p * MR, bp = bOff + p * NR;
            for (int r = 0; r < MR; r++) {
                float av = a[ap + r];
                int row = r * NR;
                for (int j = 0; j < NR; j++) acc[row + j] = Math.fma(av, b[bp + j], acc[row + j]);
            }
        }
        for (int r = 0; r < MR; r++) {
            int row = cOff + r * ldc;
            for (int j = 0; j < NR; j++) c[row + j] = accumulate ? c[row + j] + acc[r * NR + j] : acc[r * NR + j];
        }
    }
}
