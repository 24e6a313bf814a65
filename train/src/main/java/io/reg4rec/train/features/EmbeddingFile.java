package io.reg4rec.train.features;

import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.io.SafeTensors;
import io.reg4rec.train.data.DataFileException;
import io.reg4rec.train.data.LineSource;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * User-supplied item embeddings: either CSV ({@code item_id,v1,...,vE} per line, an optional
 * header line whose first field is not an integer) or a .safetensors file holding exactly one
 * rank-2 float tensor [numItems + 1, E] (row 0, the padding item, is ignored). Every item
 * 1..numItems needs exactly one vector, all of one width and finite; anything else raises
 * {@link DataFileException} naming file and line.
 */
public final class EmbeddingFile {
    private EmbeddingFile() {}

    /** [numItems + 1][E] with row 0 zero. */
    public static float[][] read(Path file, int numItems) {
        return file.getFileName().toString().endsWith(".safetensors") ? readSafeTensors(file, numItems) : readCsv(file, numItems);
    }

    private static float[][] readSafeTensors(Path file, int numItems) {
        Map<String, Tensor> tensors;
        try {
            tensors = SafeTensors.load(file, Device.CPU);
        } catch (NoSuchFileException e) {
            throw new DataFileException(file, 0, "file not found", e);
        } catch (IOException | RuntimeException e) {
            throw new DataFileException(file, 0, "cannot read safetensors: " + e.getMessage(), e);
        }
        try {
            if (tensors.size() != 1) throw new DataFileException(file, 0, "expected exactly one tensor, found " + tensors.keySet());
            var entry = tensors.entrySet().iterator().next();
            Tensor t = entry.getValue();
            int[] shape = t.shape();
            if (shape.length != 2 || shape[0] != numItems + 1 || shape[1] < 1 || !t.dtype().isFloating()) {
                throw new DataFileException(file, 0, "tensor \"" + entry.getKey() + "\" is " + t.describe()
                        + ", expected a floating [" + (numItems + 1) + ", E] tensor (numItems + 1 rows)");
            }
            float[] flat = t.toFloatArray();
            int width = shape[1];
            float[][] out = new float[numItems + 1][width];
            for (int i = 1; i <= numItems; i++) {
                System.arraycopy(flat, i * width, out[i], 0, width);
                for (float v : out[i]) {
                    if (!Float.isFinite(v)) throw new DataFileException(file, 0, "tensor \"" + entry.getKey() + "\": row " + i + " has a non-finite value");
                }
            }
            return out;
        } finally {
            for (Tensor t : tensors.values()) t.close();
        }
    }

    private static float[][] readCsv(Path file, int numItems) {
        float[][] out = new float[numItems + 1][];
        long[] lineOfItem = new long[numItems + 1];
        int width = -1;
        try (LineSource lines = LineSource.open(file)) {
            String line;
            while ((line = lines.next()) != null) {
                long lineNumber = lines.lineNumber();
                if (line.isBlank()) continue;
                String[] f = line.split(",", -1);
                int item;
                try {
                    item = Integer.parseInt(f[0].strip());
                } catch (NumberFormatException e) {
                    if (lineNumber == 1) continue; // a header
                    throw lines.error("bad item id \"" + f[0] + "\"");
                }
                if (item < 1 || item > numItems) throw lines.error("unknown item " + item + " (items are 1.." + numItems + ")");
                if (lineOfItem[item] != 0) throw lines.error("item " + item + " listed twice (first on line " + lineOfItem[item] + ")");
                if (f.length < 2) throw lines.error("item " + item + " has no values");
                if (width < 0) width = f.length - 1;
                if (f.length - 1 != width) throw lines.error("expected " + width + " values, got " + (f.length - 1));
                float[] v = new float[width];
                for (int j = 0; j < width; j++) {
                    try {
                        v[j] = Float.parseFloat(f[j + 1].strip());
                    } catch (NumberFormatException e) {
                        throw lines.error("bad value \"" + f[j + 1] + "\" in column " + (j + 2));
                    }
                    if (!Float.isFinite(v[j])) throw lines.error("non-finite value in column " + (j + 2));
                }
                out[item] = v;
                lineOfItem[item] = lineNumber;
            }
        }
        if (width < 0) throw new DataFileException(file, 0, "no embedding rows");
        for (int i = 1; i <= numItems; i++) {
            if (out[i] == null) throw new DataFileException(file, 0, "item " + i + " has no embedding (every item 1.." + numItems + " needs one)");
        }
        out[0] = new float[width];
        return out;
    }
}
