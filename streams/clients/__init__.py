"""The client SDKs for scripts: the publisher (validate, then send) and the subscriber (typed changes)."""
