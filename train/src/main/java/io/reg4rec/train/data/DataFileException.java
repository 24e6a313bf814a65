package io.reg4rec.train.data;

import java.nio.file.Path;

/**
 * A data file that cannot be loaded: missing, unreadable, malformed or inconsistent. The message
 * always names the file and, when the problem sits on one line, the 1-based line number. Loaders
 * throw it before returning anything, so no partially loaded dataset escapes.
 */
public final class DataFileException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient Path file;
    private final long line;

    public DataFileException(Path file, long line, String message) {
        this(file, line, message, null);
    }

    public DataFileException(Path file, long line, String message, Throwable cause) {
        super(file + (line > 0 ? ":" + line : "") + ": " + message, cause);
        this.file = file;
        this.line = line;
    }

    /** The offending file. */
    public Path file() { return file; }

    /** The 1-based line, or 0 when the problem is not tied to one line. */
    public long line() { return line; }
}
