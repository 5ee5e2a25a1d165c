"""The registry on Kafka: reading the topic (`reader`), writing it (`loading`).

Importing this package alone loads no Kafka client (the CLI's root catches its error).
"""


class RegistryUnavailable(RuntimeError):
    """The registry topic is missing or empty (one line naming the topic and what to run)."""
