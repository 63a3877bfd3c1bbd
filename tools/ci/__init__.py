"""Fast conditional-independence tests (batched Fisher-z) that reproduce causal-learn's p-values."""
