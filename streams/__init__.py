"""Everything of diplomatic-timeline that touches Kafka: broker, topics, publisher, CLI."""
