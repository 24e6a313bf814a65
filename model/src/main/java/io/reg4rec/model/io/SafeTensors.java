package io.reg4rec.model.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.Module;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The safetensors checkpoint format: an 8-byte little-endian header length N, N bytes of JSON
 * {@code {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {"key": "value"}}} (padded with spaces to a multiple of 8), then the tensors'
 * raw little-endian bytes, back to back, offsets relative to the end of the header.
 *
 * <p>Saving writes a temporary file in the target's directory, forces it to disk and renames it
 * over the target atomically, so a crash never leaves a half-written checkpoint under the name.
 * Reading checks the whole layout (header bounds, dtypes, shapes, offsets that tile the data
 * exactly) before trusting any offset; every error names the file and, where there is one, the
 * tensor.
 */
public final class SafeTensors {
    /** The reserved header key for string metadata. */
    public static final String METADATA_KEY = "__metadata__";
    /** Upper bound on the JSON header, as in the reference implementation. */
    static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper();

    private SafeTensors() {}

    /** One tensor's header entry: dtype, shape and byte range within the data section. */
    public record Entry(String name, DType dtype, int[] shape, long begin, long end) {
        public long numel() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }

        @Override
        public String toString() {
            return name + " " + formatName(dtype) + " " + Arrays.toString(shape) + " [" + begin + ", " + end + ")";
        }
    }

    /** A parsed header: entries in data order, metadata, and where the data section starts. */
    public record Header(Path file, List<Entry> entries, Map<String, String> metadata, long dataStart) {
        public Entry entry(String name) {
            for (Entry e : entries) if (e.name.equals(name)) return e;
            return null;
        }
    }

    // ---------------------------------------------------------------- dtype names

    /** The format's dtype name for an engine dtype. */
    public static String formatName(DType dtype) {
        return switch (dtype) {
            case F64 -> "F64";
            case F32 -> "F32";
            case BF16 -> "BF16";
            case F8E4M3 -> "F8_E4M3";
            case F8E5M2 -> "F8_E5M2";
            case I32 -> "I32";
            case I64 -> "I64";
        };
    }

    private static DType parseDType(String name) {
        return switch (name) {
            case "F64" -> DType.F64;
            case "F32" -> DType.F32;
            case "BF16" -> DType.BF16;
            case "F8_E4M3" -> DType.F8E4M3;
            case "F8_E5M2" -> DType.F8E5M2;
            case "I32" -> DType.I32;
            case "I64" -> DType.I64;
            default -> null;
        };
    }

    // ---------------------------------------------------------------- saving

    /** Saves a module's parameters under their dotted names. */
    public static void save(Path file, Module module, Map<String, String> metadata) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        module.namedParameters().forEach((name, p) -> tensors.put(name, p.data()));
        save(file, tensors, metadata);
    }

    public static void save(Path file, Map<String, Tensor> tensors) throws IOException {
        save(file, tensors, Map.of());
    }

    /** Saves tensors (any device, any strides) in map order, with optional string metadata. */
    public static void save(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = header.putObject(METADATA_KEY);
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            String name = e.getKey();
            Tensor t = e.getValue();
            if (name == null || name.isEmpty() || name.equals(METADATA_KEY)) throw new IllegalArgumentException("safetensors: bad tensor name '" + name + "' for " + file);
            if (t.isClosed()) throw new IllegalArgumentException("safetensors: tensor '" + name + "' is released, cannot save it to " + file);
            long bytes = t.numel() * t.dtype().byteSize();
            ObjectNode entry = header.putObject(name);
            entry.put("dtype", formatName(t.dtype()));
            var shape = entry.putArray("shape");
            for (int d : t.shape()) shape.add(d);
            var offsets = entry.putArray("data_offsets");
            offsets.add(offset);
            offsets.add(offset + bytes);
            offset += bytes;
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = Arrays.copyOf(json, padded);
        Arrays.fill(headerBytes, json.length, padded, (byte) ' ');

        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, target.getFileName().toString() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(headerBytes.length).flip();
                writeFully(ch, length);
                writeFully(ch, ByteBuffer.wrap(headerBytes));
                for (Tensor t : tensors.values()) writeFully(ch, toLittleEndian(t));
                ch.force(true);
            }
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (java.nio.file.AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temp);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) ch.write(buffer);
    }

    private static ByteBuffer toLittleEndian(Tensor t) {
        Object host = t.toHost();
        long bytes = t.numel() * t.dtype().byteSize();
        if (bytes > Integer.MAX_VALUE) throw new IllegalArgumentException("safetensors: tensor " + t.describe() + " exceeds 2 GiB");
        ByteBuffer b = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        switch (t.dtype()) {
            case F64 -> b.asDoubleBuffer().put((double[]) host);
            case F32 -> b.asFloatBuffer().put((float[]) host);
            case BF16 -> b.asShortBuffer().put((short[]) host);
            case F8E4M3, F8E5M2 -> b.put((byte[]) host);
            case I32 -> b.asIntBuffer().put((int[]) host);
            case I64 -> b.asLongBuffer().put((long[]) host);
        }
        b.position(0);
        return b;
    }

    // ---------------------------------------------------------------- reading

    /** Reads and validates the header only. */
    public static Header readHeader(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return readHeader(file, ch);
        }
    }

    private static Header readHeader(Path file, FileChannel ch) throws IOException {
        long size = ch.size();
        if (size < 8) throw new SafeTensorsException(file + ": not a safetensors file: " + size + " bytes, shorter than the 8-byte header length");
        ByteBuffer lengthBytes = readAt(file, ch, 0, 8).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = lengthBytes.getLong(0);
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES) {
            throw new SafeTensorsException(file + ": header length " + Long.toUnsignedString(headerLength) + " is out of range (2 to " + MAX_HEADER_BYTES + " bytes)");
        }
        if (8 + headerLength > size) {
            throw new SafeTensorsException(file + ": truncated: the header claims " + headerLength + " bytes but the file has only " + (size - 8) + " after the length");
        }
        ByteBuffer headerBytes = readAt(file, ch, 8, (int) headerLength);
        String text = StandardCharsets.UTF_8.decode(headerBytes).toString();
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new SafeTensorsException(file + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) throw new SafeTensorsException(file + ": header is not a JSON object");

        long dataSize = size - 8 - headerLength;
        List<Entry> entries = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String name = field.getKey();
            JsonNode node = field.getValue();
            if (name.equals(METADATA_KEY)) {
                if (!node.isObject()) throw new SafeTensorsException(file + ": " + METADATA_KEY + " must be an object of strings");
                for (Iterator<Map.Entry<String, JsonNode>> m = node.fields(); m.hasNext(); ) {
                    Map.Entry<String, JsonNode> kv = m.next();
                    if (!kv.getValue().isTextual()) throw new SafeTensorsException(file + ": metadata value '" + kv.getKey() + "' is not a string");
                    metadata.put(kv.getKey(), kv.getValue().textValue());
                }
                continue;
            }
            entries.add(parseEntry(file, name, node));
        }
        checkLayout(file, entries, dataSize);
        entries.sort(Comparator.comparingLong(Entry::begin));
        return new Header(file, Collections.unmodifiableList(entries), Collections.unmodifiableMap(metadata), 8 + headerLength);
    }

    private static Entry parseEntry(Path file, String name, JsonNode node) throws SafeTensorsException {
        String where = file + ": tensor '" + name + "'";
        if (!node.isObject()) throw new SafeTensorsException(where + ": header entry is not an object");
        for (Iterator<String> keys = node.fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            if (!key.equals("dtype") && !key.equals("shape") && !key.equals("data_offsets")) {
                throw new SafeTensorsException(where + ": unknown header field '" + key + "'");
            }
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) throw new SafeTensorsException(where + ": missing or non-string dtype");
        DType dtype = parseDType(dtypeNode.textValue());
        if (dtype == null) throw new SafeTensorsException(where + ": unsupported dtype " + dtypeNode.textValue() + " (F64, F32, BF16, F8_E4M3, F8_E5M2, I32, I64 are)");
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) throw new SafeTensorsException(where + ": missing or non-array shape");
        int[] shape = new int[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToInt() || !d.isIntegralNumber() || d.intValue() < 0) throw new SafeTensorsException(where + ": bad dimension " + d + " in shape " + shapeNode);
            shape[i] = d.intValue();
            numel = multiplyChecked(numel, shape[i], where);
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2 || !offsets.get(0).isIntegralNumber() || !offsets.get(1).isIntegralNumber()
                || !offsets.get(0).canConvertToLong() || !offsets.get(1).canConvertToLong()) {
            throw new SafeTensorsException(where + ": data_offsets must be [begin, end], got " + offsets);
        }
        long begin = offsets.get(0).longValue(), end = offsets.get(1).longValue();
        if (begin < 0 || end < begin) throw new SafeTensorsException(where + ": bad data_offsets [" + begin + ", " + end + "]");
        long expected = multiplyChecked(numel, dtype.byteSize(), where);
        if (end - begin != expected) {
            throw new SafeTensorsException(where + ": " + dtypeNode.textValue() + " " + Arrays.toString(shape) + " needs " + expected
                    + " bytes but data_offsets [" + begin + ", " + end + "] span " + (end - begin));
        }
        if (numel > Integer.MAX_VALUE) throw new SafeTensorsException(where + ": " + numel + " elements exceed what one tensor can hold here");
        return new Entry(name, dtype, shape, begin, end);
    }

    private static long multiplyChecked(long a, long b, String where) throws SafeTensorsException {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new SafeTensorsException(where + ": shape overflows");
        }
    }

    /** The byte ranges must tile [0, dataSize) exactly: no gaps, no overlaps, nothing past the end. */
    private static void checkLayout(Path file, List<Entry> entries, long dataSize) throws SafeTensorsException {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin));
        long expected = 0;
        for (Entry e : sorted) {
            if (e.end > dataSize) {
                throw new SafeTensorsException(file + ": truncated: tensor '" + e.name + "' ends at data byte " + e.end + " but the file holds " + dataSize + " data bytes");
            }
            if (e.begin != expected) {
                throw new SafeTensorsException(file + ": tensor '" + e.name + "' starts at data byte " + e.begin + ", expected " + expected
                        + (e.begin < expected ? " (overlaps the previous tensor)" : " (a gap before it)"));
            }
            expected = e.end;
        }
        if (expected != dataSize) {
            throw new SafeTensorsException(file + ": " + (dataSize - expected) + " data bytes after the last tensor are not described by the header");
        }
    }

    private static ByteBuffer readAt(Path file, FileChannel ch, long position, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            int n = ch.read(b, position + b.position());
            if (n < 0) throw new SafeTensorsException(file + ": truncated: expected " + length + " bytes at offset " + position);
        }
        return b.flip();
    }

    /** Loads every tensor onto device, in data order. The caller owns (closes) the tensors. */
    public static Map<String, Tensor> load(Path file, Device device) throws IOException {
        Map<String, Tensor> out = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header header = readHeader(file, ch);
            for (Entry e : header.entries) out.put(e.name, readTensor(file, ch, header, e, device));
        } catch (IOException | RuntimeException ex) {
            for (Tensor t : out.values()) t.close();
            throw ex;
        }
        return out;
    }

    /** The raw little-endian bytes of one tensor. */
    public static byte[] readBytes(Path file, String name) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header header = readHeader(file, ch);
            Entry e = header.entry(name);
            if (e == null) throw new SafeTensorsException(file + ": no tensor '" + name + "'");
            ByteBuffer b = readAt(file, ch, header.dataStart + e.begin, (int) (e.end - e.begin));
            byte[] out = new byte[b.remaining()];
            b.get(out);
            return out;
        }
    }

    private static Tensor readTensor(Path file, FileChannel ch, Header header, Entry e, Device device) throws IOException {
        ByteBuffer b = readAt(file, ch, header.dataStart + e.begin, (int) (e.end - e.begin)).order(ByteOrder.LITTLE_ENDIAN);
        int n = (int) e.numel();
        Object host = e.dtype.newHostArray(n);
        switch (e.dtype) {
            case F64 -> b.asDoubleBuffer().get((double[]) host);
            case F32 -> b.asFloatBuffer().get((float[]) host);
            case BF16 -> b.asShortBuffer().get((short[]) host);
            case F8E4M3, F8E5M2 -> b.get((byte[]) host);
            case I32 -> b.asIntBuffer().get((int[]) host);
            case I64 -> b.asLongBuffer().get((long[]) host);
        }
        return Tensor.fromHost(device, e.dtype, host, e.shape);
    }

    /**
     * Loads a checkpoint into a module's parameters (by dotted name) on their own devices. The
     * file must hold exactly the module's parameters with their shapes and dtypes; otherwise
     * nothing is modified and the exception lists every missing, unexpected or mismatched tensor.
     */
    public static void loadInto(Path file, Module module) throws IOException {
        Map<String, Variable> params = module.namedParameters();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header header = readHeader(file, ch);
            List<String> problems = new ArrayList<>();
            TreeSet<String> missing = new TreeSet<>(params.keySet());
            for (Entry e : header.entries) {
                Variable p = params.get(e.name);
                if (p == null) {
                    problems.add("unexpected tensor '" + e.name + "' (" + formatName(e.dtype) + " " + Arrays.toString(e.shape) + ") that the model does not have");
                    continue;
                }
                missing.remove(e.name);
                if (!Arrays.equals(p.shape(), e.shape)) {
                    problems.add("tensor '" + e.name + "' has shape " + Arrays.toString(e.shape) + " in the file, the model expects " + Arrays.toString(p.shape()));
                }
                if (p.dtype() != e.dtype) {
                    problems.add("tensor '" + e.name + "' has dtype " + formatName(e.dtype) + " in the file, the model expects " + formatName(p.dtype()));
                }
            }
            for (String name : missing) {
                Variable p = params.get(name);
                problems.add("missing tensor '" + name + "' (" + formatName(p.dtype()) + " " + Arrays.toString(p.shape()) + ")");
            }
            if (!problems.isEmpty()) {
                throw new SafeTensorsException(file + " does not match " + module.getClass().getSimpleName() + ": " + String.join("; ", problems));
            }
            try (NoGrad ignored = NoGrad.enter()) {
                for (Entry e : header.entries) {
                    Variable p = params.get(e.name);
                    try (Tensor t = readTensor(file, ch, header, e, p.device())) {
                        p.update(t);
                    }
                }
            }
        }
    }
}
