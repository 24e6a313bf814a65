package io.reg4rec.train.optim;

import io.reg4rec.autograd.NoGrad;
import io.reg4rec.autograd.Variable;
import io.reg4rec.engine.AdamWHyper;
import io.reg4rec.engine.DType;
import io.reg4rec.engine.Device;
import io.reg4rec.engine.FusedAdamW;
import io.reg4rec.engine.GradNorm;
import io.reg4rec.engine.Scope;
import io.reg4rec.engine.Tensor;
import io.reg4rec.model.io.SafeTensors;
import io.reg4rec.model.io.SafeTensorsException;

import java.io.IOException;
import java.nio.file.Path;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam with decoupled weight decay (Loshchilov and Hutter), as PyTorch's {@code AdamW}:
 * <pre>
 *   p  &lt;- p (1 - lr wd)                      (decay, skipped for vectors unless asked)
 *   m  &lt;- b1 m + (1 - b1) g
 *   v  &lt;- b2 v + (1 - b2) g^2
 *   p  &lt;- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * </pre>
 * The moments are fp32 tensors held outside every scope (they outlive the training step's scope
 * like the parameters do) and overwritten in place; the update runs under {@link NoGrad} in a
 * scope of its own, so a step leaves no new allocations behind. Parameters of one device and
 * decay rule share flat moment buffers and are updated by one fused segmented AdamW op
 * ({@link io.reg4rec.engine.Backend#adamwStepSegments}: one kernel launch on CUDA); parameters
 * without a gradient are skipped (their moments are left as they are).
 */
public final class AdamW implements AutoCloseable {
    /** Hyper-parameters; {@code decayVectors} also decays rank-0/1 parameters (biases, norms), which are usually left alone. */
    public record Options(double beta1, double beta2, double eps, double weightDecay, boolean decayVectors) {
        public Options {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weightDecay >= 0)) {
                throw new IllegalArgumentException("AdamW: needs 0 <= beta < 1, eps > 0, weightDecay >= 0, got " + beta1 + ", " + beta2 + ", " + eps + ", " + weightDecay);
            }
        }

        /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
        public static Options defaults() {
            return new Options(0.9, 0.999, 1e-8, 0.01, false);
        }

        public Options withWeightDecay(double wd) {
            return new Options(beta1, beta2, eps, wd, decayVectors);
        }
    }

    /**
     * Parameters updated together: same device, same decay rule. Their moments are slices of two
     * flat fp32 buffers; parameters and gradients stay where they are, and a step is one fused
     * segmented AdamW op per group ({@link FusedAdamW}: one kernel launch on CUDA, no copies for
     * fp32 parameters with contiguous gradients).
     */
    private static final class Group {
        final boolean decay;
        final List<Variable> params = new ArrayList<>();
        final List<String> names = new ArrayList<>();
        final List<long[]> ranges = new ArrayList<>();
        Tensor m, v;
        long numel;

        Group(boolean decay) { this.decay = decay; }

        void add(String name, Variable p) {
            names.add(name);
            params.add(p);
            ranges.add(new long[]{numel, numel + p.numel()});
            numel += p.numel();
        }

        /** Element range [begin, end) of parameter i in the flat buffers, shaped like the parameter. */
        Tensor slot(Tensor flat, int i) {
            long[] r = ranges.get(i);
            try (Tensor s = flat.slice(0, (int) r[0], (int) r[1])) {
                return s.reshape(params.get(i).shape());
            }
        }

        void allocate() {
            var device = params.get(0).device();
            int n = Math.toIntExact(numel);
            m = Tensor.zeros(device, DType.F32, n).unscoped();
            v = Tensor.zeros(device, DType.F32, n).unscoped();
        }

        void close() {
            m.close();
            v.close();
        }
    }

    private final Options options;
    private final List<Group> groups = new ArrayList<>();
    private long steps;

    /** Optimises the given parameters (e.g. {@code module.namedParameters()}); moments start at zero. */
    public AdamW(Map<String, Variable> parameters, Options options) {
        this.options = options;
        Map<String, Group> byKey = new LinkedHashMap<>();
        for (Map.Entry<String, Variable> e : parameters.entrySet()) {
            Variable p = e.getValue();
            if (!p.requiresGrad() || !p.isLeaf()) throw new IllegalArgumentException("AdamW: '" + e.getKey() + "' is not a trainable leaf: " + p);
            boolean decay = options.weightDecay > 0 && (options.decayVectors || p.rank() >= 2);
            byKey.computeIfAbsent(p.device() + "/" + decay, k -> new Group(decay)).add(e.getKey(), p);
        }
        groups.addAll(byKey.values());
        for (Group g : groups) g.allocate();
    }

    /** One update with learning rate lr from the gradients accumulated so far (gradients are not cleared). */
    public void step(double lr) {
        steps++;
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open()) {
            update(lr, operands(), null, 0);
        }
    }

    /**
     * One update with learning rate lr from the gradients clipped to global L2 norm maxNorm, as
     * PyTorch's {@code clip_grad_norm_(params, maxNorm)} followed by {@code step()}, without a
     * host read: the sum of squares of every gradient is one op per device
     * ({@link GradNorm#sumOfSquares}: one kernel launch on CUDA), and each group's update scales
     * its gradients by c = min(1, maxNorm / (norm + 1e-6)) inside the fused step
     * ({@link FusedAdamW#applyClipped}: one launch per group), reading the norm on the device.
     * The gradients themselves are left unchanged (unlike {@link GradClip#clipGlobalNorm}).
     * Parameters without a gradient take no part in the norm and are skipped, as by {@link #step(double)}.
     * <p>
     * Returns the global norm before clipping as a new [1] F32 tensor on the first parameter's
     * device (one more tiny op, the square root), held by no scope: the caller closes it and may
     * accumulate it on the device. With parameters on several devices the per-device sums are
     * combined on the first one (a copy through the host).
     */
    public Tensor step(double lr, double maxNorm) {
        if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) throw new IllegalArgumentException("AdamW.step: maxNorm must be positive and finite, got " + maxNorm);
        steps++;
        try (NoGrad ignored = NoGrad.enter(); Scope scope = Scope.open()) {
            List<Operands> operands = operands();
            Map<Device, List<Tensor>> gradsByDevice = new LinkedHashMap<>();
            for (Operands o : operands) {
                for (Tensor g : o.grads()) if (g != null) gradsByDevice.computeIfAbsent(g.device(), d -> new ArrayList<>()).add(g);
            }
            Device first = groups.isEmpty() ? Device.CPU : groups.get(0).params.get(0).device();
            Map<Device, Tensor> sumOfSquares = globalSumOfSquares(first, gradsByDevice);
            update(lr, operands, sumOfSquares, maxNorm);
            return sumOfSquares.get(first).sqrt().unscoped();
        }
    }

    /**
     * A group's parameters and gradients as contiguous fp32 tensors (used in place where they
     * already are, else fp32 copies: copied[i]); grads[i] and values[i] null where parameter i has
     * no gradient.
     */
    private record Operands(Tensor[] values, Tensor[] grads, boolean[] copied) {}

    private List<Operands> operands() {
        List<Operands> out = new ArrayList<>(groups.size());
        for (Group group : groups) {
            int count = group.params.size();
            Tensor[] values = new Tensor[count], grads = new Tensor[count];
            boolean[] copied = new boolean[count];
            for (int i = 0; i < count; i++) {
                Variable p = group.params.get(i);
                Tensor g = p.grad();
                if (g == null) continue;
                Tensor value = p.data();
                copied[i] = value.dtype() != DType.F32 || !value.isContiguous();
                values[i] = copied[i] ? value.to(DType.F32) : value;
                grads[i] = g.dtype() == DType.F32 && g.isContiguous() ? g : g.to(DType.F32);
            }
            out.add(new Operands(values, grads, copied));
        }
        return out;
    }

    /**
     * The fused update of every group (one op per group when all its parameters have gradients,
     * else one per parameter that has one), clipped by the per-device sums of squares when given;
     * fp32 copies are written back to their parameters.
     */
    private void update(double lr, List<Operands> operands, Map<Device, Tensor> sumOfSquares, double maxNorm) {
        for (int k = 0; k < groups.size(); k++) {
            Group group = groups.get(k);
            Operands o = operands.get(k);
            AdamWHyper hyper = hyper(lr, group.decay);
            Tensor scalar = sumOfSquares == null ? null : sumOfSquares.get(group.params.get(0).device());
            if (java.util.Arrays.stream(o.grads()).allMatch(java.util.Objects::nonNull)) {
                fused(o.values(), o.grads(), group.m, group.v, hyper, scalar, maxNorm);
            } else {
                for (int i = 0; i < o.grads().length; i++) {
                    if (o.grads()[i] == null) continue;
                    try (Tensor m = group.slot(group.m, i); Tensor v = group.slot(group.v, i);
                         Tensor mFlat = m.reshape(-1); Tensor vFlat = v.reshape(-1)) {
                        fused(new Tensor[]{o.values()[i]}, new Tensor[]{o.grads()[i]}, mFlat, vFlat, hyper, scalar, maxNorm);
                    }
                }
            }
            for (int i = 0; i < o.copied().length; i++) if (o.copied()[i]) group.params.get(i).update(o.values()[i]);
        }
    }

    private static void fused(Tensor[] values, Tensor[] grads, Tensor m, Tensor v, AdamWHyper hyper, Tensor sumOfSquares, double maxNorm) {
        if (sumOfSquares == null) FusedAdamW.apply(values, grads, m, v, hyper);
        else FusedAdamW.applyClipped(values, grads, m, v, hyper, sumOfSquares, maxNorm);
    }

    /**
     * The sum of squares of all gradients as a [1] F32 tensor on every device that holds
     * parameters: one op per device, and with several devices their sums added on the first and
     * the total copied back to each.
     */
    private static Map<Device, Tensor> globalSumOfSquares(Device first, Map<Device, List<Tensor>> gradsByDevice) {
        Map<Device, Tensor> result = new LinkedHashMap<>();
        if (gradsByDevice.isEmpty()) {
            result.put(first, Tensor.zeros(first, DType.F32, 1));
        } else if (gradsByDevice.size() == 1 && gradsByDevice.containsKey(first)) {
            result.put(first, GradNorm.sumOfSquares(first, gradsByDevice.get(first).toArray(new Tensor[0])));
        } else {
            Tensor total = Tensor.zeros(first, DType.F32, 1);
            for (Map.Entry<Device, List<Tensor>> e : gradsByDevice.entrySet()) {
                Tensor partial = GradNorm.sumOfSquares(e.getKey(), e.getValue().toArray(new Tensor[0]));
                total = total.add(e.getKey().equals(first) ? partial : partial.to(first));
            }
            result.put(first, total);
        }
        for (Device d : gradsByDevice.keySet()) result.computeIfAbsent(d, device -> result.get(first).to(device));
        return result;
    }

    private AdamWHyper hyper(double lr, boolean decay) {
        return new AdamWHyper(lr, options.beta1, options.beta2, options.eps, decay ? options.weightDecay : 0.0, steps);
    }

    /** Number of steps taken (t in the bias corrections). */
    public long steps() { return steps; }

    public Options options() { return options; }

    /**
     * The optimizer state for a checkpoint: {@code exp_avg.NAME} and {@code exp_avg_sq.NAME} per
     * parameter, as new views of the live state (the caller closes them; the state stays).
     */
    public Map<String, Tensor> state() {
        Map<String, Tensor> first = new LinkedHashMap<>(), second = new LinkedHashMap<>();
        for (Group g : groups) {
            for (int i = 0; i < g.params.size(); i++) {
                first.put("exp_avg." + g.names.get(i), g.slot(g.m, i));
                second.put("exp_avg_sq." + g.names.get(i), g.slot(g.v, i));
            }
        }
        first.putAll(second);
        return Collections.unmodifiableMap(first);
    }

    /** Restores state written by {@link #state()} and the step count it was taken at. */
    public void loadState(Map<String, Tensor> state, long steps) {
        for (Group g : groups) {
            for (int i = 0; i < g.params.size(); i++) {
                for (String kind : new String[]{"exp_avg.", "exp_avg_sq."}) {
                    Tensor src = state.get(kind + g.names.get(i));
                    if (src == null) throw new IllegalArgumentException("AdamW.loadState: missing " + kind + g.names.get(i));
                    try (Tensor slot = g.slot(kind.equals("exp_avg.") ? g.m : g.v, i)) {
                        slot.copyFrom(src);
                    }
                }
            }
        }
        this.steps = steps;
    }

    // ---------------------------------------------------------------- checkpoints

    /** Metadata keys of the optimizer state in a safetensors file; values are exact decimal strings. */
    public static final String META_OPTIMIZER = "optimizer", META_STEP = "adamw.step", META_BETA1 = "adamw.beta1",
            META_BETA2 = "adamw.beta2", META_EPS = "adamw.eps", META_WEIGHT_DECAY = "adamw.weight_decay",
            META_DECAY_VECTORS = "adamw.decay_vectors";

    /** The step count and hyper-parameters as safetensors metadata (Double.toString round-trips exactly). */
    public Map<String, String> stateMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(META_OPTIMIZER, "AdamW");
        m.put(META_STEP, Long.toString(steps));
        m.put(META_BETA1, Double.toString(options.beta1));
        m.put(META_BETA2, Double.toString(options.beta2));
        m.put(META_EPS, Double.toString(options.eps));
        m.put(META_WEIGHT_DECAY, Double.toString(options.weightDecay));
        m.put(META_DECAY_VECTORS, Boolean.toString(options.decayVectors));
        return m;
    }

    /** The hyper-parameters written by {@link #save} or {@link #stateMetadata}, to build a matching optimizer. */
    public static Options readOptions(Map<String, String> metadata, Path file) throws SafeTensorsException {
        if (!"AdamW".equals(metadata.get(META_OPTIMIZER))) {
            throw new SafeTensorsException(file + ": holds no AdamW state (metadata '" + META_OPTIMIZER + "' is " + metadata.get(META_OPTIMIZER) + ")");
        }
        try {
            return new Options(Double.parseDouble(metadata.get(META_BETA1)), Double.parseDouble(metadata.get(META_BETA2)),
                    Double.parseDouble(metadata.get(META_EPS)), Double.parseDouble(metadata.get(META_WEIGHT_DECAY)),
                    Boolean.parseBoolean(metadata.get(META_DECAY_VECTORS)));
        } catch (RuntimeException e) {
            throw new SafeTensorsException(file + ": bad AdamW hyper-parameters in the metadata: " + e.getMessage(), e);
        }
    }

    public static Options readOptions(Path file) throws IOException {
        return readOptions(SafeTensors.readHeader(file).metadata(), file);
    }

    /**
     * Saves the optimizer state (exp_avg.NAME, exp_avg_sq.NAME, step count and hyper-parameters in
     * the metadata) to a safetensors file, atomically: a temporary file renamed over the target.
     */
    public void save(Path file) throws IOException {
        Map<String, Tensor> tensors = state();
        try {
            SafeTensors.save(file, tensors, stateMetadata());
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    /**
     * Restores a state written by {@link #save}. Everything is checked before anything changes:
     * the hyper-parameters must equal this optimizer's (a resumed run must update identically),
     * and the file must hold exactly this optimizer's moments with their shapes and dtypes;
     * otherwise the exception names every mismatched hyper-parameter and tensor.
     */
    public void load(Path file) throws IOException {
        SafeTensors.Header header = SafeTensors.readHeader(file);
        List<String> problems = checkState(header, "");
        if (!problems.isEmpty()) throw new SafeTensorsException(file + " does not match this AdamW: " + String.join("; ", problems));
        Map<String, Tensor> tensors = SafeTensors.load(file, Device.CPU);
        try {
            restore(tensors, "", Long.parseLong(header.metadata().get(META_STEP)));
        } finally {
            tensors.values().forEach(Tensor::close);
        }
    }

    /**
     * What keeps the state in header (tensor names prefixed by {@code prefix}, metadata as written
     * by {@link #stateMetadata}) from loading into this optimizer: one line per problem, empty when
     * it fits. Tensors not starting with prefix are ignored.
     */
    public List<String> checkState(SafeTensors.Header header, String prefix) {
        List<String> problems = new ArrayList<>();
        Map<String, String> meta = header.metadata();
        if (!"AdamW".equals(meta.get(META_OPTIMIZER))) problems.add("metadata '" + META_OPTIMIZER + "' is " + meta.get(META_OPTIMIZER) + ", not AdamW");
        try {
            if (Long.parseLong(meta.getOrDefault(META_STEP, "")) < 0) problems.add("negative step count " + meta.get(META_STEP));
        } catch (NumberFormatException e) {
            problems.add("metadata '" + META_STEP + "' is not a step count: " + meta.get(META_STEP));
        }
        stateMetadata().forEach((key, mine) -> {
            if (!key.equals(META_STEP) && !key.equals(META_OPTIMIZER) && !mine.equals(meta.get(key))) {
                problems.add("hyper-parameter '" + key + "' is " + meta.get(key) + " in the file, this optimizer has " + mine);
            }
        });
        Map<String, int[]> expected = new LinkedHashMap<>();
        for (Group g : groups) {
            for (int i = 0; i < g.params.size(); i++) {
                expected.put(prefix + "exp_avg." + g.names.get(i), g.params.get(i).shape());
                expected.put(prefix + "exp_avg_sq." + g.names.get(i), g.params.get(i).shape());
            }
        }
        java.util.Set<String> missing = new java.util.TreeSet<>(expected.keySet());
        for (SafeTensors.Entry e : header.entries()) {
            if (!e.name().startsWith(prefix)) continue;
            int[] shape = expected.get(e.name());
            if (shape == null) {
                problems.add("unexpected tensor '" + e.name() + "' " + java.util.Arrays.toString(e.shape()) + " (no such parameter in this optimizer)");
                continue;
            }
            missing.remove(e.name());
            if (!java.util.Arrays.equals(shape, e.shape())) {
                problems.add("tensor '" + e.name() + "' has shape " + java.util.Arrays.toString(e.shape()) + " in the file, the optimizer expects "
                        + java.util.Arrays.toString(shape));
            }
            if (e.dtype() != DType.F32) problems.add("tensor '" + e.name() + "' has dtype " + e.dtype() + " in the file, the optimizer keeps F32");
        }
        for (String name : missing) problems.add("missing tensor '" + name + "' " + java.util.Arrays.toString(expected.get(name)));
        return problems;
    }

    /** Copies the moments named prefix + exp_avg(_sq).NAME into this optimizer and sets the step count (call after {@link #checkState}). */
    public void restore(Map<String, Tensor> tensors, String prefix, long steps) {
        Map<String, Tensor> stripped = new LinkedHashMap<>();
        tensors.forEach((k, t) -> {
            if (k.startsWith(prefix)) stripped.put(k.substring(prefix.length()), t);
        });
        try (NoGrad ignored = NoGrad.enter()) {
            loadState(stripped, steps);
        }
    }

    /** Releases the moments and scratch buffers (not the parameters). */
    @Override
    public void close() {
        groups.forEach(Group::close);
    }
}
