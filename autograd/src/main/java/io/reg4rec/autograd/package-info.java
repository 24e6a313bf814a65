/**
 * Reverse-mode automatic differentiation over the engine's {@link io.reg4rec.engine.Tensor} ops.
 *
 * <p>{@link io.reg4rec.autograd.Variable} wraps a tensor and records the op that produced it;
 * {@link io.reg4rec.autograd.Variable#backward()} walks the graph in reverse topological order
 * and accumulates gradients into the leaves. Every derivative is written once in Tensor ops, so
 * the same code differentiates on the CPU and on CUDA.
 *
 * <p>A training step, with parameters created once outside any step scope:
 * <pre>{@code
 * Variable w = Variable.parameter(Tensor.randn(device, DType.F32, seed, in, out), "w");
 * for (int step = 0; step < steps; step++) {
 *     try (Scope s = Scope.open()) {               // frees activations, saved tensors, temporaries
 *         Variable loss = Losses.softmaxCrossEntropy(Variable.constant(x).matmul(w), targets);
 *         loss.backward();                         // w.grad() survives the scope
 *         try (NoGrad ignored = NoGrad.enter()) {
 *             w.update(w.data().sub(w.grad().mul(lr)));
 *         }
 *         w.zeroGrad();
 *     }
 * }
 * }</pre>
 *
 * <p>{@link io.reg4rec.autograd.GradCheck} compares analytic gradients with finite differences
 * in F64; {@link io.reg4rec.autograd.Hessian} gives Hessian-vector products and Hutchinson
 * trace estimates for sensitivity analysis.
 */
package io.reg4rec.autograd;
