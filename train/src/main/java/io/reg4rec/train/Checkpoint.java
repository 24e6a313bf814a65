package io.reg4rec.train;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.io.SafeTensors;
import io.reg4rec.model.io.SafeTensorsException;
import io.reg4rec.model.nn.Module;
import io.reg4rec.train.optim.AdamW;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A training checkpoint in one safetensors file: the model's parameters under {@code model.NAME},
 * the AdamW moments under {@code optimizer.exp_avg.NAME} / {@code optimizer.exp_avg_sq.NAME}, and
 * in the metadata the optimizer's step count and hyper-parameters plus the caller's own entries.
 *
 * <p>One file, written to a temporary name, forced to disk and renamed over the target: a crash
 * leaves either the previous checkpoint or the new one, never a torn file and never weights
 * without their matching optimizer state. Loading checks everything (names, shapes, dtypes,
 * hyper-parameters) before it modifies anything, and names every mismatched tensor. Resuming from
 * a checkpoint on the CPU continues bit-identically (parameters and moments are stored exactly);
 * state held elsewhere (e.g. dropout call counters, data order) is the caller's to restore.
 */
public final class Checkpoint {
    public static final String MODEL_PREFIX = "model.", OPTIMIZER_PREFIX = "optimizer.";

    private Checkpoint() {}

    /** Writes model and optimizer state (plus string metadata, e.g. epoch or data position) atomically to file. */
    public static void save(Path file, Module model, AdamW optimizer, Map<String, String> metadata) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        model.namedParameters().forEach((name, p) -> tensors.put(MODEL_PREFIX + name, p.data()));
        Map<String, Tensor> state = optimizer.state();
        state.forEach((name, t) -> tensors.put(OPTIMIZER_PREFIX + name, t));
        Map<String, String> meta = new LinkedHashMap<>(metadata == null ? Map.of() : metadata);
        for (String key : optimizer.stateMetadata().keySet()) {
            if (meta.containsKey(key)) throw new IllegalArgumentException("Checkpoint.save: metadata key '" + key + "' is reserved for the optimizer state");
        }
        meta.putAll(optimizer.stateMetadata());
        try {
            SafeTensors.save(file, tensors, meta);
        } finally {
            state.values().forEach(Tensor::close);
        }
    }

    /**
     * Restores model parameters and optimizer state from file and returns the file's metadata.
     * Nothing is modified unless the whole file fits; otherwise the exception lists every problem.
     */
    public static Map<String, String> load(Path file, Module model, AdamW optimizer) throws IOException {
        SafeTensors.Header header = SafeTensors.readHeader(file);
        List<String> problems = new ArrayList<>(checkModel(header, model));
        problems.addAll(optimizer.checkState(header, OPTIMIZER_PREFIX));
        for (SafeTensors.Entry e : header.entries()) {
            if (!e.name().startsWith(MODEL_PREFIX) && !e.name().startsWith(OPTIMIZER_PREFIX)) {
                problems.add("unexpected tensor '" + e.name() + "' (neither model. nor optimizer.)");
            }
        }
        if (!problems.isEmpty()) throw new SafeTensorsException(file + " does not fit this model and optimizer: " + String.join("; ", problems));
        Map<String, Tensor> tensors = SafeTensors.load(file, Device.CPU);
        try (NoGrad ignored = NoGrad.enter()) {
            model.namedParameters().forEach((name, p) -> p.update(tensors.get(MODEL_PREFIX + name)));
            optimizer.restore(tensors, OPTIMIZER_PREFIX, Long.parseLong(header.metadata().get(AdamW.META_STEP)));
        } finally {
            tensors.values().forEach(Tensor::close);
        }
        return header.metadata();
    }

    private static List<String> checkModel(SafeTensors.Header header, Module model) {
        List<String> problems = new ArrayList<>();
        Map<String, Variable> params = model.namedParameters();
        TreeSet<String> missing = new TreeSet<>(params.keySet());
        for (SafeTensors.Entry e : header.entries()) {
            if (!e.name().startsWith(MODEL_PREFIX)) continue;
            String name = e.name().substring(MODEL_PREFIX.length());
            Variable p = params.get(name);
            if (p == null) {
                problems.add("unexpected tensor '" + e.name() + "' " + Arrays.toString(e.shape()) + " that the model does not have");
                continue;
            }
            missing.remove(name);
            if (!Arrays.equals(p.shape(), e.shape())) {
                problems.add("tensor '" + e.name() + "' has shape " + Arrays.toString(e.shape()) + " in the file, the model expects " + Arrays.toString(p.shape()));
            }
            if (p.dtype() != e.dtype()) problems.add("tensor '" + e.name() + "' has dtype " + e.dtype() + " in the file, the model expects " + p.dtype());
        }
        for (String name : missing) problems.add("missing tensor '" + MODEL_PREFIX + name + "' " + Arrays.toString(params.get(name).shape()));
        return Collections.unmodifiableList(problems);
    }
}
