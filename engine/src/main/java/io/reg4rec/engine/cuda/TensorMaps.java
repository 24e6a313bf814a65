package io.reg4rec.engine.cuda;

import jdk.incubator.foreign.CLinker;
import jdk.incubator.foreign.FunctionDescriptor;
import jdk.incubator.foreign.MemoryAccess;
import jdk.incubator.foreign.MemoryAddress;
import jdk.incubator.foreign.MemorySegment;
import jdk.incubator.foreign.ResourceScope;
import jdk.incubator.foreign.SymbolLookup;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Encodes the TMA tensor maps of gemm_tma.cu (a CUtensorMap: 128 opaque bytes, passed by value
 * as a {@code __grid_constant__} kernel parameter) with the driver's {@code cuTensorMapEncodeTiled}.
 * JCuda 12.6 has no binding for it, so it is called through JDK 17's jdk.incubator.foreign: the
 * driver library is opened with dlopen (found in libc through {@link CLinker#systemLookup()}) at
 * the path JCuda already loaded it from (read from /proc/self/maps), or at
 * {@value #LIBRARY_PROPERTY} when set, else as libcuda.so.1; the symbol comes from dlsym.
 *
 * <p>Nothing here throws while loading: an encoder that cannot be had reports {@link #problem()}
 * and {@link #available()} false, and {@link #encodeTiled} then throws {@link TensorMapException},
 * which the caller (OwnTensorCoreGemm) turns into one log line and the cp.async kernel.
 * The arguments are checked against the driver's documented rules before the call, so a
 * rejected shape names the rule it breaks.
 */
public final class TensorMaps {
    /** Path of the driver library to open instead of the one JCuda loaded (tests use a fake one). */
    public static final String LIBRARY_PROPERTY = "reg4rec.libcuda";
    public static final String SYMBOL = "cuTensorMapEncodeTiled";
    /** Bytes of a CUtensorMap, and its alignment. */
    public static final int MAP_BYTES = 128, MAP_ALIGNMENT = 64;
    /** CUtensorMapDataType values used by the GEMMs: fp8 travels as UINT8 (TMA does not convert). */
    public static final int DATA_TYPE_UINT8 = 0, DATA_TYPE_BFLOAT16 = 9;
    /** CUtensorMapSwizzle. */
    public static final int SWIZZLE_NONE = 0, SWIZZLE_128B = 3;
    static final int INTERLEAVE_NONE = 0, L2_PROMOTION_256B = 3, OOB_FILL_ZERO = 0;
    private static final int RTLD_NOW = 2;

    /** An encoder that is unavailable, arguments that break a TMA rule, or an error from the driver. */
    public static final class TensorMapException extends RuntimeException {
        public TensorMapException(String message) {
            super(message);
        }
    }

    private static volatile TensorMaps driver;

    private final String library;
    private final MethodHandle encode;
    private final String problem;

    private TensorMaps(String library, MethodHandle encode, String problem) {
        this.library = library;
        this.encode = encode;
        this.problem = problem;
    }

    /** The encoder of the driver this process uses (opened once). */
    public static TensorMaps driver() {
        TensorMaps d = driver;
        if (d == null) {
            synchronized (TensorMaps.class) {
                d = driver;
                if (d == null) driver = d = open(driverLibrary());
            }
        }
        return d;
    }

    /** The driver library: {@value #LIBRARY_PROPERTY}, else the libcuda mapped into this process, else libcuda.so.1. */
    static String driverLibrary() {
        String configured = System.getProperty(LIBRARY_PROPERTY, "").trim();
        if (!configured.isEmpty()) return configured;
        String mapped = mappedLibrary(Path.of("/proc/self/maps"), "libcuda.so");
        return mapped != null ? mapped : "libcuda.so.1";
    }

    /** The path of the first mapped file whose name starts with {@code namePrefix}, from a /proc/<pid>/maps listing; null when none. */
    static String mappedLibrary(Path maps, String namePrefix) {
        List<String> lines;
        try {
            lines = Files.readAllLines(maps);
        } catch (IOException | RuntimeException e) {
            return null;
        }
        for (String line : lines) {
            int slash = line.indexOf('/');
            if (slash < 0) continue;
            String path = line.substring(slash).trim();
            String name = path.substring(path.lastIndexOf('/') + 1);
            if (name.startsWith(namePrefix)) return path;
        }
        return null;
    }

    /** An encoder bound to {@code cuTensorMapEncodeTiled} of the library at {@code library} (a path or a name dlopen resolves). */
    public static TensorMaps open(String library) {
        try {
            CLinker linker = CLinker.getInstance();
            SymbolLookup libc = CLinker.systemLookup();
            MethodHandle dlopen = linker.downcallHandle(libc.lookup("dlopen").orElseThrow(),
                    MethodType.methodType(MemoryAddress.class, MemoryAddress.class, int.class),
                    FunctionDescriptor.of(CLinker.C_POINTER, CLinker.C_POINTER, CLinker.C_INT));
            MethodHandle dlsym = linker.downcallHandle(libc.lookup("dlsym").orElseThrow(),
                    MethodType.methodType(MemoryAddress.class, MemoryAddress.class, MemoryAddress.class),
                    FunctionDescriptor.of(CLinker.C_POINTER, CLinker.C_POINTER, CLinker.C_POINTER));
            MethodHandle dlerror = linker.downcallHandle(libc.lookup("dlerror").orElseThrow(),
                    MethodType.methodType(MemoryAddress.class), FunctionDescriptor.of(CLinker.C_POINTER));
            MemoryAddress symbol;
            try (ResourceScope scope = ResourceScope.newConfinedScope()) {
                MemoryAddress handle = (MemoryAddress) dlopen.invokeExact(CLinker.toCString(library, scope).address(), RTLD_NOW);
                if (handle.equals(MemoryAddress.NULL)) {
                    return unavailable(library, "dlopen(" + library + ") failed: " + dlError(dlerror));
                }
                symbol = (MemoryAddress) dlsym.invokeExact(handle, CLinker.toCString(SYMBOL, scope).address());
                if (symbol.equals(MemoryAddress.NULL)) {
                    return unavailable(library, library + " has no " + SYMBOL + " (" + dlError(dlerror) + ")");
                }
            }
            MethodHandle encode = linker.downcallHandle(symbol,
                    MethodType.methodType(int.class, MemoryAddress.class, int.class, int.class, MemoryAddress.class, MemoryAddress.class,
                            MemoryAddress.class, MemoryAddress.class, MemoryAddress.class, int.class, int.class, int.class, int.class),
                    FunctionDescriptor.of(CLinker.C_INT, CLinker.C_POINTER, CLinker.C_INT, CLinker.C_INT, CLinker.C_POINTER, CLinker.C_POINTER,
                            CLinker.C_POINTER, CLinker.C_POINTER, CLinker.C_POINTER, CLinker.C_INT, CLinker.C_INT, CLinker.C_INT, CLinker.C_INT));
            return new TensorMaps(library, encode, null);
        } catch (Throwable t) {
            // Module jdk.incubator.foreign missing (no --add-modules), native access refused, no dlopen.
            return unavailable(library, "the foreign-function interface is unavailable (" + NativeErrors.summarize(t)
                    + "; the JVM needs --add-modules jdk.incubator.foreign)");
        }
    }

    private static TensorMaps unavailable(String library, String problem) {
        return new TensorMaps(library, null, problem);
    }

    private static String dlError(MethodHandle dlerror) throws Throwable {
        MemoryAddress message = (MemoryAddress) dlerror.invokeExact();
        return message.equals(MemoryAddress.NULL) ? "no dlerror message" : CLinker.toJavaString(message);
    }

    /** Whether {@link #encodeTiled} can call the driver. */
    public boolean available() {
        return encode != null;
    }

    /** Why no encoder is available, or null. */
    public String problem() {
        return problem;
    }

    /** Replaces the driver's encoder (tests: an unavailable one exercises the fallback); returns the previous one. */
    static synchronized TensorMaps swapDriver(TensorMaps replacement) {
        TensorMaps previous = driver;
        driver = replacement;
        return previous;
    }

    /** The library this encoder was opened from. */
    public String library() {
        return library;
    }

    /**
     * cuTensorMapEncodeTiled for a tensor at device address {@code address} of {@code dims.length}
     * dimensions (innermost first, element counts), {@code stridesBytes} the byte strides of
     * dimensions 1 .. rank - 1, a box of {@code box} elements per dimension, element strides 1,
     * no interleave, the given swizzle, L2 promotion of 256 bytes and zero fill out of range.
     *
     * A map encodes only these numbers (no device state), so the last {@link #RECENT_MAPS} are
     * kept and a repeated request skips the driver call.
     *
     * @return the 128 bytes of the CUtensorMap as 16 longs (native order), as KernelLaunch#struct takes them
     * @throws TensorMapException when no encoder is available, an argument breaks a rule, or the driver returns an error
     */
    public long[] encodeTiled(int dataType, int elementBytes, long address, long[] dims, long[] stridesBytes, int[] box, int swizzle) {
        List<Long> key = new ArrayList<>(4 + dims.length + stridesBytes.length + box.length);
        key.add((long) dataType);
        key.add((long) elementBytes);
        key.add(address);
        key.add((long) swizzle);
        for (long d : dims) key.add(d);
        for (long st : stridesBytes) key.add(st);
        for (int b : box) key.add((long) b);
        synchronized (recent) {
            long[] known = recent.get(key);
            if (known != null) return known.clone();
        }
        long[] map = encodeUncached(dataType, elementBytes, address, dims, stridesBytes, box, swizzle);
        synchronized (recent) {
            recent.put(key, map.clone());
        }
        return map;
    }

    /** Most recently encoded maps kept: the training step reuses the same operands (cached allocator addresses) over and over. */
    static final int RECENT_MAPS = 256;
    private final Map<List<Long>, long[]> recent = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<List<Long>, long[]> eldest) {
            return size() > RECENT_MAPS;
        }
    };

    private long[] encodeUncached(int dataType, int elementBytes, long address, long[] dims, long[] stridesBytes, int[] box, int swizzle) {
        validate(dataType, elementBytes, address, dims, stridesBytes, box, swizzle);
        if (encode == null) throw new TensorMapException(SYMBOL + " is unavailable: " + problem);
        int rank = dims.length;
        try (ResourceScope scope = ResourceScope.newConfinedScope()) {
            MemorySegment map = MemorySegment.allocateNative(MAP_BYTES, MAP_ALIGNMENT, scope);
            MemorySegment dimSegment = MemorySegment.allocateNative(8L * rank, 8, scope);
            MemorySegment strideSegment = MemorySegment.allocateNative(8L * Math.max(1, rank - 1), 8, scope);
            MemorySegment boxSegment = MemorySegment.allocateNative(4L * rank, 4, scope);
            MemorySegment elementStrideSegment = MemorySegment.allocateNative(4L * rank, 4, scope);
            for (int i = 0; i < rank; i++) {
                MemoryAccess.setLongAtIndex(dimSegment, i, dims[i]);
                MemoryAccess.setIntAtIndex(boxSegment, i, box[i]);
                MemoryAccess.setIntAtIndex(elementStrideSegment, i, 1);
                if (i < rank - 1) MemoryAccess.setLongAtIndex(strideSegment, i, stridesBytes[i]);
            }
            int status;
            try {
                status = (int) encode.invokeExact(map.address(), dataType, rank, MemoryAddress.ofLong(address), dimSegment.address(),
                        strideSegment.address(), boxSegment.address(), elementStrideSegment.address(), INTERLEAVE_NONE, swizzle,
                        L2_PROMOTION_256B, OOB_FILL_ZERO);
            } catch (Throwable t) {
                throw new TensorMapException(SYMBOL + " could not be called: " + NativeErrors.summarize(t));
            }
            if (status != 0) {
                throw new TensorMapException(SYMBOL + " returned CUresult " + status + " for " + describe(dataType, address, dims, stridesBytes, box, swizzle));
            }
            long[] bytes = new long[MAP_BYTES / 8];
            for (int i = 0; i < bytes.length; i++) bytes[i] = MemoryAccess.getLongAtIndex(map, i);
            return bytes;
        }
    }

    /** The driver's documented rules for a tiled map without interleave (cuda.h, cuTensorMapEncodeTiled). */
    static void validate(int dataType, int elementBytes, long address, long[] dims, long[] stridesBytes, int[] box, int swizzle) {
        String what = describe(dataType, address, dims, stridesBytes, box, swizzle);
        int rank = dims.length;
        if (rank < 1 || rank > 5) fail(what, "rank must be 1 to 5");
        if (stridesBytes.length != rank - 1 || box.length != rank) fail(what, "expected " + (rank - 1) + " strides and " + rank + " box sizes");
        if (elementBytes != 1 && elementBytes != 2 && elementBytes != 4 && elementBytes != 8) fail(what, "element size " + elementBytes + " bytes");
        if (address % 16 != 0) fail(what, "the global address must be 16-byte aligned");
        for (long d : dims) if (d < 1 || d > (1L << 32)) fail(what, "every dimension must be 1 to 2^32 elements");
        for (long s : stridesBytes) if (s <= 0 || s % 16 != 0 || s >= (1L << 40)) fail(what, "every stride must be a positive multiple of 16 bytes below 2^40");
        for (int b : box) if (b < 1 || b > 256) fail(what, "every box size must be 1 to 256 elements");
        long innerBytes = (long) box[0] * elementBytes;
        if (innerBytes % 16 != 0) fail(what, "the box's inner extent (" + innerBytes + " bytes) must be a multiple of 16 bytes");
        if (swizzle == SWIZZLE_128B && innerBytes > 128) fail(what, "with 128-byte swizzle the box's inner extent must be at most 128 bytes, got " + innerBytes);
        if (swizzle != SWIZZLE_NONE && swizzle != SWIZZLE_128B) fail(what, "swizzle " + swizzle + " is not used by the engine");
    }

    private static void fail(String what, String rule) {
        throw new TensorMapException("tensor map " + what + ": " + rule);
    }

    private static String describe(int dataType, long address, long[] dims, long[] stridesBytes, int[] box, int swizzle) {
        return "(data type " + dataType + ", address 0x" + Long.toHexString(address) + ", dims " + Arrays.toString(dims)
                + ", strides " + Arrays.toString(stridesBytes) + " B, box " + Arrays.toString(box) + ", swizzle " + swizzle + ")";
    }
}
