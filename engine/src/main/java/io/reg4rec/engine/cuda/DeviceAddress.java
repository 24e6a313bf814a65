package io.reg4rec.engine.cuda;

import jcuda.driver.CUdeviceptr;

/**
 * Reads the numeric device address behind a CUdeviceptr (JCuda keeps it in protected state), for
 * kernels that take tables of addresses. Only a subclass may call the protected getters, so this
 * copies the pointer into one.
 */
final class DeviceAddress extends CUdeviceptr {
    private DeviceAddress(CUdeviceptr pointer) {
        super(pointer);
    }

    /** The address pointer designates (its base plus its byte offset). */
    static long of(CUdeviceptr pointer) {
        DeviceAddress a = new DeviceAddress(pointer);
        return a.getNativePointer() + a.getByteOffset();
    }
}
