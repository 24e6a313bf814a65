package io.reg4rec.engine.cuda;

import java.util.Locale;

/**
 * Switches between equivalent fused-attention kernel choices on CUDA (same results within each
 * dtype's tolerance), so the alternatives can be timed and tested in one process. Each starts from
 * a system property read once, when this class loads; {@link #set} changes it for the whole
 * process (benchmarks and tests; not thread-safe against attention launches in flight elsewhere).
 * <ul>
 * <li>{@code -Dreg4rec.attention.bf16Short=short|mma} (default mma): which forward kernel serves
 *     BF16 with Tk <= 64 (head dim 32 / 64, Tq > 4): attention_short.cu (SIMT, exact softmax) or
 *     attention_mma.cu (tensor cores; only with 16-byte aligned rows, else short is used).
 * <li>{@code -Dreg4rec.attention.shortGroups=round4|exact|half} (default round4): thread groups of
 *     the short forward (8 threads, 4 query rows each): covering min(Tq, 64) rows rounded up to a
 *     multiple of 4 groups (whole warps), exactly (Tq 50: 13 groups, 52 rows instead of 64), or
 *     exactly for half the rows (two blocks per (b, h) and query range: more, smaller blocks).
 * <li>{@code -Dreg4rec.attention.shortFwdRegs=free|capped64} (default capped64): the short forward
 *     compiled without a register cap (72 registers: 7 blocks of 128 threads per multiprocessor) or
 *     held to 64 (8 blocks; a few bytes spill to L1).
 * </ul>
 * The defaults are the fastest settings of {@code AttentionBench --variants} on the H200 (commit
 * a4187b7): encoder self-attention 50x50 bf16 forward 0.061 ms with mma vs 0.125 with short,
 * fp32 forward 0.122 ms capped vs 0.247 free; the other model shapes within 0.02 ms either way.
 */
public final class AttentionTuning {
    public enum Bf16Short { SHORT, MMA }

    public enum ShortGroups { ROUND4, EXACT, HALF }

    public enum ShortFwdRegs { FREE, CAPPED64 }

    public static final String BF16_SHORT_PROPERTY = "reg4rec.attention.bf16Short";
    public static final String SHORT_GROUPS_PROPERTY = "reg4rec.attention.shortGroups";
    public static final String SHORT_FWD_REGS_PROPERTY = "reg4rec.attention.shortFwdRegs";

    /** One combination of the settings, named as on the command line, e.g. "bf16Short=mma,shortGroups=round4,shortFwdRegs=free". */
    public record Setting(Bf16Short bf16Short, ShortGroups shortGroups, ShortFwdRegs shortFwdRegs) {
        public String name() {
            return "bf16Short=" + bf16Short.name().toLowerCase(Locale.ROOT) + ",shortGroups=" + shortGroups.name().toLowerCase(Locale.ROOT)
                    + ",shortFwdRegs=" + shortFwdRegs.name().toLowerCase(Locale.ROOT);
        }
    }

    private static volatile Setting current = new Setting(
            parse(Bf16Short.class, BF16_SHORT_PROPERTY, Bf16Short.MMA),
            parse(ShortGroups.class, SHORT_GROUPS_PROPERTY, ShortGroups.ROUND4),
            parse(ShortFwdRegs.class, SHORT_FWD_REGS_PROPERTY, ShortFwdRegs.CAPPED64));

    private AttentionTuning() {}

    private static <E extends Enum<E>> E parse(Class<E> type, String property, E fallback) {
        String value = System.getProperty(property);
        if (value == null || value.isBlank()) return fallback;
        try {
            return Enum.valueOf(type, value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("-D" + property + "=" + value + ": expected one of "
                    + java.util.Arrays.toString(type.getEnumConstants()).toLowerCase(Locale.ROOT), e);
        }
    }

    public static Setting current() {
        return current;
    }

    public static void set(Setting setting) {
        current = java.util.Objects.requireNonNull(setting, "setting");
    }

    /** The settings worth timing against each other: the process default first, then each single change from it. */
    public static java.util.List<Setting> variants() {
        Setting base = current;
        java.util.List<Setting> all = new java.util.ArrayList<>();
        all.add(base);
        for (Bf16Short b : Bf16Short.values()) if (b != base.bf16Short()) all.add(new Setting(b, base.shortGroups(), base.shortFwdRegs()));
        for (ShortGroups g : ShortGroups.values()) if (g != base.shortGroups()) all.add(new Setting(base.bf16Short(), g, base.shortFwdRegs()));
        for (ShortFwdRegs r : ShortFwdRegs.values()) {
            if (r == base.shortFwdRegs()) continue;
            all.add(new Setting(base.bf16Short(), base.shortGroups(), r));
            // fewer threads per block and fewer registers may combine: time them together too
            for (ShortGroups g : ShortGroups.values()) if (g != base.shortGroups()) all.add(new Setting(base.bf16Short(), g, r));
        }
        return all;
    }

    /** Every combination, for tests. */
    public static java.util.List<Setting> all() {
        java.util.List<Setting> all = new java.util.ArrayList<>();
        for (Bf16Short b : Bf16Short.values())
            for (ShortGroups g : ShortGroups.values())
                for (ShortFwdRegs r : ShortFwdRegs.values()) all.add(new Setting(b, g, r));
        return all;
    }
}
