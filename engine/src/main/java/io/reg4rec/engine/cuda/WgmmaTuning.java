package io.reg4rec.engine.cuda;

import java.util.List;
import java.util.Locale;

/**
 * How the wgmma GEMMs (kernels/src/main/cuda/gemm_wgmma.cu) are cut: the kernel variant (tile
 * width, cp.async ring stages, wgmma groups left in flight) and the k split; and which variant
 * (tile width, TMA ring stages) of the TMA GEMMs (gemm_tma.cu) runs. Read once from the
 * system properties when this class loads ({@link #VARIANT_PROPERTY}, {@link #TILE_PROPERTY},
 * {@link #SPLIT_PROPERTY}, {@link #TMA_VARIANT_PROPERTY}); tests and benchmarks switch it at run time with {@link #use}, so one
 * process can time or check every variant (OwnGemmBench --sweep).
 */
public final class WgmmaTuning {
    /** A variant name of {@link #VARIANTS} (e.g. n128_s3_w0) or auto (OwnTensorCoreGemm.DEFAULT_BF16 / DEFAULT_FP8). */
    public static final String VARIANT_PROPERTY = "reg4rec.gemm.wgmma.variant";
    /** With the variant auto: the tile width (128 or 256) instead of the plan's choice. */
    public static final String TILE_PROPERTY = "reg4rec.gemm.wgmma.tileN";
    /** The number of k slices (1: no split-K) instead of the plan's choice. */
    public static final String SPLIT_PROPERTY = "reg4rec.gemm.wgmma.splitK";

    /** One compiled kernel variant: entry point suffix n{tileN}_s{stages}_w{waitDepth}. */
    public record Variant(int tileN, int stages, int waitDepth) {
        public String suffix() {
            return "n" + tileN + "_s" + stages + "_w" + waitDepth;
        }

        /** gemm_wgmma.cu's WG_SMEM_BYTES: the ring of (128 + tileN) x 128-byte stages plus 1 KiB of alignment slack. */
        public int sharedBytes() {
            return stages * (128 + tileN) * 128 + 1024;
        }

        @Override
        public String toString() {
            return suffix();
        }

        /** The built variant of that name; clear exception naming the built ones otherwise. */
        public static Variant named(String name) {
            for (Variant v : VARIANTS) if (v.suffix().equals(name)) return v;
            throw new IllegalArgumentException("wgmma GEMM variant '" + name + "' is not built; built: " + VARIANTS);
        }
    }

    /** Every variant gemm_wgmma.cu is compiled in (its WG_ENTRY_WIDTHS list, same order). */
    public static final List<Variant> VARIANTS = List.of(
            new Variant(128, 3, 0), new Variant(128, 4, 1), new Variant(128, 6, 1),
            new Variant(256, 3, 0), new Variant(256, 4, 1));

    /**
     * variant: a forced variant, or null (the plan's tile width, or tileN when not 0, with the
     * default variant of that width); splitK: forced k slices, or 0 (the plan's).
     */
    public record Setting(Variant variant, int tileN, int splitK) {
        public Setting {
            if (tileN != 0 && tileN != 128 && tileN != 256) throw new IllegalArgumentException("wgmma tile width " + tileN + ": expected 128 or 256");
            if (splitK < 0) throw new IllegalArgumentException("wgmma k slices " + splitK + ": expected a positive count or 0 (the plan's)");
        }

        /** Everything automatic (plan and defaults). */
        public static final Setting AUTO = new Setting(null, 0, 0);

        public static Setting of(Variant variant, int splitK) {
            return new Setting(variant, 0, splitK);
        }
    }

    private static volatile Setting current = fromProperties();

    /** A TMA kernel variant name of {@link #TMA_VARIANTS} (e.g. n256_s4) or auto (OwnTensorCoreGemm's choice by shape). */
    public static final String TMA_VARIANT_PROPERTY = "reg4rec.gemm.tma.variant";
    /** {@code false} keeps the TMA kernel's output stores in the registers even where a TMA store could take them (benchmarks compare the two). */
    public static final String TMA_STORE_PROPERTY = "reg4rec.gemm.tma.store";

    /** Whether the TMA kernel may store bf16 output tiles through the TMA unit ({@link #TMA_STORE_PROPERTY}, default true). */
    public static boolean tmaStoreEnabled() {
        return !"false".equalsIgnoreCase(System.getProperty(TMA_STORE_PROPERTY, "true").trim());
    }

