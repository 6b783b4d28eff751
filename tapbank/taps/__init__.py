"""Taps: taking in halves, pairing them, and settling or failing the pairs."""
