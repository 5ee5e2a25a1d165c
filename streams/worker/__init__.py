"""The faust worker: the app, its tables, the agents, consumer offsets, and the assembly that runs them."""
