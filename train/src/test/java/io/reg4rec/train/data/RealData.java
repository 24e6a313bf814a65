package io.reg4rec.train.data;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the real Amazon data sits when the checkout has it (../shared/data relative to the repo root). */
public final class RealData {
    private RealData() {}

    /** The dataset directory (beauty or sports), or null when it is not present. */
    public static Path dir(String name) {
        // surefire runs in the module directory (train/), the repo root is its parent
        for (Path base : new Path[]{Path.of("..", "..", "shared", "data", "amazon"), Path.of("..", "shared", "data", "amazon")}) {
            Path d = base.resolve(name);
            if (Files.isRegularFile(d.resolve("sequences.txt"))) return d;
        }
        return null;
    }
}
