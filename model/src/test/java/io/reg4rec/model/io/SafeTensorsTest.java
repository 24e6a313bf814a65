package io.reg4rec.model.io;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.nn.EncoderDecoderTransformer;
import io.reg4rec.model.nn.Linear;
import io.reg4rec.model.nn.TransformerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SafeTensorsTest {
    @TempDir
    Path dir;
    private Scope scope;

    @BeforeEach
    void openScope() { scope = Scope.open(); }

    @AfterEach
    void closeScope() { scope.close(); }

    /** A file from a JSON header (padded to 8) and raw data bytes. */
    private Path handMade(String name, String json, byte[] data) throws IOException {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(data);
        Path file = dir.resolve(name);
        Files.write(file, b.array());
        return file;
    }

    private static byte[] le(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return b.array();
    }

    private static String message(Throwable t) { return t.getMessage(); }

    @Test
    void everyDtypeRoundTripsBitForBit() throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("f64", Tensor.fromHost(Device.CPU, DType.F64, new double[]{1.5, -2.25, Math.PI, 1e-300, Double.MAX_VALUE, -0.0}, 2, 3));
        tensors.put("f32", Tensor.of(Device.CPU, new float[]{1.5f, -2.25f, (float) Math.E, Float.MIN_VALUE}, 4));
        tensors.put("bf16", Tensor.fromHost(Device.CPU, DType.BF16, new short[]{0x3f80, (short) 0xc000, 0x7f7f, 0x0001}, 2, 2));
        tensors.put("e4m3", Tensor.fromHost(Device.CPU, DType.F8E4M3, new byte[]{0x38, (byte) 0xb8, 0x7e, 0x01, 0x00}, 5));
        tensors.put("e5m2", Tensor.fromHost(Device.CPU, DType.F8E5M2, new byte[]{0x3c, (byte) 0xbc, 0x7b}, 1, 3));
        tensors.put("i32", Tensor.of(Device.CPU, new int[]{Integer.MIN_VALUE, -1, 0, Integer.MAX_VALUE}, 4));
        tensors.put("i64", Tensor.of(Device.CPU, new long[]{Long.MIN_VALUE, -1, Long.MAX_VALUE}, 3, 1));
        tensors.put("scalar", Tensor.scalar(Device.CPU, DType.F32, 7));
        tensors.put("empty", Tensor.zeros(Device.CPU, DType.F32, 0, 3));
        tensors.put("strided view", Tensor.of(Device.CPU, new float[]{1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1));
        Path file = dir.resolve("all.safetensors");
        SafeTensors.save(file, tensors, Map.of("format", "pt", "step", "12"));

        SafeTensors.Header header = SafeTensors.readHeader(file);
        assertEquals(Map.of("format", "pt", "step", "12"), header.metadata());
        assertEquals(0, header.dataStart() % 8, "header padded to 8 bytes");
        Map<String, Tensor> loaded = SafeTensors.load(file, Device.CPU);
        assertEquals(tensors.keySet(), loaded.keySet());
        for (String name : tensors.keySet()) {
            Tensor a = tensors.get(name), b = loaded.get(name);
            assertEquals(a.dtype(), b.dtype(), name);
            assertArrayEquals(a.shape(), b.shape(), name);
            Object ha = a.toHost(), hb = b.toHost();
            assertTrue(Arrays.deepEquals(new Object[]{ha}, new Object[]{hb}), "values of " + name);
        }
        assertEquals(List.of(), listTemporaries());
    }

    @Test
    void writesTheStandardByteLayout() throws IOException {
        Path file = dir.resolve("layout.safetensors");
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        tensors.put("a", Tensor.of(Device.CPU, new float[]{1, 2}, 2));
        tensors.put("b", Tensor.of(Device.CPU, new long[]{3}, 1));
        SafeTensors.save(file, tensors);
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long n = b.getLong(0);
        String json = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[8,16]}}", json.trim());
        assertEquals(0, n % 8);
        assertEquals(8 + n + 16, bytes.length);
        assertEquals(1f, b.getFloat((int) (8 + n)));
        assertEquals(2f, b.getFloat((int) (8 + n + 4)));
        assertEquals(3L, b.getLong((int) (8 + n + 8)));
    }

    @Test
    void readsAHandMadeFileWithUnpaddedHeaderAndAnyKeyOrder() throws IOException {
        byte[] data = new byte[8 + 4];
        ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).putInt(0, -7).putFloat(4, 0.5f).putFloat(8, -1.5f);
        Path file = handMade("hand.safetensors",
                "{\"w\":{\"shape\":[1,2],\"data_offsets\":[4,12],\"dtype\":\"F32\"},\"__metadata__\":{\"k\":\"v\"},\"i\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,4]}}",
                data);
        Map<String, Tensor> loaded = SafeTensors.load(file, Device.CPU);
        assertEquals(List.of("i", "w"), List.copyOf(loaded.keySet()), "data order");
        assertArrayEquals(new int[]{-7}, (int[]) loaded.get("i").toHost());
        assertArrayEquals(new int[]{1, 2}, loaded.get("w").shape());
        assertArrayEquals(new float[]{0.5f, -1.5f}, loaded.get("w").toFloatArray());
        assertEquals("v", SafeTensors.readHeader(file).metadata().get("k"));
    }

    @Test
    void moduleRoundTripRestoresEveryParameter() throws IOException {
        TransformerConfig config = new TransformerConfig(8, 2, 16, 0.0);
        Path file = dir.resolve("model.safetensors");
        try (EncoderDecoderTransformer a = new EncoderDecoderTransformer(Device.CPU, config, 10, 10, 4, 4, 1, 1, 1);
             EncoderDecoderTransformer b = new EncoderDecoderTransformer(Device.CPU, config, 10, 10, 4, 4, 1, 1, 2)) {
            SafeTensors.save(file, a, Map.of());
            assertFalse(Arrays.equals(a.parameters().get(0).data().toFloatArray(), b.parameters().get(0).data().toFloatArray()));
            SafeTensors.loadInto(file, b);
            a.namedParameters().forEach((name, p) ->
                    assertArrayEquals(p.data().toFloatArray(), b.namedParameters().get(name).data().toFloatArray(), name));
            assertTrue(SafeTensors.readHeader(file).entry("decoder.layers.0.cross_attn.q.weight") != null);
        }
    }

    @Test
    void mismatchesAgainstTheModuleNameTheTensorAndTheFile() throws IOException {
        Path file = dir.resolve("linear.safetensors");
        try (Linear target = new Linear(Device.CPU, 3, 2, true, 1)) {
            float[] before = target.weight().data().toFloatArray();

            SafeTensors.save(file, Map.of("weight", Tensor.zeros(Device.CPU, DType.F32, 2, 3)));
            String missing = message(assertThrows(SafeTensorsException.class, () -> SafeTensors.loadInto(file, target)));
            assertTrue(missing.contains("missing tensor 'bias'") && missing.contains(file.toString()), missing);

            Map<String, Tensor> extra = new LinkedHashMap<>();
            extra.put("weight", Tensor.zeros(Device.CPU, DType.F32, 2, 3));
            extra.put("bias", Tensor.zeros(Device.CPU, DType.F32, 2));
            extra.put("scale", Tensor.zeros(Device.CPU, DType.F32, 1));
            SafeTensors.save(file, extra);
            String unexpected = message(assertThrows(SafeTensorsException.class, () -> SafeTensors.loadInto(file, target)));
            assertTrue(unexpected.contains("unexpected tensor 'scale'"), unexpected);

            Map<String, Tensor> shaped = new LinkedHashMap<>();
            shaped.put("weight", Tensor.zeros(Device.CPU, DType.F32, 3, 2));
            shaped.put("bias", Tensor.zeros(Device.CPU, DType.F32, 2));
            SafeTensors.save(file, shaped);
            String shape = message(assertThrows(SafeTensorsException.class, () -> SafeTensors.loadInto(file, target)));
            assertTrue(shape.contains("'weight' has shape [3, 2]") && shape.contains("expects [2, 3]"), shape);

            Map<String, Tensor> typed = new LinkedHashMap<>();
            typed.put("weight", Tensor.zeros(Device.CPU, DType.BF16, 2, 3));
            typed.put("bias", Tensor.zeros(Device.CPU, DType.F32, 2));
            SafeTensors.save(file, typed);
            String dtype = message(assertThrows(SafeTensorsException.class, () -> SafeTensors.loadInto(file, target)));
            assertTrue(dtype.contains("'weight' has dtype BF16") && dtype.contains("expects F32"), dtype);

            assertArrayEquals(before, target.weight().data().toFloatArray(), "a failed load modifies nothing");
        }
    }

    @Test
    void malformedAndTruncatedFilesNameTheFile() throws IOException {
        Path tooShort = dir.resolve("short.safetensors");
        Files.write(tooShort, new byte[]{1, 2, 3});
        assertRejected(tooShort, "shorter than the 8-byte header length");

        assertRejected(handMade("huge-header.safetensors", "{}", new byte[0]), null);   // length 2, "{}": valid and empty
        Path claimsMore = dir.resolve("claims-more.safetensors");
        Files.write(claimsMore, ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(1000).array());
        assertRejected(claimsMore, "truncated");
        Path absurd = dir.resolve("absurd.safetensors");
        Files.write(absurd, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(-5).array());
        assertRejected(absurd, "out of range");

        assertRejected(handMade("json.safetensors", "{\"a\": {\"dtype\": ", new byte[0]), "not valid JSON");
        assertRejected(handMade("array.safetensors", "[1, 2]  ", new byte[0]), "not a JSON object");
        assertRejected(handMade("dtype.safetensors", "{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]}}", new byte[2]), "tensor 'a': unsupported dtype F16");
        assertRejected(handMade("shape.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]), "tensor 'a': bad dimension");
        assertRejected(handMade("nooffsets.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", new byte[4]), "tensor 'a': data_offsets");
        assertRejected(handMade("field.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", new byte[4]), "unknown header field 'x'");
        assertRejected(handMade("size.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", new byte[4]), "tensor 'a': F32 [2] needs 8 bytes");
        assertRejected(handMade("truncated-data.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", le(1)), "truncated: tensor 'a'");
        assertRejected(handMade("gap.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", le(1, 2)), "tensor 'a' starts at data byte 4, expected 0");
        assertRejected(handMade("overlap.safetensors",
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", le(1, 2)), "overlaps");
        assertRejected(handMade("trailing.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", le(1, 2)), "4 data bytes after the last tensor");
        assertRejected(handMade("meta.safetensors", "{\"__metadata__\":{\"k\":1}}", new byte[0]), "metadata value 'k'");

        // a valid file cut short
        Path good = dir.resolve("good.safetensors");
        SafeTensors.save(good, Map.of("w", Tensor.zeros(Device.CPU, DType.F32, 4, 4)));
        byte[] bytes = Files.readAllBytes(good);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 10));
        assertRejected(cut, "truncated");
    }

    /** expected null: the file must load; else loading must fail with a message naming the file and containing expected. */
    private static void assertRejected(Path file, String expected) throws IOException {
        if (expected == null) {
            assertTrue(SafeTensors.load(file, Device.CPU).isEmpty());
            return;
        }
        SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.load(file, Device.CPU), file.toString());
        assertTrue(e.getMessage().contains(file.toString()), "message names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' should contain '" + expected + "'");
    }

    @Test
    void aFailedSaveLeavesTheExistingCheckpointIntactAndNoTemporaries() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        SafeTensors.save(file, Map.of("w", Tensor.of(Device.CPU, new float[]{1, 2, 3}, 3)));
        byte[] before = Files.readAllBytes(file);
        Map<String, Tensor> broken = new LinkedHashMap<>();
        broken.put("w", Tensor.of(Device.CPU, new float[]{4, 5, 6}, 3));
        Tensor released = Tensor.of(Device.CPU, new float[]{7}, 1);
        released.close();
        broken.put("x", released);
        assertThrows(IllegalArgumentException.class, () -> SafeTensors.save(file, broken));
        assertArrayEquals(before, Files.readAllBytes(file));
        assertEquals(List.of(), listTemporaries());

        // overwriting with a valid save replaces the file as a whole
        SafeTensors.save(file, Map.of("w", Tensor.of(Device.CPU, new float[]{4, 5, 6}, 3)));
        assertArrayEquals(new float[]{4, 5, 6}, SafeTensors.load(file, Device.CPU).get("w").toFloatArray());
        assertEquals(List.of(), listTemporaries());
    }

    @Test
    void dumpLineHasNameDtypeShapeCrcAndSum() throws IOException {
        Path file = dir.resolve("dump.safetensors");
        SafeTensors.save(file, Map.of("w", Tensor.of(Device.CPU, new float[]{1, 2, 3.5f}, 3)));
        Tensor w = SafeTensors.load(file, Device.CPU).get("w");
        byte[] raw = SafeTensors.readBytes(file, "w");
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(le(1, 2, 3.5f));
        assertEquals(String.format("w F32 [3] crc32=%08x sum=6.500000e+00", crc.getValue()), SafeTensorsDump.line("w", w, raw));
    }

    private List<Path> listTemporaries() throws IOException {
        try (var files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".tmp")).toList();
        }
    }
}
