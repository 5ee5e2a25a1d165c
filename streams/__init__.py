"""Everything of diplomatic-timeline that touches Kafka, in rooms named for their job (see README, Layout)."""
