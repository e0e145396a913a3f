-- A batch's leaves in blocks of 256, each with the hash of its subtree. The
-- blocks are aligned subtrees of the batch's RFC 6962 tree, so a record's
-- proof is its path in its block followed by the block's path among the
-- block hashes: a delivery reads one block and the block hashes (a few rows)
-- instead of every leaf of every batch its records are in. Batches sealed
-- before keep their leaves in batch_leaves.
CREATE TABLE batch_leaf_blocks (
    batch_id   TEXT    NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    block      INTEGER NOT NULL CHECK (block >= 0),
    block_hash TEXT    NOT NULL, -- hex RFC 6962 hash of the block's leaves
    leaves     BLOB    NOT NULL CHECK (length(leaves) BETWEEN 32 AND 8192 AND length(leaves) % 32 = 0),
    PRIMARY KEY (batch_id, block)
) STRICT;
