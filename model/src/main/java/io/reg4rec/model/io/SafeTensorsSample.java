package io.reg4rec.model.io;

import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Writes a safetensors file holding one seeded random tensor of every dtype (odd shapes, a
 * scalar and an empty tensor too), so that another implementation can read it and compare with
 * {@link SafeTensorsDump}: {@code java io.reg4rec.model.io.SafeTensorsSample FILE}.
 */
public final class SafeTensorsSample {
    private SafeTensorsSample() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: SafeTensorsSample FILE.safetensors");
            System.exit(2);
        }
        try (Scope scope = Scope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            long seed = 1;
            for (DType dtype : DType.values()) {
                try (Tensor values = Tensor.randn(Device.CPU, DType.F64, seed++, 3, 5, 7); Tensor scaled = values.mul(dtype.isFloating() ? 4 : 1000)) {
                    tensors.put("sample." + dtype.name().toLowerCase(), scaled.to(dtype));
                }
            }
            tensors.put("sample.scalar", Tensor.scalar(Device.CPU, DType.F32, 3.25));
            tensors.put("sample.empty", Tensor.zeros(Device.CPU, DType.F32, 0, 4));
            SafeTensors.save(Path.of(args[0]), tensors, Map.of("written_by", "io.reg4rec.model.io.SafeTensorsSample"));
        }
    }
}
