package io.reg4rec.bench.gpu;

import io.reg4rec.engine.cuda.CudaBackend;
import jcuda.driver.CUevent;

import java.util.Arrays;

import static jcuda.driver.CUevent_flags.CU_EVENT_DEFAULT;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;

/**
 * Device time of a piece of GPU work, the way every GPU bench launcher measures it: warm-up
 * calls, then one pair of CUDA events on the backend's stream around each repetition, median
 * over the repetitions. The body may allocate; tensors it returns should be closed inside it.
 */
public final class DeviceTimer {
    private DeviceTimer() {}

    /** Median device milliseconds of {@code body} over {@code reps} timed calls after {@code warmup} untimed ones. */
    public static double medianMs(CudaBackend cuda, int warmup, int reps, Runnable body) {
        for (int i = 0; i < warmup; i++) body.run();
        cuda.synchronize();
        CUevent start = new CUevent(), stop = new CUevent();
        cuda.makeCurrent();
        cuEventCreate(start, CU_EVENT_DEFAULT);
        cuEventCreate(stop, CU_EVENT_DEFAULT);
        try {
            double[] ms = new double[reps];
            float[] elapsed = new float[1];
            for (int r = 0; r < reps; r++) {
                cuda.makeCurrent();
                cuEventRecord(start, cuda.stream());
                body.run();
                cuEventRecord(stop, cuda.stream());
                cuEventSynchronize(stop);
                cuEventElapsedTime(elapsed, start, stop);
                ms[r] = elapsed[0];
            }
            return median(ms);
        } finally {
            cuEventDestroy(start);
            cuEventDestroy(stop);
        }
    }

    public static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }
}
