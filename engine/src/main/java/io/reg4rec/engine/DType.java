package io.reg4rec.engine;

/**
 * Element types. On the CPU each type is stored in the Java array named by {@link #hostArrayType()}:
 * bf16 as the upper 16 bits of an IEEE float in a {@code short}, fp8 as the raw byte.
 * F64 exists for the CPU reference and gradient checks; the CUDA backend rejects it.
 */
public enum DType {
    F64(8, true, double[].class),
    F32(4, true, float[].class),
    BF16(2, true, short[].class),
    F8E4M3(1, true, byte[].class),
    F8E5M2(1, true, byte[].class),
    I32(4, false, int[].class),
    I64(8, false, long[].class);

    private final int byteSize;
    private final boolean floating;
    private final Class<?> hostArrayType;

    DType(int byteSize, boolean floating, Class<?> hostArrayType) {
        this.byteSize = byteSize;
        this.floating = floating;
        this.hostArrayType = hostArrayType;
    }

    public int byteSize() { return byteSize; }

    public boolean isFloating() { return floating; }

    public Class<?> hostArrayType() { return hostArrayType; }

    /** Allocates a zeroed host array of this type's storage class. */
    public Object newHostArray(int length) {
        return switch (this) {
            case F64 -> new double[length];
            case F32 -> new float[length];
            case BF16 -> new short[length];
            case F8E4M3, F8E5M2 -> new byte[length];
            case I32 -> new int[length];
            case I64 -> new long[length];
        };
    }
}
