package io.reg4rec.model.tokenizer;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The plain token file: one line {@code item_id t1 ... tM} per item 1..N, space separated, in
 * item order; token r is the codeword index in codebook r (for RQ-VAE, at level r).
 */
public final class TokenFiles {
    private TokenFiles() {}

    /** Writes rows 1..N of a token table (row 0, the padding row, is not written). */
    public static void write(Path file, int[][] tokens) throws IOException {
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            for (int i = 1; i < tokens.length; i++) {
                StringBuilder line = new StringBuilder().append(i);
                for (int t : tokens[i]) line.append(' ').append(t);
                w.write(line.append('\n').toString());
            }
        }
    }

    /** Reads a token file back into a table whose row 0 is -1s; items must be 1..N in order. */
    public static int[][] read(Path file) throws IOException {
        List<int[]> rows = new ArrayList<>();
        int width = -1, lineNo = 0;
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            lineNo++;
            if (line.isBlank()) continue;
            String[] parts = line.trim().split("\\s+");
            if (width < 0) width = parts.length - 1;
            if (parts.length - 1 != width || width < 1) {
                throw new IOException(file + ":" + lineNo + ": expected an item id and " + width + " tokens, got '" + line + "'");
            }
            int[] row = new int[width];
            try {
                int item = Integer.parseInt(parts[0]);
                if (item != rows.size() + 1) throw new IOException(file + ":" + lineNo + ": expected item " + (rows.size() + 1) + ", got " + item);
                for (int r = 0; r < width; r++) row[r] = Integer.parseInt(parts[r + 1]);
            } catch (NumberFormatException e) {
                throw new IOException(file + ":" + lineNo + ": not integers: '" + line + "'", e);
            }
            rows.add(row);
        }
        if (rows.isEmpty()) throw new IOException(file + ": no items");
        int[][] out = new int[rows.size() + 1][];
        out[0] = new int[width];
        java.util.Arrays.fill(out[0], -1);
        for (int i = 0; i < rows.size(); i++) out[i + 1] = rows.get(i);
        return out;
    }
}
