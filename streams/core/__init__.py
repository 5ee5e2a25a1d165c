"""The pure processing core: decisions, the fold, the stance book, the pipeline steps, records. No I/O."""
