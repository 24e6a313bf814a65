import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import jcuda.Pointer;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;

/**
 * Java -> JCublas2 natives -> compatibility library -> fake libcublas.so.13, without a GPU.
 * Exits non-zero when a result is not the fake's.
 */
public class JCublas2Probe {
    public static void main(String[] args) {
        cublasHandle handle = new cublasHandle();
        check(JCublas2.cublasCreate(handle) == 0, "cublasCreate");
        int[] version = new int[1];
        check(JCublas2.cublasGetVersion(handle, version) == 0 && version[0] == 130042,
                "cublasGetVersion gave " + version[0]);
        // 2x2 column-major GEMM. JCublas2 passes matrix operands on as raw addresses (device
        // memory for the real library); the fake computes on the CPU, so host addresses of direct
        // buffers stand in. alpha and beta are host scalars as usual.
        ByteBuffer a = direct(1, 2, 3, 4), b = direct(5, 6, 7, 8), c = direct(0, 0, 0, 0);
        int status = JCublas2.cublasSgemm(handle, 0, 0, 2, 2, 2, Pointer.to(new float[] {1f}), new Address(a), 2,
                new Address(b), 2, Pointer.to(new float[] {0f}), new Address(c), 2);
        check(status == 0, "cublasSgemm status " + status);
        float[] got = new float[4];
        c.asFloatBuffer().get(got);
        float[] want = {1 * 5 + 3 * 6, 2 * 5 + 4 * 6, 1 * 7 + 3 * 8, 2 * 7 + 4 * 8};
        check(Arrays.equals(got, want), "cublasSgemm result " + Arrays.toString(got));
        check(JCublas2.cublasDgemm(handle, 0, 0, 1, 1, 1, Pointer.to(new double[] {1}), Pointer.to(new double[] {1}), 1,
                Pointer.to(new double[] {1}), 1, Pointer.to(new double[] {0}), Pointer.to(new double[1]), 1) == 15,
                "missing cublasDgemm_v2 must give CUBLAS_STATUS_NOT_SUPPORTED");
        check(JCublas2.cublasDestroy(handle) == 0, "cublasDestroy");
        System.out.println("java: ok");
    }

    private static ByteBuffer direct(float... values) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(4 * values.length).order(ByteOrder.nativeOrder());
        buffer.asFloatBuffer().put(values);
        return buffer;
    }

    /** A pointer holding the native address of a direct buffer (needs sun.nio.ch exported). */
    private static final class Address extends Pointer {
        Address(ByteBuffer buffer) {
            super(((sun.nio.ch.DirectBuffer) buffer).address());
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL java: " + what);
            System.exit(1);
        }
    }
}
