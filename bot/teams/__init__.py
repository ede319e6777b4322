"""Team runs: use cases over the engine and the store, apart from any front end."""
