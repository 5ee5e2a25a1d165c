"""Kafka plumbing shared by every room: the local broker, topic metadata, producer metadata."""
