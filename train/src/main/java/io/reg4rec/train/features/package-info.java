/**
 * Item feature vectors for the tokenizer: {@link io.reg4rec.train.features.ItemFeatures} builds text,
 * attribute and collaborative (training interactions only) blocks reduced by a randomized SVD that runs
 * its dense products on the engine's CPU GEMM, configured by {@link io.reg4rec.train.features.FeatureConfig};
 * {@link io.reg4rec.train.features.EmbeddingFile} reads user-supplied embeddings (CSV or safetensors).
 */
package io.reg4rec.train.features;
