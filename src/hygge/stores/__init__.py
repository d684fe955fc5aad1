"""Built-in stores (destinations). Each module imports its driver only when used."""
