/**
 * Optimisation: {@link io.reg4rec.train.optim.AdamW} (decoupled weight decay, fp32 moments that
 * outlive step scopes), {@link io.reg4rec.train.optim.GradClip} (global-norm clipping) and
 * {@link io.reg4rec.train.optim.LrSchedule} (linear warm-up, cosine decay to a floor).
 */
package io.reg4rec.train.optim;
