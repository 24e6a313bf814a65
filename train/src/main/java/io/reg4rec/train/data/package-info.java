/**
 * Datasets for sequential recommendation: {@link io.reg4rec.train.data.Dataset} (users, chronological
 * item sequences, item categories, attributes and text), the loaders in
 * {@link io.reg4rec.train.data.Datasets} (the S3Rec layout of data/README.md, raw Amazon 2014 review and
 * metadata files with the 5-core filter, and a synthetic generator that is the default when no data is
 * given) and the leave-one-out split {@link io.reg4rec.train.data.LeaveOneOut}. Loaders validate
 * everything and report problems as {@link io.reg4rec.train.data.DataFileException} with file and line.
 */
package io.reg4rec.train.data;
