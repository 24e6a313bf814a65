package io.reg4rec.model.nn;

import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Engine;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ModuleTest {
    private static final TransformerConfig SMALL = new TransformerConfig(8, 2, 16, 0.1);

    @Test
    void parametersHaveStableDottedNamesInRegistrationOrder() {
        try (TransformerEncoder encoder = new TransformerEncoder(Device.CPU, SMALL, 2, 1)) {
            List<String> names = List.copyOf(encoder.namedParameters().keySet());
            assertEquals(List.of(
                    "layers.0.norm1.weight", "layers.0.norm1.bias",
                    "layers.0.attn.q.weight", "layers.0.attn.q.bias", "layers.0.attn.k.weight", "layers.0.attn.k.bias",
                    "layers.0.attn.v.weight", "layers.0.attn.v.bias", "layers.0.attn.out.weight", "layers.0.attn.out.bias",
                    "layers.0.norm2.weight", "layers.0.norm2.bias",
                    "layers.0.ff.up.weight", "layers.0.ff.up.bias", "layers.0.ff.down.weight", "layers.0.ff.down.bias"),
                    names.subList(0, 16));
            assertEquals("layers.1.norm1.weight", names.get(16));
            assertEquals(List.of("norm.weight", "norm.bias"), names.subList(32, 34));
            assertEquals(34, names.size());
            // per layer: 2 norms (2*8*2) + 4 projections (4*(64+8)) + ff (8*16+16 + 16*8+8), plus the final norm
            long perLayer = 2 * 16 + 4 * 72 + (144 + 136);
            assertEquals(2 * perLayer + 16, encoder.parameterCount());
        }
    }

    @Test
    void sameSeedGivesSameWeightsAndDifferentSeedsDiffer() {
        try (Linear a = new Linear(Device.CPU, 5, 3, true, 9); Linear b = new Linear(Device.CPU, 5, 3, true, 9); Linear c = new Linear(Device.CPU, 5, 3, true, 10)) {
            assertArrayEquals(a.weight().data().toFloatArray(), b.weight().data().toFloatArray());
            assertFalse(java.util.Arrays.equals(a.weight().data().toFloatArray(), c.weight().data().toFloatArray()));
            double bound = 1 / Math.sqrt(5);
            for (float w : a.weight().data().toFloatArray()) assertTrue(Math.abs(w) <= bound);
        }
    }

    @Test
    void trainAndEvalModeReachEveryDescendant() {
        try (EncoderDecoderTransformer model = new EncoderDecoderTransformer(Device.CPU, SMALL, 10, 10, 4, 4, 1, 1, 3)) {
            model.eval();
            assertFalse(model.children().get("decoder").children().get("layers").children().get("0").isTraining());
            model.train();
            assertTrue(model.children().get("decoder").children().get("layers").children().get("0").isTraining());
        }
    }

    @Test
    void closeReleasesEveryParameter() {
        long before = Engine.backend(Device.CPU).memoryStats().inUseBytes();
        EncoderDecoderTransformer model = new EncoderDecoderTransformer(Device.CPU, SMALL, 10, 10, 4, 4, 1, 2, 3);
        Map<String, Variable> params = model.namedParameters();
        assertTrue(Engine.backend(Device.CPU).memoryStats().inUseBytes() > before);
        model.close();
        for (Variable p : params.values()) assertTrue(p.data().isClosed());
        assertEquals(before, Engine.backend(Device.CPU).memoryStats().inUseBytes());
        model.close();   // idempotent
    }

    @Test
    void duplicateOrDottedNamesAreRejected() {
        class Bad extends Module {
            Bad(String first, String second) {
                registerModule(first, new Dropout(0, 0));
                registerModule(second, new Dropout(0, 0));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> new Bad("a", "a"));
        assertThrows(IllegalArgumentException.class, () -> new Bad("a", "b.c"));
    }
}