    /** One compiled variant of gemm_tma.cu: entry point suffix n{tileN}_s{stages}. */
    public record TmaVariant(int tileN, int stages) {
        public String suffix() {
            return "n" + tileN + "_s" + stages;
        }

        /**
         * gemm_tma.cu's TMA_SMEM_BYTES: the ring of (128 + tileN) x 128-byte stages, the 32 KiB
         * bf16 output staging tile of {@link #stagesOutput} variants, 1 KiB of alignment slack,
         * 256 B of mbarriers.
         */
        public int sharedBytes() {
            return stages * (128 + tileN) * 128 + (stagesOutput() ? 128 * 128 * 2 : 0) + 1024 + 256;
        }

        /** Whether the variant can stage a bf16 output tile for a TMA store (gemm_tma.cu's TMA_STAGING_BYTES: 128 x 128 tiles). */
        public boolean stagesOutput() {
            return tileN == 128;
        }

        @Override
        public String toString() {
            return suffix();
        }

        /** The built TMA variant of that name; clear exception naming the built ones otherwise. */
        public static TmaVariant named(String name) {
            for (TmaVariant v : TMA_VARIANTS) if (v.suffix().equals(name)) return v;
            throw new IllegalArgumentException("TMA GEMM variant '" + name + "' is not built; built: " + TMA_VARIANTS);
        }
    }

    /** Every variant gemm_tma.cu is compiled in (its TMA_ENTRY_VARIANTS list, same order). */
    public static final List<TmaVariant> TMA_VARIANTS = List.of(new TmaVariant(256, 4), new TmaVariant(128, 6));

    private static volatile TmaVariant tmaForced = tmaFromProperties();

    /** The forced TMA variant, or null (OwnTensorCoreGemm chooses by shape). */
    public static TmaVariant tmaVariant() {
        return tmaForced;
    }

    /** Forces a TMA variant (null: choose by shape) for every later TMA GEMM; returns the previous one (to restore). */
    public static TmaVariant useTma(TmaVariant variant) {
        TmaVariant previous = tmaForced;
        tmaForced = variant;
        return previous;
    }

    /** The TMA variant {@link #TMA_VARIANT_PROPERTY} names now (null: auto). */
    public static TmaVariant tmaFromProperties() {
        String name = System.getProperty(TMA_VARIANT_PROPERTY, "").trim().toLowerCase(Locale.ROOT);
        if (name.isEmpty() || name.equals("auto")) return null;
        try {
            return TmaVariant.named(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("-D" + TMA_VARIANT_PROPERTY + "=" + name + ": " + e.getMessage(), e);
        }
    }

    private WgmmaTuning() {}

    public static Setting current() {
        return current;
    }

    /** Switches the tuning for every later wgmma GEMM; returns the previous setting (to restore). */
    public static Setting use(Setting setting) {
        Setting previous = current;
        current = java.util.Objects.requireNonNull(setting, "setting");
        return previous;
    }

    /** Back to what the system properties say (read again now). */
    public static void reset() {
        current = fromProperties();
        tmaForced = tmaFromProperties();
    }

    /** The setting the system properties give now. */
    public static Setting fromProperties() {
        String variant = System.getProperty(VARIANT_PROPERTY, "").trim().toLowerCase(Locale.ROOT);
        Variant forced;
        try {
            forced = variant.isEmpty() || variant.equals("auto") ? null : Variant.named(variant);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("-D" + VARIANT_PROPERTY + "=" + variant + ": " + e.getMessage(), e);
        }
        int tileN = intProperty(TILE_PROPERTY), splitK = intProperty(SPLIT_PROPERTY);
        if (tileN != 0 && tileN != 128 && tileN != 256) throw new IllegalArgumentException("-D" + TILE_PROPERTY + "=" + tileN + ": expected 128 or 256");
        if (splitK < 0) throw new IllegalArgumentException("-D" + SPLIT_PROPERTY + "=" + splitK + ": expected a positive slice count");
        return new Setting(forced, tileN, splitK);
    }

    private static int intProperty(String property) {
        String v = System.getProperty(property, "").trim();
        if (v.isEmpty() || v.equalsIgnoreCase("auto")) return 0;
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + property + "=" + v + ": expected an integer or auto", e);
        }
    }
}
