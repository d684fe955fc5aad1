"""Built-in homes (sources). Each module imports its driver only when used."""
