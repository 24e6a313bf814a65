package io.reg4rec.model.io;

import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;

/**
 * Prints one line per tensor of a safetensors file, sorted by name:
 * {@code name dtype [shape] crc32=<hex of the raw bytes> sum=<sum of the values as doubles>},
 * the same lines as {@code bench/torch/check_safetensors.py}, so a file can be compared
 * across implementations with diff.
 *
 * <p>Usage: {@code java io.reg4rec.model.io.SafeTensorsDump FILE}
 */
public final class SafeTensorsDump {
    private SafeTensorsDump() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: SafeTensorsDump FILE.safetensors");
            System.exit(2);
        }
        Path file = Path.of(args[0]);
        SafeTensors.Header header = SafeTensors.readHeader(file);
        if (!header.metadata().isEmpty()) System.out.println("metadata " + new TreeMap<>(header.metadata()));
        Map<String, Tensor> tensors = SafeTensors.load(file, Device.CPU);
        try {
            for (Map.Entry<String, Tensor> e : new TreeMap<>(tensors).entrySet()) {
                System.out.println(line(e.getKey(), e.getValue(), SafeTensors.readBytes(file, e.getKey())));
            }
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    static String line(String name, Tensor t, byte[] raw) {
        CRC32 crc = new CRC32();
        crc.update(raw);
        double sum = 0;
        if (t.dtype() == io.reg4rec.engine.DType.F64) {
            for (double v : (double[]) t.toHost()) sum += v;
        } else if (t.dtype().isFloating()) {
            for (float v : t.toFloatArray()) sum += v;
        } else {
            for (long v : t.toLongArray()) sum += v;
        }
        return String.format(java.util.Locale.ROOT, "%s %s %s crc32=%08x sum=%.6e", name, SafeTensors.formatName(t.dtype()),
                Arrays.toString(t.shape()).replace(" ", ""), crc.getValue(), sum);
    }
}
