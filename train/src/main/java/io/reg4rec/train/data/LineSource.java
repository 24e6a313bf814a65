package io.reg4rec.train.data;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads a text file (optionally gzip) line by line as strict UTF-8, keeping the line number so
 * every error can name file and line. Lines are split on '\n' at the byte level and decoded one
 * at a time, so an encoding error is reported on the line that holds it (a decoding reader would
 * report it wherever its read-ahead buffer happened to end). A trailing '\r' is dropped.
 */
public final class LineSource implements AutoCloseable {
    private final Path file;
    private final InputStream in;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
    private byte[] buffer = new byte[1 << 16];
    private int start, end;
    private boolean eof;
    private byte[] lineBytes = new byte[256];
    private long lineNumber;

    private LineSource(Path file, InputStream in) {
        this.file = file;
        this.in = in;
    }

    /** Opens file; gzip when the name ends in ".gz". Missing or unreadable files raise {@link DataFileException}. */
    public static LineSource open(Path file) {
        InputStream raw;
        try {
            raw = Files.newInputStream(file);
        } catch (NoSuchFileException e) {
            throw new DataFileException(file, 0, "file not found", e);
        } catch (IOException e) {
            throw new DataFileException(file, 0, "cannot open: " + e.getMessage(), e);
        }
        if (!file.getFileName().toString().endsWith(".gz")) return new LineSource(file, raw);
        try {
            return new LineSource(file, new GZIPInputStream(raw, 1 << 16));
        } catch (IOException e) {
            closeQuietly(raw);
            throw new DataFileException(file, 1, "not a readable gzip stream: " + e.getMessage(), e);
        }
    }

    public Path file() { return file; }

    /** 1-based number of the line last returned by {@link #next()}. */
    public long lineNumber() { return lineNumber; }

    /** The next line without its terminator, or null at the end of the file. */
    public String next() {
        int length = 0;
        boolean sawAny = false;
        while (true) {
            if (start == end) {
                if (eof || !fill()) {
                    if (!sawAny) return null;
                    break;
                }
            }
            sawAny = true;
            int newline = -1;
            for (int i = start; i < end; i++) {
                if (buffer[i] == '\n') { newline = i; break; }
            }
            int chunkEnd = newline < 0 ? end : newline;
            int n = chunkEnd - start;
            if (length + n > lineBytes.length) lineBytes = java.util.Arrays.copyOf(lineBytes, Math.max(lineBytes.length * 2, length + n));
            System.arraycopy(buffer, start, lineBytes, length, n);
            length += n;
            if (newline >= 0) {
                start = newline + 1;
                break;
            }
            start = end;
        }
        lineNumber++;
        if (length > 0 && lineBytes[length - 1] == '\r') length--;
        try {
            return utf8.reset().decode(ByteBuffer.wrap(lineBytes, 0, length)).toString();
        } catch (CharacterCodingException e) {
            throw error("not valid UTF-8", e);
        }
    }

    private boolean fill() {
        try {
            int n = in.read(buffer, 0, buffer.length);
            if (n < 0) {
                eof = true;
                return false;
            }
            start = 0;
            end = n;
            return true;
        } catch (EOFException e) {
            throw new DataFileException(file, lineNumber + 1, "truncated file (unexpected end of compressed data)", e);
        } catch (ZipException e) {
            throw new DataFileException(file, lineNumber + 1, "corrupt gzip data: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new DataFileException(file, lineNumber + 1, "read failed: " + e.getMessage(), e);
        }
    }

    /** An exception for the line last returned. */
    public DataFileException error(String message) {
        return error(message, null);
    }

    public DataFileException error(String message, Throwable cause) {
        return new DataFileException(file, lineNumber, message, cause);
    }

    @Override
    public void close() {
        closeQuietly(in);
    }

    private static void closeQuietly(InputStream s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // nothing was written; a failed close of a read-only stream loses nothing
        }
    }
}
