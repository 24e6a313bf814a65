package io.reg4rec.engine;

import java.util.Locale;

/** Where a tensor lives: the CPU or CUDA device {@code index}. */
public record Device(Kind kind, int index) {
    public enum Kind { CPU, CUDA }

    public static final Device CPU = new Device(Kind.CPU, 0);

    public Device {
        if (index < 0) throw new IllegalArgumentException("device index must be >= 0, got " + index);
        if (kind == Kind.CPU && index != 0) throw new IllegalArgumentException("there is only one CPU device, got cpu:" + index);
    }

    public static Device cuda(int index) { return new Device(Kind.CUDA, index); }

    public boolean isCuda() { return kind == Kind.CUDA; }

    /** Parses "cpu", "cuda" (= cuda:0) or "cuda:N". */
    public static Device parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("cpu")) return CPU;
        if (t.equals("cuda") || t.equals("gpu")) return cuda(0);
        if (t.startsWith("cuda:")) {
            try {
                return cuda(Integer.parseInt(t.substring(5)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad device '" + text + "': expected cpu, cuda or cuda:N");
            }
        }
        throw new IllegalArgumentException("bad device '" + text + "': expected cpu, cuda or cuda:N");
    }

    @Override
    public String toString() { return kind == Kind.CPU ? "cpu" : "cuda:" + index; }
}
