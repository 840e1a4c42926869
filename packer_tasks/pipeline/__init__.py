"""The build pipeline: frozen inputs → per-asset materialization (cache-aware) → pack."""
