/**
 * Checkpoints in the safetensors format ({@link io.reg4rec.model.io.SafeTensors}), readable by
 * the reference Python library; {@link io.reg4rec.model.io.SafeTensorsDump} prints a file's
 * tensors for comparison with {@code bench/torch/check_safetensors.py}.
 */
package io.reg4rec.model.io;
